import { createHasher, type Algorithm } from '../core/hash.js';
import { closeFd, readAt, statFd } from './fd.js';
import { fsPool } from './fs-pool.js';

export interface HashedFile {
  hash: string;
  size: number;
  mtimeNs: bigint;
}

const CHUNK = 1024 * 1024;

/**
 * Hashes the file `rel` below `root` read-only (O_NOATIME where permitted, never through a symlink,
 * on the way or at the end). Resolves undefined when the file changed while it was read (size or
 * mtime moved): the caller tries again later rather than record a hash of bytes that were never on
 * disk together. A file of at most 1 MiB (by `sizeHint`) is read and hashed in one call on the I/O
 * threads, as the copy's small files are: an async open/read/close per file costs more than the hashing.
 */
export async function hashFile(root: string, rel: string, algorithm: Algorithm = 'sha256', sizeHint?: number): Promise<HashedFile | undefined> {
  if (sizeHint !== undefined && sizeHint <= CHUNK) {
    const r = await fsPool().call('read', { root, rel, algorithm, maxSize: CHUNK, hashOnly: true });
    if (r.kind === 'changed') return undefined;
    if (r.kind === 'read') return { hash: r.hash!, size: Number(r.entry.size), mtimeNs: r.entry.mtimeNs };
    // It grew past 1 MiB since it was listed: stream it.
  }
  const fd = await fsPool().call('openSource', { root, rel });
  try {
    const before = await statFd(fd);
    if (!before.isFile()) return undefined;
    const hasher = createHasher(algorithm);
    const buf = Buffer.allocUnsafe(Number(before.size < BigInt(CHUNK) ? before.size : BigInt(CHUNK)) || 1);
    let total = 0;
    for (;;) {
      const bytesRead = await readAt(fd, buf, 0, buf.length, total);
      if (bytesRead === 0) break;
      hasher.update(buf.subarray(0, bytesRead));
      total += bytesRead;
    }
    const after = await statFd(fd);
    if (after.size !== before.size || after.mtimeNs !== before.mtimeNs || BigInt(total) !== after.size) return undefined;
    return { hash: hasher.digest(), size: total, mtimeNs: after.mtimeNs };
  } finally {
    await closeFd(fd);
  }
}
