import type { Backlog, BacklogItem, SyncedRow } from '../../core/backlog.js';
import { PIPELINE_DEFAULTS } from '../../core/defaults.js';
import type { Emit } from '../../core/events.js';
import type { Target } from '../../core/target.js';
import type { Tree } from '../../core/tree.js';
import { StatsTracker } from '../../engine/stats.js';
import { transferBacklog } from '../../engine/transfer.js';
import type { RemoteTarget } from '../../targets/remote.js';
import type { Seen } from './local-hash.js';

/** Blocks of a client's transfers (the RemoteTarget gathers them into PUTs of 8 MiB). */
const CLIENT_BLOCK = 1024 * 1024;

/** A file to send, as the client hashed it. */
export interface Outgoing {
  path: string;
  sha256: string;
  base: string | null;
  entry: Seen;
}

/** A file moved: its hash as read, and the size and mtime it was written with (what the client records). */
export type Sent = { ok: true; hash: string | null; size: bigint; mtimeNs: bigint } | { ok: false; error: string };

/** The files one transfer moves (up or down), as a Backlog for the engine: every outcome kept by path. */
class UploadBacklog implements Backlog {
  readonly outcomes = new Map<string, Sent>();
  private readonly items: BacklogItem[];

  constructor(files: Outgoing[]) {
    this.items = files.map((f, i) => ({
      id: i + 1,
      sourceRel: f.path,
      destRel: f.path,
      kind: 'file',
      size: f.entry.size,
      modifiedNs: f.entry.mtimeNs,
      accessedNs: f.entry.mtimeNs,
      permissions: 0o644,
      uid: 0,
      gid: 0,
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
    this.outcomes.set(this.pathOf(id), { ok: false, error: 'it changed while it was sent; it is sent again once it settles' });
  }

  async forget(id: number): Promise<void> {
    this.outcomes.set(this.pathOf(id), { ok: false, error: 'it is gone' });
  }
}

/**
 * Sends files through the one engine: the pipeline reads each from the sync directory (hashed
 * while read, SHA-256) into the RemoteTarget, which streams it to the server (one multipart POST for
 * a small file, a resumable session for a large one, gone on from after a cut). Each file's
 * declared size, SHA-256 and base go first (`expect`), so the server checks them before the file
 * gets its name, and keeps both versions when the base is stale.
 */
export async function sendFiles(source: Tree, target: RemoteTarget, files: Outgoing[], signal: AbortSignal): Promise<Map<string, Sent>> {
  for (const f of files) {
    target.expect(f.path, { size: f.entry.size, sha256: f.sha256, baseSha256: f.base ?? '', mtimeNs: f.entry.mtimeNs, onConflict: 'keep-both' });
  }
  return transferFiles(source, target, files, signal, 1n); // the server keeps the nanosecond (a difference under 1 ns: equal)
}

/**
 * Fetches files from the server (a RemoteTarget read as a Tree) into the sync directory through the
 * engine: each lands through the LocalTarget (temp file, renamed, the server's mtime set); the hash
 * read on the way is each outcome's `hash`.
 */
export async function fetchFiles(server: Tree, local: Target, files: Outgoing[], signal: AbortSignal): Promise<Map<string, Sent>> {
  // Without ferry's native helper times are set to the microsecond: that still counts as kept.
  return transferFiles(server, local, files, signal, 1_000n);
}

async function transferFiles(source: Tree, target: Target, files: Outgoing[], signal: AbortSignal, timeToleranceNs: bigint): Promise<Map<string, Sent>> {
  const backlog = new UploadBacklog(files);
  const quiet: Emit = () => undefined;
  const stats = new StatsTracker(quiet);
  await transferBacklog({
    backlog,
    source,
    target,
    // The copy's 20 × 5 MiB queue is for long streams between disks; a client moves a few files at a
    // time, often on every change, and a large pool per transfer is garbage to collect each time.
    options: { ...PIPELINE_DEFAULTS, blockSize: CLIENT_BLOCK, queueCapacity: 8, algorithm: 'sha256', timeToleranceNs, partial: true },
    emit: quiet,
    stats,
    signal,
  });
  return backlog.outcomes;
}
