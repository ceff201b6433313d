import watcher from '@parcel/watcher';
import { relative, sep } from 'node:path';
import type { FerryEvent } from '../core/events.js';
import type { Subscribe, TreeWatcher, TreeWatcherHandlers } from '../core/watcher.js';
import { Aggregator } from './aggregator.js';
import { ownFilesWithin } from './own-files.js';

/** @parcel/watcher's subscribe: the backend unless a face is given another (a test's, to simulate an overflow). */
export const parcelSubscribe: Subscribe = (dir, fn) => watcher.subscribe(dir, fn);

export interface WatcherOptions {
  /** The directory to watch (absolute). */
  root: string;
  /** How long a path must be quiet before it settles. */
  debounceMs: number;
  /** The longest a busy path waits. */
  maxDeferMs: number;
  subscribe?: Subscribe;
  /**
   * ferry's own files (absolute, with their siblings: see `withSiblings`): where they sit inside the
   * root is looked up at each subscribe, and their events are not changes (ferry's own echoes).
   */
  ownFiles?: string[];
  /** Where `change` events go: one per path as it settles (an Emit will do). */
  emit?: (e: Extract<FerryEvent, { type: 'change' }>) => void;
}

/**
 * The one watcher of a tree (see core/watcher.ts): @parcel/watcher reports paths, an Aggregator
 * holds each until it settles, an error of the backend is `lost` (walk the tree).
 */
export class Watcher implements TreeWatcher {
  readonly root: string;
  private readonly aggregator: Aggregator;
  private subscription: { unsubscribe(): Promise<void> } | undefined;
  private closed = false;

  constructor(
    private readonly o: WatcherOptions,
    private readonly on: TreeWatcherHandlers,
  ) {
    this.root = o.root;
    this.aggregator = new Aggregator(o.debounceMs, o.maxDeferMs, (paths) => {
      for (const path of paths) o.emit?.({ type: 'change', root: this.root, path });
      on.settled(paths);
    });
  }

  get watching(): boolean {
    return this.subscription !== undefined;
  }

  async subscribe(): Promise<void> {
    if (this.subscription || this.closed) return;
    const own = ownFilesWithin(this.root, this.o.ownFiles ?? []);
    const subscription = await (this.o.subscribe ?? parcelSubscribe)(this.root, (err, events) => {
      if (this.closed) return;
      if (err) {
        this.on.lost(err);
        return;
      }
      for (const e of events) {
        const rel = relative(this.root, e.path).split(sep).join('/');
        if (rel === '' || rel.startsWith('..') || own.has(rel)) continue;
        this.aggregator.add(rel);
      }
    });
    if (this.closed) await subscription.unsubscribe().catch(() => undefined);
    else this.subscription = subscription;
  }

  async unsubscribe(): Promise<void> {
    const s = this.subscription;
    this.subscription = undefined;
    await s?.unsubscribe().catch(() => undefined);
  }

  add(rel: string): void {
    if (!this.closed) this.aggregator.add(rel);
  }

  drain(): string[] {
    return this.aggregator.drain();
  }

  async close(): Promise<string[]> {
    this.closed = true;
    const left = this.aggregator.drain();
    await this.unsubscribe();
    return left;
  }
}
