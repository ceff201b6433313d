import type { FileEntry } from './entry.js';
import type { Algorithm } from './hash.js';

/**
 * The read side every tree ferry works on has: a source copied from, a destination walked before a
 * copy and mirrored, a watched root, a drive. `Target` (target.ts) is a Tree that can also be
 * written. The engine walks, reads and checks a tree only through this contract, never by a local
 * path, so a tree behind a server or an rclone remote is scanned and read as a directory is.
 * Paths are POSIX and relative to the root ('' is the root); anything else (`..`, an absolute path)
 * is refused with EINVAL (`badTreePath`). Nothing here follows a symlink below the root: a symlink
 * is an entry, and a directory on the way that became one is not a directory any more. (The root
 * itself is reached as the user named it; a local tree without its native helper checks each
 * directory just before it uses it instead of holding it open.)
 */
export interface Tree {
  /** Where the tree is, as a user names it (a path, a URL): for messages and the job's binding. */
  readonly root: string;
  /** True when the root exists and is a directory (the drive is mounted, the share is there). */
  available(): Promise<boolean>;
  /**
   * Walks the whole tree (the root itself excluded), or what is below `options.under`, depth-first,
   * in batches. What cannot be read on the way, the root or `under` included, is reported in the
   * batches' `errors`, not thrown; the iteration rejects only when the tree cannot be reached at all
   * (a Target whose root is no longer there: ENXIO).
   */
  list(options?: ListOptions): AsyncIterable<ListBatch>;
  /** The live entry at `rel` (not following a final symlink), or undefined when absent. */
  stat(rel: string): Promise<FileEntry | undefined>;
  /**
   * The entries of the directory `rel` (each `rel` a path of the tree), unsorted, as one listing
   * with its stats; rejects ENOENT or ENOTDIR when it is not a directory.
   */
  entries(rel: string): Promise<FileEntry[]>;
  /**
   * Opens the file `rel` for reading, never through a link (ELOOP when `rel` is a symlink, ENOENT or
   * ENOTDIR when it or a directory on its way is gone), without waiting on a FIFO.
   */
  openRead(rel: string): Promise<ReadHandle>;
  /**
   * The small-file path: reads all of `rel` when it holds at most `maxSize` bytes, hashing it, in one
   * call; `large` when it is bigger, `changed` when it moved while read or is not a regular file.
   * `hashOnly`: the bytes are not kept (`data` is empty), only their hash.
   */
  readWhole(rel: string, maxSize: number, algorithm: Algorithm | null, options?: { hashOnly?: boolean }): Promise<WholeRead>;
  /** The target of the symlink `rel`, as stored. */
  readlink(rel: string): Promise<string>;
  /**
   * What names the directory `rel` (the root by default) and its filesystem across remounts, as an
   * opaque string to record; undefined when this tree cannot tell (then only `available` guards it).
   */
  identity?(rel?: string): Promise<string | undefined>;
  /** How `recorded` (an earlier `identity`) stands to the directory at `rel` now. */
  compareIdentity?(recorded: string, rel?: string): Promise<IdentityMatch>;
}

/** Anything badTreePath may refuse: a NUL, a leading, doubled or trailing slash, a '.' or '..' component. */
const SUSPECT = /\0|^\/|\/\/|\/$|(?:^|\/)\.\.?(?:\/|$)/;

/**
 * Why `rel` is not a path of a tree, or undefined when it is: a path is '' (the root) or names
 * separated by single slashes, none of them '.' or '..', no leading slash, no NUL. Every Tree refuses
 * others (EINVAL) before it touches anything: a path from a request never climbs out of the root.
 */
export function badTreePath(rel: string): string | undefined {
  if (rel === '' || !SUSPECT.test(rel)) return undefined; // one test on the hot path; the reason only when it fails
  if (rel.includes('\0')) return 'it holds a NUL byte';
  if (rel.startsWith('/')) return 'it is absolute';
  for (const part of rel.split('/')) {
    if (part === '') return 'it has an empty component';
    if (part === '.' || part === '..') return `it has a "${part}" component`;
  }
  return undefined;
}

/** A tree read as a source: the same contract (a name for what the engine copies from). */
export type Source = Tree;

export type IdentityMatch = 'same' | 'other-filesystem' | 'other-directory';

export interface ListOptions {
  signal?: AbortSignal;
  /** Listing digests an earlier walk returned, by directory key: a directory that matches is kept. */
  known?: Map<string, string>;
  /** Names that make a directory's listing never count as unchanged (it is re-read every walk). */
  volatileName?: RegExp;
  /** Entries per batch (default 1000). */
  batchSize?: number;
  /**
   * Walk only below this directory (entries keep their paths in the tree); the whole tree by
   * default. A local tree reaches `under` by its path, as it does the root.
   */
  under?: string;
}

export interface ListError {
  rel: string;
  code: string;
  message: string;
}

export interface ListBatch {
  entries: FileEntry[];
  /** Directories listed in this batch. */
  dirs: number;
  errors: ListError[];
  /**
   * Directories whose entries have all been yielded, with their new listing digest. Directories are
   * named by key: '' for the root, else the directory's path and a trailing '/'.
   */
  digests: Array<[string, string]>;
  /** Directories (keys, as in `digests`) whose listing equals the known digest: their entries are not yielded. */
  kept: string[];
  keptFiles: number;
  keptBytes: number;
  /** Directories on another filesystem than their parent: what is mounted inside the tree. */
  mounts: string[];
  /** On the last batch only: the coarsest step all file mtimes of the tree are multiples of. */
  granularityNs?: bigint;
  /** Temp files of an interrupted write this tree removed while listing (a Target's own). */
  removedTemps?: number;
}

/** A file opened for reading. */
export interface ReadHandle {
  /** Reads up to `length` bytes at `position` into `into` from `at`; 0 at the end of the file. */
  read(into: Uint8Array, at: number, length: number, position: number): Promise<number>;
  /** The file as it is now (to tell a file that changed while it was read). */
  stat(): Promise<FileEntry>;
  close(): Promise<void>;
}

export type WholeRead =
  | { kind: 'read'; data: Uint8Array; hash: string | null; entry: FileEntry }
  | { kind: 'large' }
  | { kind: 'changed'; entry: FileEntry };
