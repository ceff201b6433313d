import { open } from 'node:fs/promises';
import { createHasher, type Algorithm } from '../core/hash.js';
import { fsPool } from './fs-pool.js';
import { withNoatimeAsync } from './open-flags.js';

export interface HashedFile {
  hash: string;
  size: number;
  mtimeNs: bigint;
}

const CHUNK = 1024 * 1024;

/**
 * Hashes a whole file read-only (O_NOATIME where permitted, never through a final symlink).
 * Resolves undefined when the file changed while it was read (size or mtime moved): the caller
 * tries again later rather than record a hash of bytes that were never on disk together.
 * A file of at most 1 MiB (by `sizeHint`) is read and hashed in one call on the I/O threads, as the
 * copy's small files are: an async open/read/close per file costs more than the hashing.
 */
export async function hashFile(path: string, algorithm: Algorithm = 'sha256', sizeHint?: number): Promise<HashedFile | undefined> {
  if (sizeHint !== undefined && sizeHint <= CHUNK) {
    const r = await fsPool().read(path, path, algorithm, CHUNK, true);
    if (r.kind === 'changed') return undefined;
    if (r.kind === 'read') return { hash: r.hash!, size: Number(r.entry.size), mtimeNs: r.entry.mtimeNs };
    // It grew past 1 MiB since it was listed: stream it.
  }
  const fh = await withNoatimeAsync((flags) => open(path, flags));
  try {
    const before = await fh.stat({ bigint: true });
    if (!before.isFile()) return undefined;
    const hasher = createHasher(algorithm);
    const buf = Buffer.allocUnsafe(Number(before.size < BigInt(CHUNK) ? before.size : BigInt(CHUNK)) || 1);
    let total = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hasher.update(buf.subarray(0, bytesRead));
      total += bytesRead;
    }
    const after = await fh.stat({ bigint: true });
    if (after.size !== before.size || after.mtimeNs !== before.mtimeNs || BigInt(total) !== after.size) return undefined;
    return { hash: hasher.digest(), size: total, mtimeNs: after.mtimeNs };
  } finally {
    await fh.close();
  }
}
