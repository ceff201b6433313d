import { resolve } from 'node:path';
import { FerryError, type Outcome } from '../../core/errors.js';
import type { FerryEvent } from '../../core/events.js';
import type { ReconcileResult } from '../../engine/reconcile.js';
import type { IndexStore } from '../../core/index-store.js';
import { isPgUrl } from '../../store/url.js';
import { SyncManager, type SyncManagerConfig } from './sync-manager.js';
import { TargetSync } from './target-sync.js';

export interface WatchOptions {
  /** Directories to add and watch (each one's id is its absolute path); roots already in the index are watched too. */
  roots: string[];
  config: Partial<SyncManagerConfig>;
  /** Where the index is (a file, or a postgres:// URL): a file inside a root is ferry's own, not a change. */
  db: string;
  /** `--target`: also keep this directory a copy of the one root (see TargetSync). */
  target?: { dir: string; deleteExtras: boolean; maxDelete?: number; db?: string };
}

/** A reconciliation's outcome: a root that could not be trusted or walked whole is `failed` (exit 1). */
export function reconcileOutcome(r: ReconcileResult): Outcome {
  return r.status === 'completed' ? 'ok' : 'failed';
}

/**
 * `ferry watch`: a SyncManager over every root of the index, and with `target` a TargetSync that
 * copies the root after each change it sees (files the index leaves out included). Made in two
 * steps so the caller can take the stop signals before anything starts: the constructor refuses
 * what can never work (a target inside the root: USAGE), `start` syncs and watches.
 */
export class WatchSession {
  private readonly manager: SyncManager;
  private readonly mirror: TargetSync | undefined;
  private readonly root: string | undefined;
  private requested = false;

  constructor(
    private readonly store: IndexStore,
    private readonly o: WatchOptions,
    emit: (e: FerryEvent) => void,
  ) {
    this.root = o.roots.length === 1 ? resolve(o.roots[0]!) : undefined;
    if (o.target && this.root === undefined) throw new FerryError('USAGE', '--target takes exactly one ROOT to copy.');
    this.mirror = o.target && new TargetSync({ root: this.root!, target: resolve(o.target.dir), deleteExtras: o.target.deleteExtras, maxDelete: o.target.maxDelete, db: o.target.db }, emit);
    // ferry's own files may sit inside a root (`ferry watch ~` with the index in ~/.local/state).
    const ownFiles = [isPgUrl(o.db) ? [] : [o.db], this.mirror?.ownFiles ?? []].flat();
    this.manager = new SyncManager(store, { ...o.config, ownFiles }, (e) => {
      // The copy takes the whole root: any change of it counts, and the changes of one flush ask once.
      if (e.type === 'change' && this.mirror && e.root === this.root) this.requestCopy();
      emit(e);
    });
  }

  /**
   * The startup sync of every root (those of the index, then the new ones), their watchers, and the
   * first copy. Resolves with the roots watched; rejects USAGE when there is nothing to watch.
   */
  async start(): Promise<string[]> {
    await this.manager.start();
    // Roots already in the index were watched (and synced once) by start(): only new ones are added.
    const known = new Set((await this.store.roots()).map((r) => r.path));
    for (const r of this.o.roots) if (!known.has(resolve(r))) await this.manager.addRoot(resolve(r), r);
    await this.mirror?.request(); // the first copy, whatever the index found
    const roots = (await this.store.roots()).map((r) => r.path);
    if (roots.length === 0) throw new FerryError('USAGE', 'There is nothing to watch: name a ROOT, or add one with `ferry roots add ID PATH`.');
    return roots;
  }

  /** Stops the watchers (applying what was settling) and a copy in flight; the Store stays open. */
  async stop(): Promise<void> {
    await this.manager.stop();
    await this.mirror?.close();
  }

  private requestCopy(): void {
    if (this.requested) return;
    this.requested = true;
    queueMicrotask(() => {
      this.requested = false;
      void this.mirror?.request();
    });
  }
}
