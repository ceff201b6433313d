import { basename, dirname } from 'node:path';
import type { Target } from '../core/target.js';
import { LocalTree } from '../targets/local-tree.js';

const CHUNK = 1024 * 1024;

/**
 * Copies one local file into a Target under `rel` through the Target's write path: a temp file,
 * every byte, flush, rename over the name, the source's times. The source is only read. Resolves
 * with the size copied; a source that changed while read rejects with ECHANGED and leaves nothing.
 */
export async function placeFile(sourcePath: string, target: Target, rel: string): Promise<number> {
  const src = await new LocalTree(dirname(sourcePath)).openRead(basename(sourcePath));
  try {
    const before = await src.stat();
    const handle = await target.openWrite(rel, { mode: before.mode & 0o7777, uid: before.uid, gid: before.gid });
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      let at = 0;
      for (;;) {
        const n = await src.read(buf, 0, CHUNK, at);
        if (n === 0) break;
        await handle.write(buf.subarray(0, n), at);
        at += n;
      }
      const after = await src.stat();
      if (after.size !== before.size || after.mtimeNs !== before.mtimeNs || BigInt(at) !== after.size) {
        throw Object.assign(new Error(`${sourcePath} changed while it was copied`), { code: 'ECHANGED' });
      }
      await handle.commit({ atimeNs: after.atimeNs, mtimeNs: after.mtimeNs });
      return at;
    } catch (e) {
      await handle.abort();
      throw e;
    }
  } finally {
    await src.close();
  }
}
