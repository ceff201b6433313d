import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { compareIdentity, identify, parseIdentity } from '../io/fs-identity.js';
import { readMountTable } from '../io/mounts.js';
import type { JobInfo, SourceMount, Store } from '../store/store.js';

/**
 * What keeps the mirror from taking a source that is not there for a source that is empty: the
 * source root and every filesystem mounted inside it are recorded by what survives a remount
 * (io/fs-identity.ts), and compared before anything is deleted.
 */

/** Records the source root's identity the first time a job scans it (and for a job begun before ferry kept one). */
export async function recordSourceRoot(store: Store, job: JobInfo): Promise<void> {
  if (job.sourceIdentity !== null) return;
  const root = await stat(job.sourceRoot, { bigint: true });
  // A job that recorded only the device and inode adopts an identity only while those still hold.
  if (job.sourceDevice !== null && (root.dev !== job.sourceDevice || root.ino !== job.sourceInode)) return;
  const id = await identify(job.sourceRoot);
  await store.saveJobFacts({ sourceDevice: root.dev, sourceInode: root.ino, sourceIdentity: JSON.stringify(id) });
}

/** Why the source root is not the one the job began with, or undefined when it is. */
export async function sourceRootChanged(job: JobInfo): Promise<string | undefined> {
  const root = await stat(job.sourceRoot, { bigint: true });
  if (!root.isDirectory()) return `the source root ${job.sourceRoot} is not a directory`;
  const was = parseIdentity(job.sourceIdentity);
  let sameness: 'same' | 'other-filesystem' | 'other-directory' = 'same';
  if (was) sameness = compareIdentity(was, await identify(job.sourceRoot));
  else if (job.sourceDevice !== null && root.dev !== job.sourceDevice) sameness = 'other-filesystem';
  else if (job.sourceInode !== null && root.ino !== job.sourceInode) sameness = 'other-directory';
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
export async function checkSourceMounts(store: Store, sourceRoot: string, found: string[], accept: boolean): Promise<SourceMount[]> {
  const table = readMountTable();
  const now = new Map<string, string>();
  for (const rel of found) {
    try {
      now.set(rel, JSON.stringify(await identify(join(sourceRoot, rel), table)));
    } catch {
      // gone since the walk: not mounted now
    }
  }
  const recorded = accept ? [] : await store.sourceMounts();
  const next: SourceMount[] = [];
  for (const m of recorded) {
    const was = parseIdentity(m.identity);
    const is = parseIdentity(now.get(m.rel));
    const missing = !was || !is || compareIdentity(was, is) !== 'same';
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
