import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeFileError } from '../core/errors.js';
import type { IndexRoot, IndexStore, OperationCounts, SeenFile } from '../store/index-store.js';
import { hashFile } from '../io/hash-file.js';
import { mapLimit } from './reconcile.js';
import { walkTree } from './scan.js';

export interface UpdateOptions {
  hashes: boolean;
  keep: (rel: string) => boolean;
  /** A file modified less than this long ago may still be being written: it is deferred. */
  settleMs: number;
  /** Paths looked at at once (default 16: most of a look is waiting on the disk). */
  concurrency?: number;
}

export interface UpdateResult extends OperationCounts {
  /** Paths to look at again later (still being written, or changed while hashed). */
  deferred: string[];
  errors: string[];
}

/**
 * Applies what the watcher reported for some paths of a root (tier 1), looking at each path as it
 * is now: a file is hashed and recorded once its size and mtime have settled; a directory (new, or
 * moved in) is walked, since a watcher can miss what is created inside a brand-new directory;
 * a path that is gone removes its record and every record below it. Deletes are applied last.
 */
export async function applyChanges(store: IndexStore, root: IndexRoot, paths: Iterable<string>, o: UpdateOptions): Promise<UpdateResult> {
  const result: UpdateResult = { filesScanned: 0, filesAdded: 0, filesUpdated: 0, filesRemoved: 0, deferred: [], errors: [] };
  const gone: string[] = [];
  const seen: SeenFile[] = [];
  const look = async (rel: string): Promise<void> => {
    const abs = join(root.path, rel);
    let st;
    try {
      st = await lstat(abs, { bigint: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') gone.push(rel);
      else result.errors.push(`${rel}: ${describeFileError(err)}`);
      return;
    }
    if (st.isDirectory()) {
      for await (const b of walkTree(abs)) {
        for (const e of b.errors) result.errors.push(`${rel}/${e.rel}: ${e.message}`);
        await mapLimit(b.entries.filter((e) => e.kind === 'file'), o.concurrency ?? 16, (e) => look(`${rel}/${e.rel}`));
      }
      return;
    }
    if (!st.isFile() || !o.keep(rel)) return;
    result.filesScanned++;
    if (Date.now() - Number(st.mtimeMs) < o.settleMs) {
      result.deferred.push(rel); // still being written, perhaps: wait until it has settled
      return;
    }
    if (!o.hashes) {
      seen.push({ filePath: rel, fileSize: Number(st.size), modTimeNs: st.mtimeNs, contentHash: null });
      return;
    }
    try {
      const h = await hashFile(abs, 'sha256', Number(st.size));
      if (!h) result.deferred.push(rel);
      else seen.push({ filePath: rel, fileSize: h.size, modTimeNs: h.mtimeNs, contentHash: h.hash });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') gone.push(rel);
      else result.errors.push(`${rel}: ${describeFileError(err)}`);
    }
  };
  await mapLimit([...paths], o.concurrency ?? 16, look);
  if (seen.length > 0) {
    // Realtime updates keep the root's current generation: only a reconciliation moves it on.
    const generation = await store.currentGeneration(root.id);
    const put = await store.putRecords(root.id, generation, seen, []);
    result.filesAdded += put.added;
    result.filesUpdated += put.updated;
  }
  if (gone.length > 0) result.filesRemoved += await store.removeRecords(root.id, gone);
  return result;
}
