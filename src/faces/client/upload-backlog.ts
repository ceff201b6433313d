import type { Target } from '../../core/target.js';
import type { Tree } from '../../core/tree.js';
import { transferList, type Moved } from '../../engine/list-backlog.js';
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
export type Sent = Moved;

const WORDS = { changed: 'it changed while it was sent; it is sent again once it settles', gone: 'it is gone' };

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
  // The copy's 20 × 5 MiB queue is for long streams between disks; a client moves a few files at a
  // time, often on every change, and a large pool per transfer is garbage to collect each time.
  const listed = files.map((f) => ({ sourceRel: f.path, destRel: f.path, entry: { size: f.entry.size, mtimeNs: f.entry.mtimeNs } }));
  return transferList(source, target, listed, { blockSize: CLIENT_BLOCK, queueCapacity: 8, algorithm: 'sha256', timeToleranceNs, partial: true, signal, words: WORDS });
}
