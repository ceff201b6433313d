import type { FileEntry } from './entry.js';
import type { ListBatch, ListOptions, Tree } from './tree.js';

/** What a target can keep, found by probing it rather than assumed. */
export interface TargetCaps {
  /** The coarsest step the target stores modification times in (1n = nanoseconds, 1e9 = seconds). */
  timePrecisionNs: bigint;
  /** Whether "A" and "a" are two names. */
  caseSensitive: boolean;
  /** Whether it keeps the permission bits a file is given (FAT, many SMB shares show one mode for all). */
  keepsModes: boolean;
}

export interface FileTimes {
  atimeNs: bigint;
  mtimeNs: bigint;
}

/** The source entry's permission bits and owner: what a copy is created with (see `Target`). */
export interface EntryAttrs {
  mode: number;
  uid: number;
  gid: number;
}

/**
 * A file being written. Bytes land in a temp file beside the destination; nothing appears under the
 * final name until `commit`. Every method may reject with a Node system error (ENOSPC, EACCES, EROFS…).
 */
export interface WriteHandle {
  /** Writes `data` at `offset` of the temp file. */
  write(data: Uint8Array, offset: number): Promise<void>;
  /** Flushes written bytes to stable storage (fdatasync) without closing. */
  flush(): Promise<void>;
  /**
   * Flushes, closes, renames over the final name, sets atime and mtime, then re-stats.
   * Resolves with the re-stat entry, so the caller can check that the times held. Rejects with
   * ECHANGED when the file is not exactly what this handle wrote (another process interfered).
   */
  commit(times: FileTimes): Promise<FileEntry>;
  /**
   * Closes and removes the temp file; with `keep` (--partial) the temp file stays for a later run to
   * go on from. Safe to call twice and after a failed commit.
   */
  abort(options?: { keep?: boolean }): Promise<void>;
  /**
   * Bytes a stopped run left in this file's temp file (opened with `keepPartial`), which the caller
   * may keep after comparing them with the source; 0 when it starts empty.
   */
  readonly kept: number;
  /** Reads back bytes of the kept temp file (to compare them with the source). */
  readKept(into: Uint8Array, offset: number): Promise<number>;
  /** Counts the bytes up to `end` as written without writing them (found kept and equal). */
  extend(end: number): void;
}

/**
 * Where copies go: a Tree (tree.ts) that can also be written. Paths are POSIX and relative to the
 * target's root. Every write and delete stays below the root whatever another process does to the
 * tree meanwhile: no directory on the way is followed if it is a symlink, and none is trusted because
 * an earlier call found it real. New files and directories get the source's permission bits
 * (`EntryAttrs.mode`, masked by the umask), never wider (without attrs: 0o666 masked by the umask, as
 * any new file). Safe to repeat: `stat`, `available`, `probe`, `remove` of a missing path.
 * How a target writes (temp files, their names, their clean-up) is its own business: its `list`
 * never shows them, and `reservedName` tells the names a source file cannot be copied under.
 */
export interface Target extends Tree {
  /** Walks the target as a Tree does, leaving out its own temp files and what `exclude` names. */
  list(options?: TargetListOptions): AsyncIterable<ListBatch>;
  /**
   * Measures the target's capabilities by writing a small probe file in the root, then removing it
   * and putting the root's times back (its ctime still moves: call it once, not on every run).
   */
  probe(): Promise<TargetCaps>;
  /**
   * Starts writing `rel` through a temp file. Creates missing parent directories. What stands in
   * the way (a file or symlink where a directory goes, an empty directory where the file goes) is
   * replaced when the target replaces (a symlink's target is never touched), else rejects ENOTDIR
   * or EISDIR (here or at the latest at `commit`); a directory that is not empty rejects EISDIR with
   * `notEmpty` (the mirror may remove it).
   * `keepPartial`: reuse a temp file a stopped run left (see `WriteHandle.kept`).
   */
  openWrite(rel: string, attrs?: EntryAttrs, options?: { keepPartial?: boolean }): Promise<WriteHandle>;
  /** Creates (or replaces) a symlink atomically, then sets its times. */
  symlink(rel: string, linkTarget: string, times: FileTimes, attrs?: EntryAttrs): Promise<void>;
  /** Creates a directory and any missing parents (replacing a file in the way, as openWrite); no error if it exists. */
  mkdir(rel: string, attrs?: EntryAttrs): Promise<void>;
  /**
   * Renames the file or symlink `from` to `to` (missing parents made), never over anything: rejects
   * EEXIST when something is at `to`, ENOENT when `from` is gone, EISDIR for a directory. Optional:
   * a target without it is written by copy and remove.
   */
  rename?(from: string, to: string): Promise<void>;
  /** Sets the times of an existing entry without following a final symlink. */
  setTimes(rel: string, times: FileTimes): Promise<void>;
  /**
   * Removes a file, symlink or empty directory; with `trashDir`, moves it there under the same
   * relative path instead. Resolves with the trash path, or undefined when deleted.
   * ENOENT is not an error (already gone resolves undefined); a non-empty directory rejects ENOTEMPTY;
   * a parent that is no longer a real directory rejects ENOTDIR (nothing is deleted through a link).
   */
  remove(rel: string, options?: { trashDir?: string }): Promise<string | undefined>;
  /**
   * Removes the temp file that `worker`, another process of the same shared job (its host:pid),
   * was writing for `rel` when it died: the file is now this worker's to copy. ENOENT is not an error.
   */
  dropTempOf?(rel: string, worker: string): Promise<void>;
  /**
   * Optional fast path for small files: writes all of `data` through a temp file, renames it,
   * sets the times and re-stats, in one call. NOT flushed to stable storage: the caller must call
   * `flushAll` before it records the file as safe. Present only together with `flushAll`.
   */
  writeWhole?(rel: string, data: Uint8Array, times: FileTimes, attrs?: EntryAttrs): Promise<FileEntry>;
  /**
   * Flushes everything written so far on this target to stable storage (syncfs): file data not yet
   * flushed, and the renames that gave files and symlinks their final names.
   */
  flushAll?(): Promise<void>;
  /**
   * The destination entries the plan replaces (a file where the source now has a directory, or the
   * other way), as the scan saw them: a file or directory in the way that is not one of these (put
   * there by another process meanwhile) fails its path instead. Symlinks in the way are replaced.
   */
  planReplacements?(entries: Array<{ rel: string; kind: string; size: bigint; modifiedNs: bigint }>): void;
  /** Bytes a stopped run left in the temp file of `rel` (kept with --partial), 0 when none. */
  partialSize?(rel: string): Promise<number>;
  /** Releases what the target holds open (so a drive can be unmounted); safe to call twice. */
  close?(): Promise<void>;
  /**
   * Names this target uses for its own files (never user data): a source file named so is not
   * copied (it would be taken for one of them), and a directory holding one is always listed again.
   */
  readonly reservedName: RegExp;
}

export interface TargetListOptions extends ListOptions {
  /** Relative paths not to walk (a trash directory inside the target). */
  exclude?: string[];
  /**
   * Remove the temp files interrupted writes left (another job's only once old enough that no live
   * writer can own them), counting them in `ListBatch.removedTemps`. Off for a dry run.
   */
  tidy?: boolean;
}
