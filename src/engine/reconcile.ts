import { describeFileError, fileError } from '../core/errors.js';
import type { IndexRoot, IndexStore, OperationCounts, OperationType, SeenFile } from '../core/index-store.js';
import { mapLimit } from '../core/map-limit.js';
import type { IdentityMatch, Tree } from '../core/tree.js';
import { legacyIdentity } from '../io/fs-identity.js';
import { hashEntry } from './hash-entry.js';

export interface ReconcileOptions {
  /** The root's tree: walked, hashed and checked through it. */
  tree: Tree;
  /** Files compared against the records per Store transaction (seed default 100). */
  batchSize: number;
  /** Files hashed at once (seed default 4). */
  concurrency: number;
  /** Whether to hash new and changed files (sha256). */
  hashes: boolean;
  /** False for a path the index leaves out. */
  keep: (rel: string) => boolean;
  signal?: AbortSignal;
}

export interface ReconcileResult extends OperationCounts {
  operationId: number;
  status: 'completed' | 'failed';
  error?: string;
  /** What the user should know that did not stop it (a root recreated in place). */
  notices: string[];
}

/**
 * Why the root cannot be trusted to list what it holds, or undefined. A root that is gone, not a
 * directory, another directory than the one added (device and inode), or empty while records
 * exist (an unmounted share) must not make its records look orphaned.
 */
async function untrustedRoot(store: IndexStore, root: IndexRoot, tree: Tree, notices: string[]): Promise<string | undefined> {
  let names: unknown[];
  try {
    const st = await tree.stat('');
    if (!st) throw fileError('ENOENT', 'it is not there');
    if (st.kind !== 'dir') return `the root ${root.path} is not a directory`;
    // A root added before ferry kept identities is compared by its device and inode alone.
    const was = root.identity ?? legacyIdentity(root.device, root.inode);
    const sameness: IdentityMatch = was !== undefined && tree.compareIdentity ? await tree.compareIdentity(was) : 'same';
    if (sameness === 'other-filesystem') {
      return `the root ${root.path} is on another filesystem than the one it was added on (an unmounted share, or another one mounted in its place?)`;
    }
    if (sameness === 'other-directory') {
      // The same filesystem, another directory (renamed away and made again, restored): the index
      // follows what is at the root's path now, and says so.
      notices.push(`the root ${root.path} is another directory than the one indexed before (renamed away and made again?); indexing what is there now`);
    }
    if (sameness !== 'same' || !root.identity) {
      const now = await tree.identity?.();
      if (now !== undefined) await store.setRootIdentity(root.id, now);
    }
    names = await tree.entries('');
  } catch (err) {
    return `the root ${root.path} cannot be read (${describeFileError(err)})`;
  }
  if (names.length === 0 && (await store.countRecords(root.id)) > 0) {
    return `the root ${root.path} is empty while the index holds files for it (an unmounted share?)`;
  }
  return undefined;
}

/**
 * Tier 2 (seed 003): walks the root, compares every file with its record (size and mtime), hashes
 * only what is new or changed, writes in batches, then removes the records the walk did not see
 * (by scan generation). Recorded as one `sync_operations` row of `type`. A root that cannot be
 * trusted, or a walk that met errors, removes nothing: the operation fails and says why.
 */
export async function reconcile(store: IndexStore, root: IndexRoot, type: OperationType, o: ReconcileOptions): Promise<ReconcileResult> {
  const operationId = await store.startOperation(root.id, type);
  const counts: OperationCounts = { filesScanned: 0, filesAdded: 0, filesUpdated: 0, filesRemoved: 0 };
  const finish = async (error?: string): Promise<ReconcileResult> => {
    const status = error ? 'failed' : 'completed';
    await store.finishOperation(operationId, status, counts, error);
    return { operationId, status, ...counts, ...(error ? { error } : {}), notices };
  };
  const notices: string[] = [];
  const why = await untrustedRoot(store, root, o.tree, notices);
  if (why) return finish(`${why}; its records are kept`);

  const generation = await store.nextGeneration(root.id);
  const errors: string[] = []; // the walk's: a directory it could not read would make its files look gone
  const unreadable: string[] = []; // files listed but not hashed: recorded without a hash, nothing removed for them
  const flush = async (batch: Array<{ rel: string; size: number; mtimeNs: bigint }>): Promise<void> => {
    const records = await store.recordsFor(root.id, batch.map((f) => f.rel));
    const touched: string[] = [];
    const changed = batch.filter((f) => {
      const r = records.get(f.rel);
      const same = r !== undefined && r.fileSize === f.size && r.modTimeNs === f.mtimeNs && (!o.hashes || r.contentHash !== null);
      if (same) touched.push(f.rel);
      return !same;
    });
    const seen = await mapLimit(changed, o.concurrency, async (f): Promise<SeenFile | undefined> => {
      if (!o.hashes) return { filePath: f.rel, fileSize: f.size, modTimeNs: f.mtimeNs, contentHash: null };
      try {
        const h = await hashEntry(o.tree, f.rel, 'sha256', f.size);
        // Changed while read: recorded without a hash now, hashed by the next look at it.
        if (!h) return { filePath: f.rel, fileSize: f.size, modTimeNs: f.mtimeNs, contentHash: null };
        return { filePath: f.rel, fileSize: h.size, modTimeNs: h.mtimeNs, contentHash: h.hash };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // gone since the walk
        unreadable.push(`${f.rel}: ${describeFileError(err)}`);
        return { filePath: f.rel, fileSize: f.size, modTimeNs: f.mtimeNs, contentHash: null };
      }
    });
    const put = await store.putRecords(root.id, generation, seen.filter((s): s is SeenFile => s !== undefined), touched);
    counts.filesAdded += put.added;
    counts.filesUpdated += put.updated;
  };

  let batch: Array<{ rel: string; size: number; mtimeNs: bigint }> = [];
  for await (const b of o.tree.list({ signal: o.signal })) {
    for (const e of b.errors) errors.push(`${e.rel || '.'}: ${e.message}`);
    for (const e of b.entries) {
      if (e.kind !== 'file' || !o.keep(e.rel)) continue;
      counts.filesScanned++;
      batch.push({ rel: e.rel, size: Number(e.size), mtimeNs: e.mtimeNs });
      if (batch.length >= o.batchSize) {
        await flush(batch);
        batch = [];
      }
    }
  }
  if (o.signal?.aborted) return finish('stopped before the walk finished; nothing was removed');
  if (batch.length > 0) await flush(batch);
  if (errors.length > 0) {
    return finish(`${errors.length} path(s) could not be read, so no record was removed (first: ${errors[0]})`);
  }
  counts.filesRemoved = await store.removeOrphans(root.id, generation);
  return finish(unreadable.length > 0 ? `${unreadable.length} file(s) could not be read to hash (first: ${unreadable[0]})` : undefined);
}
