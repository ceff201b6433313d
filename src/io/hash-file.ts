import { open } from 'node:fs/promises';
import { createHasher, type Algorithm } from '../core/hash.js';
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
 */
export async function hashFile(path: string, algorithm: Algorithm = 'sha256'): Promise<HashedFile | undefined> {
  const fh = await withNoatimeAsync((flags) => open(path, flags));
  try {
    const before = await fh.stat({ bigint: true });
    if (!before.isFile()) return undefined;
    const hasher = createHasher(algorithm);
    const buf = Buffer.allocUnsafe(CHUNK);
    let total = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
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
