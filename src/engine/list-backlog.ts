import type { Backlog, BacklogItem, SyncedRow } from '../core/backlog.js';
import { PIPELINE_DEFAULTS } from '../core/defaults.js';
import type { FileEntry } from '../core/entry.js';
import type { Emit } from '../core/events.js';
import type { Algorithm } from '../core/hash.js';
import type { Target } from '../core/target.js';
import type { Tree } from '../core/tree.js';
import { StatsTracker } from './stats.js';
import { transferBacklog } from './transfer.js';

/** One file of a list to move: where it is in the source tree, where it goes, and its entry as seen. */
export interface ListedFile {
  sourceRel: string;
  destRel: string;
  entry: Pick<FileEntry, 'size' | 'mtimeNs'> & Partial<Pick<FileEntry, 'atimeNs' | 'mode' | 'uid' | 'gid'>>;
}

/** A file moved: its hash as read, and the size and mtime it was written with. */
export type Moved = { ok: true; hash: string | null; size: bigint; mtimeNs: bigint } | { ok: false; error: string };

/**
 * A fixed list of files as a Backlog for the engine's transfer, for faces that move a few files
 * they chose themselves (a client's uploads and downloads, the vault's copies into its managed
 * repository): every outcome is kept by source path, nothing is retried within the run.
 */
export class ListBacklog implements Backlog {
  readonly outcomes = new Map<string, Moved>();
  private readonly items: BacklogItem[];

  constructor(
    files: readonly ListedFile[],
    private readonly words: { changed: string; gone: string } = { changed: 'it changed while it was read', gone: 'it is gone' },
  ) {
    this.items = files.map((f, i) => ({
      id: i + 1,
      sourceRel: f.sourceRel,
      destRel: f.destRel,
      kind: 'file',
      size: f.entry.size,
      modifiedNs: f.entry.mtimeNs,
      accessedNs: f.entry.atimeNs ?? f.entry.mtimeNs,
      permissions: f.entry.mode === undefined ? 0o644 : f.entry.mode & 0o7777,
      uid: f.entry.uid ?? 0,
      gid: f.entry.gid ?? 0,
    }));
  }

  private pathOf(id: number): string {
    return this.items[id - 1]!.sourceRel;
  }

  async pendingAfter(afterId: number, limit: number, kinds?: 'dirs' | 'entries'): Promise<BacklogItem[]> {
    if (kinds === 'dirs') return [];
    return this.items.filter((i) => i.id > afterId && !this.outcomes.has(i.sourceRel)).slice(0, limit);
  }

  async markSynced(rows: SyncedRow[]): Promise<void> {
    for (const r of rows) this.outcomes.set(this.pathOf(r.id), { ok: true, hash: r.hash, size: r.size, mtimeNs: r.modifiedNs });
  }

  async markFailed(id: number, error: string): Promise<void> {
    this.outcomes.set(this.pathOf(id), { ok: false, error });
  }

  async requeue(id: number): Promise<void> {
    this.outcomes.set(this.pathOf(id), { ok: false, error: this.words.changed });
  }

  async forget(id: number): Promise<void> {
    this.outcomes.set(this.pathOf(id), { ok: false, error: this.words.gone });
  }
}

export interface ListTransferOptions {
  algorithm: Algorithm | null;
  /** The largest mtime difference that still counts as kept. */
  timeToleranceNs: bigint;
  blockSize?: number;
  queueCapacity?: number;
  partial?: boolean;
  signal?: AbortSignal;
  words?: { changed: string; gone: string };
}

/** Moves a list of files from `source` to `target` through the engine's transfer; every outcome by source path. */
export async function transferList(source: Tree, target: Target, files: readonly ListedFile[], o: ListTransferOptions): Promise<Map<string, Moved>> {
  const backlog = new ListBacklog(files, o.words);
  const quiet: Emit = () => undefined;
  await transferBacklog({
    backlog,
    source,
    target,
    options: {
      ...PIPELINE_DEFAULTS,
      ...(o.blockSize ? { blockSize: o.blockSize } : {}),
      ...(o.queueCapacity ? { queueCapacity: o.queueCapacity } : {}),
      algorithm: o.algorithm,
      timeToleranceNs: o.timeToleranceNs,
      partial: o.partial,
    },
    emit: quiet,
    stats: new StatsTracker(quiet),
    signal: o.signal ?? new AbortController().signal,
  });
  return backlog.outcomes;
}
