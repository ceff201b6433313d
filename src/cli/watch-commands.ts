import { Command } from 'commander';
import { describe } from './command-list.js';
import { exitCodeFor, FerryError } from '../core/errors.js';
import type { FerryEvent } from '../core/events.js';
import { parseCount, parseDurationNs, parsePositiveInt } from '../core/units.js';
import { defaultIndexDbPath } from '../faces/watch/paths.js';
import { SyncManager, type SyncManagerConfig } from '../faces/watch/sync-manager.js';
import { DEFAULT_WATCH_MAX_DELETE } from '../faces/watch/target-sync.js';
import { reconcileOutcome, WatchSession } from '../faces/watch/watch.js';
import { jsonLine as json, ndjsonRenderer } from '../report/ndjson.js';
import { operationLine, recordLine, watchRenderer } from '../report/watch.js';
import type { IndexStore } from '../core/index-store.js';
import { withIndex } from '../faces/watch/index-access.js';

/** What the watch commands need from main: output, and the signal that stops `ferry watch`. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Resolves at the first SIGINT or SIGTERM. */
  stopped: () => Promise<void>;
}

interface DbFlags {
  db?: string;
  json?: boolean;
}

interface WatchFlags extends DbFlags {
  target?: string;
  deleteExtras?: boolean;
  maxDelete?: string;
  targetDb?: string;
  debounce: string;
  reconcileEvery: string;
  hash: boolean;
  ignore: string[];
  batchSize: string;
  concurrency: string;
}

const collect = (v: string, all: string[]): string[] => [...all, v];
const ms = (text: string, option: string): number => Number(parseDurationNs(text, option) / 1_000_000n);

function config(f: WatchFlags): Partial<SyncManagerConfig> {
  const debounceMs = ms(f.debounce, '--debounce');
  const reconciliationIntervalMs = ms(f.reconcileEvery, '--reconcile-every');
  if (reconciliationIntervalMs < 1000) throw new FerryError('USAGE', `--reconcile-every takes at least 1s, not "${f.reconcileEvery}".`);
  if (reconciliationIntervalMs > 366 * 24 * 3600_000) {
    throw new FerryError('USAGE', `--reconcile-every takes at most a year (8784h), not "${f.reconcileEvery}".`);
  }
  return {
    debounceMs, maxDeferMs: 10 * debounceMs, reconciliationIntervalMs, calculateHashes: f.hash, ignore: f.ignore,
    batchSize: parsePositiveInt(f.batchSize, '--batch-size', 100_000), maxConcurrency: parsePositiveInt(f.concurrency, '--concurrency', 256),
  };
}

/** Opens the index; `readOnly` for the commands that only read, so they work while `ferry watch` runs. */
const withStore = <T>(f: DbFlags, use: (store: IndexStore) => Promise<T>, readOnly = false): Promise<T> => withIndex(f.db, use, readOnly);
const withReader = <T>(f: DbFlags, use: (store: IndexStore) => Promise<T>): Promise<T> => withStore(f, use, true);

/** `ferry watch`, `ferry roots …`, `ferry index …`; `wrap` runs an action and turns its result or error into the exit code. */
export function watchCommands(io: CliIo, wrap: (json: boolean, run: () => Promise<number>) => Promise<void>): Command[] {
  const dbOption = (c: Command): Command =>
    c.option('--db <path>', 'the index: a SQLite file (default: $XDG_STATE_HOME/ferry/watch.db) or a postgres:// URL').option('--json', 'print JSON instead of text');

  const watch = dbOption(new Command('watch'))
    .description(describe('watch'))
    .argument('[roots...]', 'directories to add and watch (the root id is the absolute path)')
    .option('--debounce <time>', 'how long a path must be quiet before its changes are recorded', '500ms')
    .option('--reconcile-every <time>', 'full reconciliation of each root this often (with up to 10% jitter)', '24h')
    .option('--no-hash', 'record sizes and times only, no sha256')
    .option('--ignore <pattern>', 'gitignore-style pattern of paths to leave out (repeatable)', collect, [])
    .option('--batch-size <n>', 'files compared per database transaction during a reconciliation', '100')
    .option('--concurrency <n>', 'files hashed at once', '4')
    .option('--target <dir>', 'also keep DIR a copy of the ROOT (one ROOT), through the copy engine')
    .option('--delete-extras', 'with --target: delete from DIR what ROOT no longer has (guarded as `ferry copy --delete-extras`)')
    .option('--max-delete <n>', `with --delete-extras: a copy that would delete more than N files deletes none and warns (default ${DEFAULT_WATCH_MAX_DELETE})`)
    .option('--target-db <path>', 'with --target: the copy job database (default: the one `ferry copy ROOT DIR` uses)')
    .action((roots: string[], f: WatchFlags) =>
      wrap(f.json === true, async () => {
        const cfg = config(f);
        if (f.target !== undefined && roots.length !== 1) throw new FerryError('USAGE', '--target takes exactly one ROOT to copy.');
        if (f.target === undefined && (f.deleteExtras || f.targetDb)) {
          throw new FerryError('USAGE', '--delete-extras and --target-db only apply with --target.');
        }
        if (f.maxDelete !== undefined && !f.deleteExtras) throw new FerryError('USAGE', '--max-delete only applies with --target and --delete-extras.');
        const maxDelete = f.maxDelete === undefined ? undefined : parseCount(f.maxDelete, '--max-delete');
        const dbPath = f.db ?? defaultIndexDbPath();
        return withStore(f, async (store) => {
          const render: (e: FerryEvent) => void = f.json ? ndjsonRenderer(io.out) : watchRenderer({ write: io.out, writeErr: io.err });
          const target = f.target === undefined ? undefined
            : { dir: f.target, deleteExtras: f.deleteExtras === true, maxDelete, db: f.targetDb };
          const session = new WatchSession(store, { roots, config: cfg, db: dbPath, target }, render);
          const stopped = io.stopped(); // the signal handlers, before anything can be interrupted
          try {
            const watching = await session.start();
            if (!f.json) io.out(`watching ${watching.join(', ')} (Ctrl-C to stop)\n`);
            await stopped;
          } finally {
            await session.stop();
          }
          return 0;
        });
      }),
    );

  const roots = new Command('roots').description(describe('roots'));
  roots.addCommand(
    dbOption(new Command('add'))
      .description('Add a root (and index it now).')
      .argument('<id>', 'the root id (a name, a UUID)')
      .argument('<path>', 'the directory')
      .option('--no-hash', 'record sizes and times only, no sha256')
      .action((id: string, path: string, f: DbFlags & { hash: boolean }) =>
        wrap(f.json === true, () =>
          withStore(f, async (store) => {
            const r = await new SyncManager(store, { calculateHashes: f.hash }).addRoot(id, path);
            io.out(f.json ? json(r) : `added ${id}: ${r.filesScanned} file(s) indexed${r.error ? ` (${r.error})` : ''}\n`);
            return exitCodeFor(reconcileOutcome(r));
          }),
        ),
      ),
  );
  roots.addCommand(
    dbOption(new Command('remove'))
      .description('Remove a root and its records (its history stays).')
      .argument('<id>', 'the root id')
      .action((id: string, f: DbFlags) =>
        wrap(f.json === true, () =>
          withStore(f, async (store) => {
            if (!(await store.root(id))) throw new FerryError('USAGE', `There is no root "${id}" in the index.`);
            await store.removeRoot(id);
            io.out(f.json ? json({ removed: id }) : `removed ${id}\n`);
            return 0;
          }),
        ),
      ),
  );
  roots.addCommand(
    dbOption(new Command('list'))
      .description('List the roots.')
      .action((f: DbFlags) =>
        wrap(f.json === true, () =>
          withReader(f, async (store) => {
            const all = await store.roots();
            if (f.json) io.out(json(all));
            else for (const r of all) io.out(`${r.id}\t${r.path}\t${await store.countRecords(r.id)} file(s)\n`);
            return 0;
          }),
        ),
      ),
  );

  const index = new Command('index').description(describe('index'));
  const rootArg = (c: Command): Command => dbOption(c).argument('<id>', 'the root id');
  index.addCommand(
    rootArg(new Command('status')).description('Total files, whether a watcher is at work, the last operation.').action((id: string, f: DbFlags) =>
      wrap(f.json === true, () =>
        withReader(f, async (store) => {
          const s = await new SyncManager(store).status(id);
          if (f.json) io.out(json(s));
          else io.out(`${s.repositoryId}: ${s.path}, ${s.totalFiles} file(s), ${s.isWatching ? 'watched now' : 'not watched'}\nlast: ${s.lastSyncOperation ? operationLine(s.lastSyncOperation) : 'none\n'}`);
          return 0;
        }),
      ),
    ),
  );
  index.addCommand(
    rootArg(new Command('files'))
      .description('The records: path, size, sha256.')
      .option('--limit <n>', 'at most N records')
      .action((id: string, f: DbFlags & { limit?: string }) =>
        wrap(f.json === true, () =>
          withReader(f, async (store) => {
            if (!(await store.root(id))) throw new FerryError('USAGE', `There is no root "${id}" in the index.`);
            const limit = f.limit === undefined ? undefined : parsePositiveInt(f.limit, '--limit', Number.MAX_SAFE_INTEGER);
            for (const r of await store.listRecords(id, { limit })) io.out(f.json ? json(r) : recordLine(r));
            return 0;
          }),
        ),
      ),
  );
  index.addCommand(
    rootArg(new Command('history'))
      .description('The newest operations first.')
      .option('--limit <n>', 'at most N operations', '10')
      .action((id: string, f: DbFlags & { limit: string }) =>
        wrap(f.json === true, () =>
          withReader(f, async (store) => {
            if (!(await store.root(id))) throw new FerryError('USAGE', `There is no root "${id}" in the index.`);
            for (const o of await store.operations(id, parsePositiveInt(f.limit, '--limit'))) io.out(f.json ? json(o) : operationLine(o));
            return 0;
          }),
        ),
      ),
  );
  index.addCommand(
    rootArg(new Command('reconcile'))
      .description('Walk the root now and bring its records in line (a root that is missing or empty keeps them).')
      .option('--no-hash', 'record sizes and times only, no sha256')
      .action((id: string, f: DbFlags & { hash: boolean }) =>
        wrap(f.json === true, () =>
          withStore(f, async (store) => {
            const r = await new SyncManager(store, { calculateHashes: f.hash }).reconcile(id);
            const [op] = await store.operations(id, 1);
            io.out(f.json ? json(r) : op ? operationLine(op) : '');
            return exitCodeFor(reconcileOutcome(r));
          }),
        ),
      ),
  );
  return [watch, roots, index];
}
