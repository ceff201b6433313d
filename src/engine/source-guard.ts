import { fileError } from '../core/errors.js';
import type { IdentityMatch, Tree } from '../core/tree.js';
import { legacyIdentity, parseIdentity } from '../io/fs-identity.js';
import type { JobInfo, SourceMount, Store } from '../core/store.js';

/**
 * What keeps the mirror from taking a source that is not there for a source that is empty: the
 * source root and every filesystem mounted inside it are recorded by what survives a remount
 * (io/fs-identity.ts), and compared before anything is deleted.
 */

/** Records the source root's identity the first time a job scans it (and for a job begun before ferry kept one). */
export async function recordSourceRoot(store: Store, source: Tree, job: JobInfo): Promise<void> {
  if (job.sourceIdentity !== null || !source.identity) return;
  // A job that recorded only the device and inode adopts an identity only while those still hold.
  const legacy = legacyIdentity(job.sourceDevice, job.sourceInode);
  if (legacy && source.compareIdentity && (await source.compareIdentity(legacy)) !== 'same') return;
  const id = await source.identity();
  if (id === undefined) return;
  const parsed = parseIdentity(id);
  await store.saveJobFacts(parsed ? { sourceDevice: BigInt(parsed.dev), sourceInode: BigInt(parsed.ino), sourceIdentity: id } : { sourceIdentity: id });
}

/** Why the source root is not the one the job began with, or undefined when it is. */
export async function sourceRootChanged(source: Tree, job: JobInfo): Promise<string | undefined> {
  const root = await source.stat('');
  if (!root) throw fileError('ENOENT', 'it is not there');
  if (root.kind !== 'dir') return `the source root ${job.sourceRoot} is not a directory`;
  const was = parseIdentity(job.sourceIdentity) ? job.sourceIdentity! : legacyIdentity(job.sourceDevice, job.sourceInode);
  const sameness: IdentityMatch = was && source.compareIdentity ? await source.compareIdentity(was) : 'same';
  if (sameness === 'other-filesystem') {
    return `the source root ${job.sourceRoot} is on another filesystem than when this job began (an unmounted share, or another one mounted in its place?); if this filesystem is the source now (a disk replaced, its data restored), start a new job for it with another --db`;
  }
  if (sameness === 'other-directory') {
    return `the source root ${job.sourceRoot} is not the directory this job began with (another tree put in its place?); to mirror the new tree, start a new job with another --db`;
  }
  return undefined;
}

/**
 * Compares the filesystems this scan found mounted inside the source with those recorded: one
 * recorded and not found again (unmounted), or found with another identity (another filesystem in
 * its place), is `missing`, and keeps its record, so the mirror deletes nothing below it until it is
 * back. `accept` (--rescan) takes what is mounted now as the truth. Resolves the missing ones.
 */
export async function checkSourceMounts(store: Store, source: Tree, found: string[], accept: boolean): Promise<SourceMount[]> {
  const now = new Map<string, string>();
  for (const rel of found) {
    try {
      const id = await source.identity?.(rel);
      if (id !== undefined) now.set(rel, id);
    } catch {
      // gone since the walk: not mounted now
    }
  }
  const recorded = accept ? [] : await store.sourceMounts();
  const next: SourceMount[] = [];
  for (const m of recorded) {
    const missing = !now.has(m.rel) || !source.compareIdentity || (await source.compareIdentity(m.identity, m.rel).catch(() => 'gone')) !== 'same';
    next.push({ rel: m.rel, identity: m.identity, missing });
    now.delete(m.rel);
  }
  for (const [rel, identity] of now) next.push({ rel, identity, missing: false });
  await store.setSourceMounts(next);
  return next.filter((m) => m.missing);
}

/** The reason the mirror keeps everything below a missing mount. */
export function missingMountReason(m: SourceMount): string {
  const fs = parseIdentity(m.identity)?.fs.split(' ')[0] ?? 'a filesystem';
  return `${m.rel} held a filesystem (${fs}) when this job scanned it before, and it is not mounted there now; ` +
    'nothing below it was deleted (mount it again, or run with --rescan once it is gone for good)';
}
