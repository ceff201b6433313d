import { basename, dirname } from 'node:path';
import type { Target } from '../core/target.js';
import { LocalTree } from '../targets/local-tree.js';

const CHUNK = 1024 * 1024;
/** Files up to this size are read whole and written in one call, flushed together by `placed`. */
const WHOLE = 1024 * 1024;

/**
 * Copies one local file into a Target under `rel` through the Target's write path: a temp file,
 * every byte, rename over the name, the source's times. The source is only read. Resolves with the
 * size copied; a source that changed while read rejects with ECHANGED and leaves nothing. A small
 * file is written whole and is durable only after `placed(target)` (one syncfs for all of them); a
 * larger one is streamed and flushed on its own.
 */
export async function placeFile(sourcePath: string, target: Target, rel: string): Promise<number> {
  if (target.writeWhole && target.flushAll) {
    const whole = await new LocalTree(dirname(sourcePath)).readWhole(basename(sourcePath), WHOLE, null);
    if (whole.kind === 'changed') throw Object.assign(new Error(`${sourcePath} changed while it was copied`), { code: 'ECHANGED' });
    if (whole.kind === 'read') {
      const e = whole.entry;
      await target.writeWhole(rel, whole.data, { atimeNs: e.atimeNs, mtimeNs: e.mtimeNs }, { mode: e.mode & 0o7777, uid: e.uid, gid: e.gid });
      return whole.data.length;
    }
  }
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

/** Makes every small file `placeFile` wrote durable (one flush of the target's filesystem). */
export async function placed(target: Target): Promise<void> {
  await target.flushAll?.();
}
