import type { FileEntry } from './entry.js';

/**
 * What the engine's transfer copies: rows, each keyed by its `id`, from a Source (tree.ts) to a
 * Target (target.ts). The backlog is where a face's policy lives: which rows are pending, and where
 * each goes on the target (`destRel`: the copy keeps the source's path; route picks a free name on a
 * drive). The transfer knows nothing of jobs or drives; it hands every outcome back by row id.
 * Outcomes may come in any order and in batches; every method may reject (the run stops on it).
 */
export interface Backlog {
  /**
   * Up to `limit` pending rows with an id above `afterId`, in id order: only directories with
   * `dirs`, everything else with `entries` (a parent directory is made before the files in it).
   * Returning fewer than `limit` rows does not mean the end: only an empty page does.
   */
  pendingAfter(afterId: number, limit: number, kinds?: 'dirs' | 'entries'): Promise<BacklogItem[]>;
  /** The rows are copied and their bytes safe on the target (flushed): record them. */
  markSynced(rows: SyncedRow[]): Promise<void>;
  /** The row failed for `error` (one sentence); it is tried again by a later run. */
  markFailed(id: number, error: string): Promise<void>;
  /** The source entry changed while it was read (`entry` as it is now, when it is still there). */
  requeue(id: number, entry: FileEntry | undefined): Promise<void>;
  /** The source entry is gone: nothing to copy. */
  forget(id: number): Promise<void>;
}

/** One pending row: a source entry as scanned, and its place on the target. */
export interface BacklogItem {
  id: number;
  /** The entry's path in the source tree. */
  sourceRel: string;
  /** Where it goes on the target: the face's decision. */
  destRel: string;
  kind: 'file' | 'dir' | 'symlink';
  size: bigint;
  modifiedNs: bigint;
  accessedNs: bigint;
  /** Permission bits, owner and group of the source entry (what a copy is created with). */
  permissions: number;
  uid: number;
  gid: number;
}

/** A row copied: what was written, as the transfer read it. */
export interface SyncedRow {
  id: number;
  hash: string | null;
  algorithm: string | null;
  size: bigint;
  modifiedNs: bigint;
}
