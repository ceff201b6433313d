import { createHasher, type Algorithm } from '../core/hash.js';
import type { Tree } from '../core/tree.js';

export interface HashedEntry {
  hash: string;
  size: number;
  mtimeNs: bigint;
}

const CHUNK = 1024 * 1024;

/**
 * Hashes the file `rel` of `tree`, read as a copy reads it (never through a symlink). Resolves
 * undefined when it is not a regular file or changed while it was read (size or mtime moved): the
 * caller tries again later rather than record a hash of bytes that were never there together. A
 * file of at most 1 MiB (by `sizeHint`) is read and hashed in one call, as the copy's small files are.
 */
export async function hashEntry(tree: Tree, rel: string, algorithm: Algorithm, sizeHint?: number): Promise<HashedEntry | undefined> {
  if (sizeHint !== undefined && sizeHint <= CHUNK) {
    const r = await tree.readWhole(rel, CHUNK, algorithm, { hashOnly: true });
    if (r.kind === 'changed') return undefined;
    if (r.kind === 'read') return { hash: r.hash!, size: Number(r.entry.size), mtimeNs: r.entry.mtimeNs };
    // It grew past 1 MiB since it was listed: stream it.
  }
  const fh = await tree.openRead(rel);
  try {
    const before = await fh.stat();
    if (before.kind !== 'file') return undefined;
    const hasher = createHasher(algorithm);
    const buf = Buffer.allocUnsafe(Number(before.size < BigInt(CHUNK) ? before.size : BigInt(CHUNK)) || 1);
    let total = 0;
    for (;;) {
      const n = await fh.read(buf, 0, buf.length, total);
      if (n === 0) break;
      hasher.update(buf.subarray(0, n));
      total += n;
    }
    const after = await fh.stat();
    if (after.size !== before.size || after.mtimeNs !== before.mtimeNs || BigInt(total) !== after.size) return undefined;
    return { hash: hasher.digest(), size: total, mtimeNs: after.mtimeNs };
  } finally {
    await fh.close();
  }
}
