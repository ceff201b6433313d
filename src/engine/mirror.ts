import { join } from 'node:path';
import { describeFileError, errnoCode } from '../core/errors.js';
import type { Emit } from '../core/events.js';
import type { Target } from '../core/target.js';
import type { Tree } from '../core/tree.js';
import type { JobInfo, Store } from '../core/store.js';
import { missingMountReason, sourceRootChanged } from './source-guard.js';

export interface MirrorOptions {
  maxDelete?: number;
  trashDir?: string;
  dryRun: boolean;
  /** The destination ignores case (SMB, exFAT): "Report.txt" there is the source's "report.txt". */
  caseInsensitive: boolean;
  signal: AbortSignal;
}

export interface MirrorResult {
  deleted: number;
  failed: number;
  /** Why nothing was deleted, when a guard refused. */
  refused?: string;
  /** Extras kept because they sit below a filesystem that is not mounted now (see source-guard.ts). */
  held: number;
}

const PAGE = 512;

const fold = (name: string): string => name.normalize('NFC').toLowerCase();

/** Whether the source has, in the same place, a name equal to `rel`'s ignoring case (Unicode). */
async function sourceHasFolded(source: Tree, rel: string): Promise<boolean> {
  let dir = '';
  const parts = rel.split('/');
  for (const part of parts) {
    let names: string[];
    try {
      names = (await source.entries(dir)).map((e) => e.rel.slice(e.rel.lastIndexOf('/') + 1));
    } catch {
      return false;
    }
    const match = names.find((n) => fold(n) === fold(part));
    if (match === undefined) return false;
    dir = dir === '' ? match : `${dir}/${match}`;
  }
  return true;
}

/** The guards that must all pass before any delete (§3.4 and DESIGN "Nothing lost"). */
async function refusal(source: Tree, job: JobInfo, extras: number, maxDelete?: number): Promise<string | undefined> {
  let names: string[];
  try {
    const changed = await sourceRootChanged(source, job);
    if (changed) return changed;
    names = (await source.entries('')).map((e) => e.rel);
  } catch (err) {
    return `the source root ${job.sourceRoot} cannot be read (${describeFileError(err)})`;
  }
  if (names.length === 0) {
    return `the source root ${job.sourceRoot} is empty (an unmounted share?) while the destination is not`;
  }
  if (!job.lastScanComplete) return 'the last scan did not finish, so the list of extra files is not complete';
  if (job.lastScanErrors > 0) {
    return `the last scan met ${job.lastScanErrors} error(s), so files it could not read might look extra`;
  }
  if (maxDelete !== undefined && extras > maxDelete) {
    return `${extras} deletions would exceed --max-delete ${maxDelete}`;
  }
  return undefined;
}

/**
 * Removes destination entries the last scan found with no source counterpart, after the transfer.
 * Each delete is preceded by a live look at the source (`Tree.stat`): present there means not extra.
 * With `trashDir`, entries are moved there instead. Directories go only when empty, deepest first.
 */
export async function mirrorExtras(
  store: Store,
  source: Tree,
  target: Target,
  job: JobInfo,
  options: MirrorOptions,
  emit: Emit,
): Promise<MirrorResult> {
  // Below a filesystem that is not mounted now, nothing is extra: its files are only out of sight.
  const missing = (await store.sourceMounts()).filter((m) => m.missing);
  const held = (rel: string): boolean => missing.some((m) => rel === m.rel || rel.startsWith(`${m.rel}/`));
  let count = 0;
  let heldCount = 0;
  for (let after: string | null = null; ; ) {
    const rows = await store.extras(after, PAGE, options.caseInsensitive);
    if (rows.length === 0) break;
    for (const r of rows) {
      if (held(r.rel)) heldCount++;
      else if (r.kind !== 'dir') count++;
    }
    after = rows[rows.length - 1]!.rel;
  }
  const result: MirrorResult = { deleted: 0, failed: 0, held: heldCount };
  if (count === 0 && !(await store.extras(null, 1, options.caseInsensitive)).length) return result;
  const why = await refusal(source, job, count, options.maxDelete);
  if (why) {
    emit({ type: 'mirror.refused', reason: why, destination: job.destRoot });
    return { ...result, refused: why };
  }
  for (const m of missing) emit({ type: 'mirror.refused', reason: missingMountReason(m), destination: join(job.destRoot, m.rel), scope: m.rel });
  for (let after: string | null = null; ; ) {
    const rows = await store.extras(after, PAGE, options.caseInsensitive);
    if (rows.length === 0) break;
    after = rows[rows.length - 1]!.rel;
    for (const { rel, kind } of rows) {
      if (options.signal.aborted) return result;
      if (held(rel)) continue;
      const base = { path: rel, source: join(job.sourceRoot, rel), destination: join(job.destRoot, rel), size: 0 };
      let sourceKind: string | undefined;
      try {
        const there = await source.stat(rel);
        // The live check found it at the source: not extra, unless it is of another kind there now
        // (a directory that became a file: the directory goes, and the file takes its place).
        sourceKind = there?.kind;
        if (sourceKind === kind) continue;
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'ENOTDIR') {
          result.failed++;
          emit({ type: 'file.error', ...base, message: `not deleted: the source could not be checked (${describeFileError(err)})` });
          continue;
        }
      }
      // On a destination that ignores case (exFAT, SMB: they fold every letter, not ASCII alone as
      // the Store's matching does), the source may hold this very entry under another case.
      if (options.caseInsensitive && (await sourceHasFolded(source, rel))) continue;
      let live;
      try {
        live = await target.stat(rel);
      } catch (err) {
        result.failed++;
        emit({ type: 'file.error', ...base, message: `not deleted: ${describeFileError(err)}`, errno: errnoCode(err) });
        continue;
      }
      if (!live) {
        await store.dropDestEntry(rel);
        continue;
      }
      if (live.kind !== kind) {
        // Not the entry the scan saw: the copy's own replacement (the source's kind now), or something
        // another process put there since (a link in a directory's place); neither is deleted.
        await store.dropDestEntry(rel);
        if (live.kind === sourceKind) continue;
        result.failed++;
        emit({ type: 'file.error', ...base, message: `not deleted: it is a ${live.kind} now, not the ${kind} the scan saw`, errno: 'ECHANGED' });
        continue;
      }
      base.size = Number(live.size);
      if (options.dryRun) {
        emit({ type: 'file.deleted', ...base, dryRun: true });
        result.deleted++;
        continue;
      }
      try {
        const trashedTo = await target.remove(rel, { trashDir: options.trashDir });
        await store.dropDestEntry(rel);
        result.deleted++;
        emit({ type: 'file.deleted', ...base, trashedTo });
      } catch (err) {
        if (kind === 'dir' && errnoCode(err) === 'ENOTEMPTY') continue; // holds something unlisted: keep it
        result.failed++;
        emit({ type: 'file.error', ...base, message: `not deleted: ${describeFileError(err)}`, errno: errnoCode(err) });
      }
    }
  }
  return result;
}
