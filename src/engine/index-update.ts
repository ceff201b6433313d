import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeFileError } from '../core/errors.js';
import type { IndexRoot, IndexStore, OperationCounts, SeenFile } from '../core/index-store.js';
import { hashFile } from '../io/hash-file.js';
import { F, FIELDS, listDir } from '../io/list-dir.js';
import { mapLimit } from '../core/map-limit.js';
import { walkTree } from '../io/walk.js';

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
 * Looks again at every file of the directories the reported paths sit in, and at those whose size
 * or mtime differ from their records. inotify watchers are known to lose events when a file is
 * created and at once renamed over another (an editor's save, a `git checkout`): activity in a
 * directory is the hint to check the whole directory, not only the names reported.
 */
async function sweepParents(
  store: IndexStore, root: IndexRoot, reported: string[], look: (rel: string) => Promise<void>, result: UpdateResult,
): Promise<void> {
  const dirs = new Set(reported.map((p) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '')));
  for (const dir of dirs) {
    let listing;
    try {
      listing = listDir(root.path, dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') result.errors.push(`${dir || '.'}: ${describeFileError(err)}`);
      continue;
    }
    const files = listing.names
      .map((name, i) => ({ rel: dir === '' ? name : `${dir}/${name}`, at: i * FIELDS }))
      .filter((f) => listing.fields[f.at + F.kind] === 0n);
    const records = await store.recordsFor(root.id, files.map((f) => f.rel));
    const stale = files.filter((f) => {
      const r = records.get(f.rel);
      const mtimeNs = listing.fields[f.at + F.mtimeS]! * 1_000_000_000n + listing.fields[f.at + F.mtimeNs]!;
      return !r || r.fileSize !== Number(listing.fields[f.at + F.size]) || r.modTimeNs !== mtimeNs;
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
      notFiles.push(rel);
      for await (const b of walkTree(abs)) {
        for (const e of b.errors) result.errors.push(`${rel}/${e.rel}: ${e.message}`);
        await mapLimit(b.entries.filter((e) => e.kind === 'file'), o.concurrency ?? 16, (e) => look(`${rel}/${e.rel}`));
      }
      return;
    }
    if (!st.isFile()) {
      notFiles.push(rel);
      return;
    }
    if (!o.keep(rel)) return;
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
      const h = await hashFile(root.path, rel, 'sha256', Number(st.size));
      if (!h) result.deferred.push(rel);
      else seen.push({ filePath: rel, fileSize: h.size, modTimeNs: h.mtimeNs, contentHash: h.hash });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') gone.push(rel);
      else result.errors.push(`${rel}: ${describeFileError(err)}`);
    }
  };
  const reported = [...paths];
  await mapLimit(reported, o.concurrency ?? 16, look);
  await sweepParents(store, root, reported, look, result);
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
