/**
 * The watcher every face that follows a tree as it changes stands on (watch, route, the coming
 * client): a backend reports paths, they are gathered until each has settled, and a backend that
 * lost events says so, because then only a walk of the whole tree is the truth. The watcher is a
 * hint: a face that trusts it alone misses what happened while it was not listening.
 * The implementation is `engine/watcher.ts`.
 */

/** What a backend reports: absolute paths (with what happened: not relied on), or the error it met. */
export type WatchCallback = (err: Error | null, events: Array<{ path: string }>) => unknown;

/**
 * A watcher backend: @parcel/watcher's `subscribe` (one inotify watch per directory, coalesced
 * events). Rejects when the tree cannot be watched (ENOSPC: the inotify watch limit; ENOENT).
 */
export type Subscribe = (dir: string, fn: WatchCallback) => Promise<{ unsubscribe(): Promise<void> }>;

/** What a tree watcher hands to its face. */
export interface TreeWatcherHandlers {
  /**
   * Paths (relative to the root, POSIX, never '' and never outside it) that have been quiet for the
   * debounce, or waited the longest allowed: each once per call. They may be created, modified or
   * gone: the face looks at each as it is now.
   */
  settled(paths: string[]): void;
  /**
   * The backend lost events (its queue overflowed) or failed: what it reported is incomplete, and the
   * face must walk the whole tree. The watcher keeps listening.
   */
  lost(err: Error): void;
}

/** One watched tree. Opened with `subscribe`, closed with `close`; `add` and `drain` work in between. */
export interface TreeWatcher {
  /** The watched directory (absolute). */
  readonly root: string;
  /** Whether the backend is listening now. */
  readonly watching: boolean;
  /**
   * Starts listening (a second call while listening does nothing). Rejects with the backend's error
   * when the tree cannot be watched; the face then relies on walks. Safe to call again after
   * `unsubscribe` (a root replaced in place is watched again).
   */
  subscribe(): Promise<void>;
  /** Stops listening; the paths gathered so far stay and settle. Safe to repeat. */
  unsubscribe(): Promise<void>;
  /** Gathers a path again (a file still being written): it settles like a reported one. */
  add(rel: string): void;
  /** Forgets what is gathered and returns it (the face walks the tree instead). */
  drain(): string[];
  /** Stops for good: unsubscribes and returns what had not settled yet; later `add`s are ignored. */
  close(): Promise<string[]>;
}
