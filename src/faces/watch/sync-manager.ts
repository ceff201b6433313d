import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describeFileError, FerryError } from '../../core/errors.js';
import type { FerryEvent } from '../../core/events.js';
import type { Subscribe } from '../../core/watcher.js';
import { applyChanges } from '../../engine/index-update.js';
import { indexFilter } from '../../engine/index-filter.js';
import { ownFilesWithin, withSiblings } from '../../engine/own-files.js';
import { reconcile, type ReconcileResult } from '../../engine/reconcile.js';
import { rootIdentity, rootKey } from '../../engine/root-identity.js';
import { parcelSubscribe, Watcher } from '../../engine/watcher.js';
import type { IndexRecord, IndexRoot, IndexStore, SyncOperation } from '../../core/index-store.js';
import { LocalTree } from '../../targets/local-tree.js';

/** The longest delay one setTimeout takes (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The seed's SyncManagerConfig, with its defaults. */
export interface SyncManagerConfig {
  /** How often each root is reconciled in full (default 24 h), with up to 10 % jitter. */
  reconciliationIntervalMs: number;
  /** How long a path must be quiet before its events are applied (default 500 ms). */
  debounceMs: number;
  /** The longest a busy path's events wait (default 10 × debounce). */
  maxDeferMs: number;
  /** Files compared per Store transaction during a reconciliation (default 100). */
  batchSize: number;
  /** Files hashed at once (default 4). */
  maxConcurrency: number;
  /** Whether to hash files (sha256; default true). */
  calculateHashes: boolean;
  /** Gitignore-style patterns of paths to leave out, besides the seed's defaults. */
  ignore: string[];
  /** The watcher backend: @parcel/watcher's `subscribe` (replaceable to simulate a watcher failure). */
  subscribe: Subscribe;
  /**
   * Files ferry itself writes that may sit inside a root (the index database, a copy job's
   * database and log): their events, and those of their -wal, -shm, -journal and .lock siblings,
   * are not changes.
   */
  ownFiles: string[];
  /** How often the root's path is looked at, to notice it renamed away or replaced (default 2 s). */
  rootPollMs: number;
}

export const DEFAULT_SYNC_MANAGER_CONFIG: SyncManagerConfig = {
  reconciliationIntervalMs: 24 * 3600_000,
  debounceMs: 500,
  maxDeferMs: 5000,
  batchSize: 100,
  maxConcurrency: 4,
  calculateHashes: true,
  ignore: [],
  subscribe: parcelSubscribe,
  ownFiles: [],
  rootPollMs: 2000,
};

export interface SyncStatus {
  repositoryId: string;
  path: string;
  totalFiles: number;
  isWatching: boolean;
  lastSyncOperation: SyncOperation | null;
}

/**
 * What the manager tells its listener (FerryEvents): each operation as it ends, every warning, and
 * each path of a root that changed, filtered or not (a copy of the whole root may want them).
 */
export type SyncEvent = Extract<FerryEvent, { type: 'operation' | 'warning' | 'change' }>;

interface Watched {
  root: IndexRoot;
  /** The root's watcher (engine/watcher.ts): listening, or not while the root's path leads nowhere. */
  watcher: Watcher;
  timer?: NodeJS.Timeout;
  /** The look at the root's path every `rootPollMs`, and what it found there last. */
  poll?: NodeJS.Timeout;
  seen?: string;
  checking?: boolean;
  /** What the index keeps of this root (computed once: it looks for ferry's own files inside it). */
  keep?: (rel: string) => boolean;
  /** The one operation running for this root at a time (flushes and reconciliations queue). */
  busy: Promise<unknown>;
}

/**
 * Keeps an index of every file under each root current (seed 003 in TypeScript): a watcher is the
 * hint (tier 1), a full reconciliation on a schedule and on demand is the truth (tier 2). A
 * watcher error or overflow triggers a reconciliation and a warning, never silence.
 */
export class SyncManager {
  readonly config: SyncManagerConfig;
  private readonly watched = new Map<string, Watched>();
  private running = false;
  private readonly keep: (rel: string) => boolean;
  private readonly own: string[];

  constructor(
    private readonly store: IndexStore,
    config: Partial<SyncManagerConfig> = {},
    private readonly listen: (e: SyncEvent) => void = () => undefined,
  ) {
    this.config = { ...DEFAULT_SYNC_MANAGER_CONFIG, maxDeferMs: 10 * (config.debounceMs ?? DEFAULT_SYNC_MANAGER_CONFIG.debounceMs), ...config };
    const filter = indexFilter(this.config.ignore);
    this.own = withSiblings(this.config.ownFiles);
    this.keep = (rel) => filter(rel);
  }

  /** What the index of `root` leaves out: the filters, and ferry's own files inside it. */
  private keepFor(root: IndexRoot): (rel: string) => boolean {
    const own = ownFilesWithin(root.path, this.own);
    if (own.size === 0) return this.keep;
    return (rel) => this.keep(rel) && !own.has(rel);
  }

  /** Starts watching every root the Store holds, each after its startup sync. */
  async start(): Promise<void> {
    this.running = true;
    for (const root of await this.store.roots()) await this.watch(root, 'startup');
  }

  /** Stops the watchers and timers and waits for the operations in flight; the Store stays open. */
  async stop(): Promise<void> {
    this.running = false;
    for (const w of this.watched.values()) await this.unwatch(w);
    this.watched.clear();
  }

  /**
   * Adds a root, runs its startup sync, and watches it while the manager runs. An id already in the
   * index for another directory is refused (USAGE: remove it first); for the same directory, the
   * root is indexed again. An empty id is refused.
   */
  async addRoot(id: string, path: string): Promise<ReconcileResult> {
    if (id.trim() === '') throw new FerryError('USAGE', 'A root id must not be empty.');
    const abs = resolve(path);
    let st;
    try {
      st = await stat(abs, { bigint: true });
    } catch (err) {
      throw new FerryError('SOURCE_UNAVAILABLE', `The root ${abs} cannot be read: ${describeFileError(err)}.`, { cause: err });
    }
    if (!st.isDirectory()) throw new FerryError('SOURCE_UNAVAILABLE', `The root ${abs} is not a directory.`);
    const existing = await this.store.root(id);
    if (existing && existing.path !== abs) {
      throw new FerryError('USAGE', `There is already a root "${id}" in the index, at ${existing.path}; nothing was changed.`, {
        hint: `To point "${id}" at ${abs}, remove it first with \`ferry roots remove ${id}\` (its records go with it).`,
      });
    }
    if (existing) {
      if (!this.running) return reconcile(this.store, existing, 'startup', this.reconcileOptions(existing));
      return this.watched.has(id) ? this.reconcile(id) : this.watch(existing, 'startup');
    }
    await this.store.addRoot({ id, path: abs, device: st.dev, inode: st.ino, identity: await rootIdentity(abs) });
    const root = (await this.store.root(id))!;
    if (this.running) return this.watch(root, 'startup');
    return reconcile(this.store, root, 'startup', this.reconcileOptions(root));
  }

  /** Stops watching a root and forgets it and its records (its history stays). */
  async removeRoot(id: string): Promise<void> {
    const w = this.watched.get(id);
    if (w) await this.unwatch(w);
    this.watched.delete(id);
    await this.store.removeRoot(id);
  }

  /** A full reconciliation of one root now (after whatever it is doing). */
  async reconcile(id: string): Promise<ReconcileResult> {
    const w = this.watched.get(id);
    const root = w?.root ?? (await this.store.root(id));
    if (!root) throw new FerryError('USAGE', `There is no root "${id}" in the index.`);
    if (!w) return this.report(await reconcile(this.store, root, 'reconciliation', this.reconcileOptions(root)), id);
    return this.serially(w, async () => this.report(await reconcile(this.store, root, 'reconciliation', this.reconcileOptions(root)), id));
  }

  async status(id: string): Promise<SyncStatus> {
    const root = await this.store.root(id);
    if (!root) throw new FerryError('USAGE', `There is no root "${id}" in the index.`);
    const [last] = await this.store.operations(id, 1);
    // Watched here, or by another process that said so and still holds the index's writer lock.
    const isWatching = this.watched.get(id)?.watcher.watching === true || (root.watchedBy !== null && (await this.store.writerActive()));
    return { repositoryId: id, path: root.path, totalFiles: await this.store.countRecords(id), isWatching, lastSyncOperation: last ?? null };
  }

  listFiles(id: string, options?: { afterPath?: string; limit?: number }): Promise<IndexRecord[]> {
    return this.store.listRecords(id, options);
  }

  getFile(id: string, path: string): Promise<IndexRecord | undefined> {
    return this.store.getRecord(id, path);
  }

  operations(id: string, limit = 10): Promise<SyncOperation[]> {
    return this.store.operations(id, limit);
  }

  private reconcileOptions(root: IndexRoot): Parameters<typeof reconcile>[3] {
    return {
      tree: new LocalTree(root.path), batchSize: this.config.batchSize, concurrency: this.config.maxConcurrency, hashes: this.config.calculateHashes,
      keep: this.keepFor(root),
    };
  }

  private async report(r: ReconcileResult, id: string): Promise<ReconcileResult> {
    for (const n of r.notices) this.listen({ type: 'warning', repositoryId: id, message: n });
    const [op] = await this.store.operations(id, 1);
    if (op) this.listen({ type: 'operation', operation: op });
    if (r.error) this.listen({ type: 'warning', repositoryId: id, message: r.error });
    return r;
  }

  private serially<T>(w: Watched, task: () => Promise<T>): Promise<T> {
    const run = w.busy.then(task, task);
    w.busy = run.catch(() => undefined);
    return run;
  }

  /** Subscribes first (so nothing that happens during the startup sync is missed), then syncs. */
  private async watch(root: IndexRoot, type: 'startup'): Promise<ReconcileResult> {
    const w: Watched = {
      root,
      busy: Promise.resolve(),
      watcher: new Watcher(
        { root: root.path, debounceMs: this.config.debounceMs, maxDeferMs: this.config.maxDeferMs, subscribe: this.config.subscribe, ownFiles: this.own, emit: this.listen },
        {
          settled: (paths) => void this.flush(w, paths),
          lost: (err) => this.fail(w, `the watcher of ${root.path} failed (${err.message}); reconciling instead`),
        },
      ),
    };
    this.watched.set(root.id, w);
    await this.subscribe(w);
    this.schedule(w);
    // A watcher follows the directory it was given, wherever it is renamed to: look at the root's path
    // every few seconds, and follow what is there now when it changes.
    w.poll = setInterval(() => void this.checkRoot(w), this.config.rootPollMs);
    w.poll.unref();
    return this.serially(w, async () => this.report(await reconcile(this.store, root, type, this.reconcileOptions(root)), root.id));
  }

  private async subscribe(w: Watched): Promise<void> {
    const { root } = w;
    w.seen = await rootKey(root.path);
    try {
      await w.watcher.subscribe();
      await this.store.setWatchedBy(root.id, process.pid).catch(() => undefined);
    } catch (err) {
      // ENOSPC here is the inotify watch limit: say so, and rely on the scheduled reconciliation.
      this.listen({ type: 'warning', repositoryId: root.id, message: `cannot watch ${root.path} (${describeFileError(err)}); it is reconciled on schedule only` });
    }
  }

  /**
   * The root's path no longer leads to the directory being watched (renamed away, deleted, made
   * again, another filesystem mounted there): stop watching the old one, say so, and once a directory
   * is there, watch it and reconcile (which keeps the records when it is another filesystem).
   */
  private async checkRoot(w: Watched): Promise<void> {
    if (!this.running || this.watched.get(w.root.id) !== w || w.checking) return;
    w.checking = true;
    try {
      const now = await rootKey(w.root.path, true);
      if (now === w.seen) return;
      if (w.watcher.watching) {
        await w.watcher.unsubscribe();
        w.watcher.drain();
        this.listen({ type: 'warning', repositoryId: w.root.id, message: `${w.root.path} is no longer the directory being watched (renamed, deleted or replaced); ${now === undefined ? 'waiting for it to come back' : 'watching the one there now'}` });
      }
      w.seen = now;
      if (now === undefined) return;
      await this.subscribe(w);
      await this.reconcile(w.root.id).catch((err: unknown) => this.listen({ type: 'warning', repositoryId: w.root.id, message: err instanceof FerryError ? err.message : describeFileError(err) }));
    } finally {
      w.checking = false;
    }
  }

  private async unwatch(w: Watched): Promise<void> {
    clearTimeout(w.timer);
    clearInterval(w.poll);
    const watching = w.watcher.watching;
    // Paths still settling are applied now; what a last flush defers is left to the next start's sync.
    const left = await w.watcher.close();
    if (watching) await this.store.setWatchedBy(w.root.id, null).catch(() => undefined);
    if (left.length > 0) await this.flush(w, left);
    await w.busy;
  }

  private fail(w: Watched, message: string): void {
    this.listen({ type: 'warning', repositoryId: w.root.id, message });
    void this.reconcile(w.root.id).catch((err: unknown) => this.listen({ type: 'warning', repositoryId: w.root.id, message: err instanceof FerryError ? err.message : describeFileError(err) }));
  }

  /** The next scheduled reconciliation; an interval past what one timer holds (~24.8 days) waits in steps. */
  private schedule(w: Watched, remainingMs = this.config.reconciliationIntervalMs * (1 + Math.random() * 0.1)): void {
    const step = Math.min(remainingMs, MAX_TIMER_MS);
    w.timer = setTimeout(() => {
      if (!this.running || this.watched.get(w.root.id) !== w) return;
      if (remainingMs > step) return this.schedule(w, remainingMs - step);
      void this.reconcile(w.root.id).finally(() => this.schedule(w));
    }, step);
    w.timer.unref();
  }

  /**
   * One realtime flush: one `sync_operations` row when it changed the index (or met an error), none
   * otherwise; paths still settling go back to the watcher. Any failure, the Store's included, is
   * a warning and a reconciliation.
   */
  private flush(w: Watched, all: string[]): Promise<void> {
    const keep = (w.keep ??= this.keepFor(w.root));
    // Paths the index leaves out still say their directory changed (a save through a hidden temp
    // file may be reported as that file alone): they go too, and only a change found writes a row.
    return this.serially(w, async () => {
      let id: number | undefined;
      try {
        const started = Date.now();
        const r = await applyChanges(this.store, w.root, all, {
          tree: new LocalTree(w.root.path), hashes: this.config.calculateHashes, keep, settleMs: Math.min(this.config.debounceMs / 2, 1000),
        });
        // A flush that changed nothing (and met no error) is no operation: it writes no history row.
        if (r.filesAdded + r.filesUpdated + r.filesRemoved === 0 && r.errors.length === 0) {
          for (const p of r.deferred) w.watcher.add(p);
          return;
        }
        id = await this.store.startOperation(w.root.id, 'realtime', started);
        for (const p of r.deferred) w.watcher.add(p);
        const error = r.errors.length > 0 ? `${r.errors.length} path(s) could not be read (first: ${r.errors[0]})` : undefined;
        await this.store.finishOperation(id, error ? 'failed' : 'completed', r, error);
        if (error) this.listen({ type: 'warning', repositoryId: w.root.id, message: error });
        const [op] = await this.store.operations(w.root.id, 1);
        if (op) this.listen({ type: 'operation', operation: op });
      } catch (err) {
        const message = err instanceof FerryError ? err.message : describeFileError(err);
        if (id !== undefined) {
          await this.store.finishOperation(id, 'failed', { filesScanned: 0, filesAdded: 0, filesUpdated: 0, filesRemoved: 0 }, message).catch(() => undefined);
        }
        this.fail(w, `a realtime update of ${w.root.path} failed (${message}); reconciling instead`);
      }
    });
  }
}
