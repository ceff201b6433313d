import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { ServerStore } from '../../core/server-store.js';
import { openCopyStore, openIndexStore, openRouteStore, openServerStore, storeKind, type StoreKind } from '../../store/open.js';
import { lockHeld } from '../../store/lock.js';
import { isPgUrl, redact } from '../../store/url.js';
import { readCopy, type CopyTotals } from './read-copy.js';
import { readRoute } from './read-route.js';
import { readServer } from './read-server.js';
import { readVault } from './read-vault.js';
import { readWatch } from './read-watch.js';
import type { Face, JobView } from './views.js';

export interface BoardSources {
  /** ferry's state directory: every face's default databases are found there. */
  stateDir?: string;
  /** More databases (--db): SQLite files or PostgreSQL URLs of copy jobs. */
  dbs?: string[];
  /** ferry's configuration directory: `vault.json` there names this machine's vault. */
  configDir?: string;
  /** A running server's own Store (`ferry serve` shows its page with its live connections). */
  server?: { store: ServerStore; location: string; connected: () => string[] };
}

interface Entry {
  id: string;
  kind: StoreKind | 'vault';
  location: string;
  /** Where it is shown (a URL without its password). */
  shown: string;
  defaultDb: boolean;
  /** Its directory's watcher saw its file or WAL change since it was last looked at (true at first). */
  dirty: boolean;
  checkedAt: number;
  signature?: string;
  readAt: number;
  /** A copy job's totals as last counted (see readCopy). */
  totals?: CopyTotals;
  view?: JobView;
  json?: string;
  reading?: Promise<void>;
}

/** How often a running job is read again when its database changed; others, whenever it changes. */
const RUNNING_EVERY_MS = 900;
/** A round waits this long for a job's read; one still reading after it (a hung mount) goes on alone. */
const ROUND_WAIT_MS = 3000;
/** A running watcher or server is read again this often, changed or not (it may have stopped). */
const QUIET_EVERY_MS = 5000;
/** A vault's status runs git, git-annex and rclone: once a minute at most. */
const VAULT_EVERY_MS = 60_000;
/** PostgreSQL has no file to watch: read every few seconds. */
const PG_EVERY_MS = 2000;
/** With its directory watched (inotify), a database is looked at only when told it changed, and this often anyway. */
const SAFETY_EVERY_MS = 30_000;
const DISCOVER_EVERY_MS = 5000;

const STATE_FILES: Array<[RegExp, StoreKind]> = [[/^copy-[0-9a-f]+\.db$/, 'copy'], [/^watch\.db$/, 'watch'], [/^route\.db$/, 'route'], [/^serve-[0-9a-f]+\.db$/, 'server']];
const KIND_FACE: Record<StoreKind | 'vault', Face | undefined> = { copy: 'copy', watch: 'watch', route: 'route', server: 'server', vault: 'vault', client: undefined };

/**
 * Every job the dashboard shows, kept current: found in the state directory (and --db, and the
 * vault registry), each read again when its database changed (SQLite: its file and WAL's size and
 * time), and each change passed to the listeners as the job's new view. Reads only: every database
 * is opened read-only, beside the processes that write it.
 */
export class JobBoard {
  private entries = new Map<string, Entry>();
  private readonly listeners = new Set<(change: { view?: JobView; gone?: string }) => void>();
  private timer: NodeJS.Timeout | undefined;
  private lastDiscover = 0;
  /** Directories holding the databases, watched: a change marks its job dirty, a new file starts a discovery. */
  private readonly watched = new Map<string, FSWatcher | null>();
  /** The SQLite jobs by their database's path. */
  private byFile = new Map<string, Entry>();
  private ticking: Promise<void> | undefined;

  constructor(private readonly sources: BoardSources) {}

  /** Every job as last read, after one refresh (the first call reads them all). */
  async jobs(): Promise<JobView[]> {
    await this.tick();
    return this.views();
  }

  views(): JobView[] {
    const order: Face[] = ['copy', 'watch', 'route', 'server', 'vault'];
    return [...this.entries.values()].flatMap((e) => (e.view ? [e.view] : []))
      .sort((a, b) => order.indexOf(a.face) - order.indexOf(b.face) || (b.state === 'running' ? 1 : 0) - (a.state === 'running' ? 1 : 0) || (b.sinceMs ?? 0) - (a.sinceMs ?? 0) || a.title.localeCompare(b.title));
  }

  /** Calls `listener` with each job that changed; polling runs while someone listens. */
  subscribe(listener: (change: { view?: JobView; gone?: string }) => void): () => void {
    this.listeners.add(listener);
    this.timer ??= setInterval(() => void this.tick().catch(() => undefined), 1000);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
    for (const w of this.watched.values()) w?.close();
    this.watched.clear();
  }

  /** One round: find new and vanished jobs now and then, read those that changed. */
  tick(): Promise<void> {
    this.ticking ??= this.round().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async round(): Promise<void> {
    const now = Date.now();
    const discoverEvery = this.sources.stateDir && this.watched.get(this.sources.stateDir) ? SAFETY_EVERY_MS : DISCOVER_EVERY_MS;
    if (now - this.lastDiscover >= discoverEvery || this.entries.size === 0) {
      this.lastDiscover = now;
      await this.discover();
    }
    for (const e of this.entries.values()) {
      e.reading ??= this.refresh(e).catch(() => undefined).finally(() => (e.reading = undefined));
    }
    // A read that hangs (a drive or a --db on a mount that stopped answering, a slow vault) holds up
    // neither the round nor the others: it is waited for a while, then goes on by itself.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolveLate) => (timer = setTimeout(resolveLate, ROUND_WAIT_MS)));
    await Promise.race([Promise.all([...this.entries.values()].map((e) => e.reading)), late]);
    clearTimeout(timer);
  }

  private async discover(): Promise<void> {
    const found: Array<Omit<Entry, 'readAt'>> = [];
    const add = (kind: Entry['kind'], location: string, defaultDb: boolean): void => {
      const id = createHash('sha256').update(`${kind}\0${location}`).digest('hex').slice(0, 16);
      if (!found.some((f) => f.id === id)) found.push({ id, kind, location, shown: isPgUrl(location) ? redact(location) : location, defaultDb, dirty: true, checkedAt: 0 });
    };
    if (this.sources.server) add('server', this.sources.server.location, true);
    if (this.sources.stateDir) {
      // A state directory that cannot be read (not there yet, not a directory, no permission) holds no jobs.
      const names = await readdir(this.sources.stateDir).catch(() => [] as string[]);
      for (const name of names.sort()) {
        const kind = STATE_FILES.find(([re]) => re.test(name))?.[1];
        if (kind) add(kind, join(this.sources.stateDir, name), true);
      }
    }
    for (const db of this.sources.dbs ?? []) {
      const location = isPgUrl(db) ? db : resolve(db);
      const kind = await storeKind(location).catch(() => undefined);
      if (kind && KIND_FACE[kind]) add(kind, location, false);
    }
    if (this.sources.configDir) {
      const managed = await readFile(join(this.sources.configDir, 'vault.json'), 'utf8').then((t) => {
        try {
          return (JSON.parse(t) as { managed?: unknown }).managed;
        } catch {
          return undefined; // a torn registry: no vault shown until `ferry vault init` writes it again
        }
      }, () => undefined);
      if (typeof managed === 'string') add('vault', managed, true);
    }
    if (this.sources.stateDir) this.watchDir(this.sources.stateDir);
    for (const f of found) if (f.kind !== 'vault' && !isPgUrl(f.location)) this.watchDir(dirname(f.location));
    const next = new Map<string, Entry>();
    for (const f of found) next.set(f.id, this.entries.get(f.id) ?? { ...f, readAt: 0 });
    for (const id of this.entries.keys()) if (!next.has(id)) this.emit({ gone: id });
    this.entries = next;
    this.byFile = new Map([...next.values()].filter((e) => e.kind !== 'vault' && !isPgUrl(e.location)).map((e) => [e.location, e]));
  }

  /** Watches `dir` (once; a directory that cannot be watched is polled instead). */
  private watchDir(dir: string): void {
    if (this.watched.has(dir)) return;
    let w: FSWatcher | null = null;
    try {
      w = watch(dir, { persistent: false }, (_event, name) => this.changed(dir, name === null ? null : String(name)));
      w.on('error', () => {
        w?.close();
        this.watched.set(dir, null);
      });
    } catch {
      w = null;
    }
    this.watched.set(dir, w);
  }

  private changed(dir: string, name: string | null): void {
    if (name === null) {
      for (const e of this.entries.values()) e.dirty = true;
      return;
    }
    // Called for every write to a database or its WAL (hundreds a second under a running copy): one lookup.
    const e = this.byFile.get(join(dir, name.endsWith('-wal') ? name.slice(0, -4) : name));
    if (e) e.dirty = true;
    // A file of a new job in the state directory: look for jobs at the next round.
    else if (dir === this.sources.stateDir && STATE_FILES.some(([re]) => re.test(name))) this.lastDiscover = 0;
  }

  private async refresh(e: Entry): Promise<void> {
    const now = Date.now();
    const running = e.view?.state === 'running';
    // A running job is read again now and then even when nothing changed: it may have died without a word.
    const due = running && now - e.readAt >= (e.kind === 'copy' ? RUNNING_EVERY_MS : QUIET_EVERY_MS);
    const told = e.kind !== 'vault' && !isPgUrl(e.location) && this.watched.get(dirname(e.location));
    if (told && !e.dirty && !due && now - e.checkedAt < SAFETY_EVERY_MS) return;
    e.dirty = false;
    e.checkedAt = now;
    const signature = await this.signatureOf(e, now);
    if (e.view && signature === e.signature && !due) return;
    if (e.view && running && now - e.readAt < RUNNING_EVERY_MS) return;
    e.signature = signature;
    e.readAt = now;
    let view: JobView;
    try {
      view = await this.read(e);
    } catch (err) {
      const face = KIND_FACE[e.kind]!;
      view = { id: e.id, face, location: e.shown, title: `${face} (unreadable)`, state: 'unreadable', stateText: 'cannot be read', sinceMs: null, error: (err as Error).message };
    }
    const json = JSON.stringify(view);
    if (json === e.json) return;
    e.view = view;
    e.json = json;
    this.emit({ view });
  }

  /** What changes when the job's state changes: the SQLite file and its WAL; a PostgreSQL job, a vault: time. */
  private async signatureOf(e: Entry, now: number): Promise<string> {
    if (e.kind === 'vault') return String(Math.floor(now / VAULT_EVERY_MS));
    if (isPgUrl(e.location)) return String(Math.floor(now / PG_EVERY_MS));
    const part = async (p: string): Promise<string> => stat(p).then((s) => `${s.mtimeMs}:${s.size}`, () => '-');
    return `${await part(e.location)}|${await part(`${e.location}-wal`)}`;
  }

  private async read(e: Entry): Promise<JobView> {
    const base = { id: e.id, location: e.shown };
    switch (e.kind) {
      case 'copy':
        return using(await openCopyStore(e.location, { readOnly: true }), async (s) => {
          // A SQLite job's writer holds its lock: running while it does, whatever it said last.
          const writer = isPgUrl(e.location) ? undefined : () => lockHeld(e.location);
          const r = await readCopy(s, base, e.defaultDb, e.totals, writer);
          e.totals = r.totals;
          return r.view;
        });
      case 'watch':
        return using(await openIndexStore(e.location, { readOnly: true }), (s) => readWatch(s, base));
      case 'route':
        return using(await openRouteStore(e.location, { readOnly: true }), (s) => readRoute(s, base));
      case 'server': {
        const own = this.sources.server;
        if (own && own.location === e.location) return readServer(own.store, base, own.connected);
        return using(await openServerStore(e.location, { readOnly: true }), (s) => readServer(s, base));
      }
      case 'vault':
        return readVault(e.location, base);
      default:
        throw new Error(`not a kind the dashboard shows: ${e.kind}`);
    }
  }

  private emit(change: { view?: JobView; gone?: string }): void {
    for (const l of this.listeners) l(change);
  }
}

/** Reads through a Store opened for it, and closes it. */
async function using<S extends { close(): Promise<void> }, T>(store: S, read: (s: S) => Promise<T>): Promise<T> {
  try {
    return await read(store);
  } finally {
    await store.close();
  }
}
