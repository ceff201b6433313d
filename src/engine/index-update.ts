import { describeFileError } from '../core/errors.js';
import type { IndexRoot, IndexStore, OperationCounts, SeenFile } from '../core/index-store.js';
import { mapLimit } from '../core/map-limit.js';
import type { Tree } from '../core/tree.js';
import { hashEntry } from './hash-entry.js';

export interface UpdateOptions {
  /** The root's tree: looked at and hashed through it. */
  tree: Tree;
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
 * Looks again at every file of the directories the reported paths sit in, and at those whose size
 * or mtime differ from their records. inotify watchers are known to lose events when a file is
 * created and at once renamed over another (an editor's save, a `git checkout`): activity in a
 * directory is the hint to check the whole directory, not only the names reported.
 */
async function sweepParents(
  store: IndexStore, root: IndexRoot, tree: Tree, reported: string[], look: (rel: string) => Promise<void>, result: UpdateResult,
): Promise<void> {
  const dirs = new Set(reported.map((p) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '')));
  for (const dir of dirs) {
    let listing;
    try {
      listing = await tree.entries(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') result.errors.push(`${dir || '.'}: ${describeFileError(err)}`);
      continue;
    }
    const files = listing.filter((e) => e.kind === 'file');
    const records = await store.recordsFor(root.id, files.map((f) => f.rel));
    const stale = files.filter((f) => {
      const r = records.get(f.rel);
      return !r || r.fileSize !== Number(f.size) || r.modTimeNs !== f.mtimeNs;
    });
    await mapLimit(stale.map((f) => f.rel), 16, look);
  }
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
  /** Paths that are no longer regular files (now a directory, a symlink): their own record goes, not what is below. */
  const notFiles: string[] = [];
  const seen: SeenFile[] = [];
  const looked = new Set<string>(); // a new directory and its files may both be reported: look once
  const look = async (rel: string): Promise<void> => {
    if (looked.has(rel)) return;
    looked.add(rel);
    let st;
    try {
      st = await o.tree.stat(rel);
    } catch (err) {
      result.errors.push(`${rel}: ${describeFileError(err)}`);
      return;
    }
    if (!st) {
      gone.push(rel);
      return;
    }
    if (st.kind === 'dir') {
      notFiles.push(rel);
      for await (const b of o.tree.list({ under: rel })) {
        for (const e of b.errors) result.errors.push(`${e.rel}: ${e.message}`);
        await mapLimit(b.entries.filter((e) => e.kind === 'file'), o.concurrency ?? 16, (e) => look(e.rel));
      }
      return;
    }
    if (st.kind !== 'file') {
      notFiles.push(rel);
      return;
    }
    if (!o.keep(rel)) return;
    result.filesScanned++;
    if (Date.now() - Number(st.mtimeNs / 1_000_000n) < o.settleMs) {
      result.deferred.push(rel); // still being written, perhaps: wait until it has settled
      return;
    }
    if (!o.hashes) {
      seen.push({ filePath: rel, fileSize: Number(st.size), modTimeNs: st.mtimeNs, contentHash: null });
      return;
    }
    try {
      const h = await hashEntry(o.tree, rel, 'sha256', Number(st.size));
      if (!h) result.deferred.push(rel);
      else seen.push({ filePath: rel, fileSize: h.size, modTimeNs: h.mtimeNs, contentHash: h.hash });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') gone.push(rel);
      else result.errors.push(`${rel}: ${describeFileError(err)}`);
    }
  };
  const reported = [...paths];
  await mapLimit(reported, o.concurrency ?? 16, look);
  await sweepParents(store, root, o.tree, reported, look, result);
  if (seen.length > 0) {
    // Realtime updates keep the root's current generation: only a reconciliation moves it on.
    const generation = await store.currentGeneration(root.id);
    const put = await store.putRecords(root.id, generation, seen, []);
    result.filesAdded += put.added;
    result.filesUpdated += put.updated;
  }
  if (gone.length > 0) result.filesRemoved += await store.removeRecords(root.id, gone);
  if (notFiles.length > 0) result.filesRemoved += await store.removeRecords(root.id, notFiles, { below: false });
  return result;
}
