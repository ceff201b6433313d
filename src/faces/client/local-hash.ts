import { hashEntry } from '../../engine/hash-entry.js';
import type { FileEntry } from '../../core/entry.js';
import { fileError } from '../../core/errors.js';
import type { Tree } from '../../core/tree.js';

/** What the client knows of a local file's state: enough to tell it changed. */
export type Seen = Pick<FileEntry, 'size' | 'mtimeNs'>;

/** SHA-256 of a local file, read through its tree (never through a link); ECHANGED when it moved while read. */
export async function hashLocal(tree: Tree, rel: string): Promise<{ sha256: string; entry: Seen }> {
  const r = await hashEntry(tree, rel, 'sha256');
  if (!r) throw fileError('ECHANGED', `${rel} changed while it was read, or is not a regular file`);
  return { sha256: r.hash, entry: { size: BigInt(r.size), mtimeNs: r.mtimeNs } };
}
