import { relative } from 'node:path';
import { fileError } from '../core/errors.js';
import type { Emit, RunMode, RunStatus, RunSummary } from '../core/events.js';
import type { Target } from '../core/target.js';
import type { Tree } from '../core/tree.js';
import type { JobInfo, Store } from '../core/store.js';
import { mirrorExtras, type MirrorOptions } from './mirror.js';
import { explicitWindow, modifyWindow } from './plan.js';
import { scanTrees } from './scan-trees.js';
import { checkSourceMounts, recordSourceRoot } from './source-guard.js';
import { StatsPublisher } from './stats-publisher.js';
import { StatsTracker } from './stats.js';
import { CrewWorker, DEFAULT_LEASE_MS } from './crew-worker.js';
import { TokenBucket } from './pipeline/limiter.js';
import { StoreBacklog } from './store-backlog.js';
import { limitedChunk, transferBacklog, type TransferOptions } from './transfer.js';

export interface RunOptions extends Omit<TransferOptions, 'timeToleranceNs'> {
  rescan: boolean;
  dryRun: boolean;
  /** `--modify-window`, when given. */
  modifyWindowNs?: bigint;
  /** The step ferry sets times in (1 ns with the native addon, 1 µs without). */
  setterPrecisionNs: bigint;
  /** How a copy's permission bits must stand to its source's (see FinishScanOptions.perms). */
  perms?: 'narrow' | 'exact' | 'exact-no-setid';
  /** `--delete-extras` and its guards; undefined when mirroring is off. */
  mirror?: Omit<MirrorOptions, 'dryRun' | 'caseInsensitive' | 'signal'>;
  statsIntervalMs?: number;
  /** How long a worker's claims on a shared (PostgreSQL) job last without a heartbeat (--lease). */
  leaseMs?: number;
}

export interface RunResult {
  status: RunStatus;
  summary: RunSummary;
  refused?: string;
}

const CANNOT_SET = 'Linux cannot set ctime or birth time: they are recorded in the job database, not applied.';

/**
 * Whether this run resumes the backlog without scanning (§2.1): only when files are pending, the
 * last scan completed, and the last run did not finish (interrupted, or killed). Pending rows left
 * by a run that finished (a file that kept changing, a full destination) do not block a new scan,
 * so new files are always found.
 */
function chooseMode(job: JobInfo, pending: number, o: RunOptions): RunMode {
  if (o.dryRun) return 'dry-run';
  const unfinished = job.lastRunStatus === null || job.lastRunStatus === 'interrupted' || job.lastRunStatus === 'error';
  return pending > 0 && !o.rescan && job.lastScanComplete && job.hasRuns && unfinished ? 'resume' : 'scan';
}

/**
 * One run of a copy job: resume or scan + plan, then transfer, directory times and, when asked,
 * mirror. Per-file failures are recorded and counted, never thrown; only fatal errors reject.
 */
export async function runJob(store: Store, source: Tree, target: Target, o: RunOptions, emit: Emit, interrupt: AbortSignal): Promise<RunResult> {
  const started = performance.now();
  const job = await store.bindJob(source.root, target.root);
  // Each snapshot also goes to the Store (about once a second) once the run has its row: the dashboard reads it there.
  let publisher: StatsPublisher | undefined;
  const stats = new StatsTracker((e) => {
    if (e.type === 'stats') publisher?.offer(e, e.phase === 'done');
    emit(e);
  }, o.statsIntervalMs);
  // A job several processes may share (PostgreSQL): this one joins its workers first.
  const worker = store.crew && !o.dryRun
    ? await CrewWorker.join(store.crew, { leaseMs: o.leaseMs ?? DEFAULT_LEASE_MS, claimRows: o.bwlimit ? o.transfers : o.transfers * 8 }, stats, emit)
    : undefined;
  const signal = worker ? AbortSignal.any([interrupt, worker.signal]) : interrupt;
  let joined = worker?.role === 'join';
  if (worker) {
    // The bucket is shared with the other workers: the job's one limit, divided among those copying.
    const bucket = o.bwlimit ? new TokenBucket(o.bwlimit, limitedChunk(o.bwlimit, o.blockSize)) : undefined;
    worker.start(bucket && o.bwlimit ? { total: o.bwlimit, bucket } : undefined);
    if (bucket) o = { ...o, limiter: bucket };
    if (joined) {
      const next = await worker.waitForOpen(signal).catch(async (err: unknown) => {
        await worker.leave('interrupted');
        throw err;
      });
      if (next === 'over') {
        await worker.leave('done');
        const summary: RunSummary = { mode: 'join', filesCopied: 0, bytesCopied: 0, filesFailed: 0, filesSkippedChanged: 0, filesDeleted: 0, pendingLeft: 0, elapsedMs: 0 };
        emit({ type: 'notice', message: 'the other workers finished this job while this one waited to join: nothing left to copy' });
        emit({ type: 'run.end', status: 'done', summary });
        return { status: 'done', summary };
      }
      joined = next === 'copy';
    }
  }
  let backlog = await store.backlog();
  const mode = joined ? 'join' : chooseMode(job, backlog.files, o);
  const runId = o.dryRun ? 0 : await store.startRun(mode);
  if (runId) publisher = new StatsPublisher(store, runId);
  stats.bytesOverallBase = Number((await store.syncedTotals()).bytes);
  const summary: RunSummary = {
    mode, filesCopied: 0, bytesCopied: 0, filesFailed: 0, filesSkippedChanged: 0, filesDeleted: 0, pendingLeft: 0, elapsedMs: 0,
  };
  emit({ type: 'run.start', mode, source: source.root, destination: target.root, db: store.location, backlogFiles: backlog.files, backlogBytes: Number(backlog.bytes) });
  stats.start();
  let status: RunStatus = 'done';
  let refused: string | undefined;
  let scanErrors = 0;
  let tempNamed = 0;
  try {
    const destExists = await target.available();
    const facts = o.dryRun || !destExists ? undefined : await destinationFacts(store, target, job, o.rescan);
    const caseInsensitive = facts ? !facts.caseSensitive : job.destCaseSensitive === false;
    let auto = modifyWindow({ source: 1n, destination: facts?.precisionNs ?? 1n, setter: o.setterPrecisionNs });
    const chosen = (automatic: bigint): bigint => (o.modifyWindowNs === undefined ? automatic : explicitWindow(o.modifyWindowNs));
    let windowNs = chosen(auto);
    if (mode === 'scan' || mode === 'dry-run') {
      stats.phase = 'scanning';
      const trash = o.mirror?.trashDir ? relative(target.root, o.mirror.trashDir) : undefined;
      const scan = await scanTrees(store, {
        source,
        target,
        destExists,
        destExclude: trash && !trash.startsWith('..') ? [trash] : [],
        tidy: !o.dryRun,
        emit,
        signal,
      });
      if (signal.aborted) throw signal.reason;
      scanErrors = scan.errors;
      auto = modifyWindow({ source: scan.sourceGranularityNs, destination: facts?.precisionNs ?? scan.destGranularityNs, setter: o.setterPrecisionNs });
      windowNs = chosen(auto);
      const plan = await store.finishScan(scan.generation, { windowNs, errors: scan.errors, caseInsensitive, unchanged: scan.unchanged,
        // A destination that shows one mode for every file (FAT, many SMB shares) is never "wider" for it.
        perms: facts?.keepsModes === false || (!facts && job.destKeepsModes === false) ? 'ignore' : o.perms });
      emit({ type: 'plan.done', files: plan.files, pending: plan.pending, pendingBytes: Number(plan.pendingBytes), synced: plan.synced, modifyWindowNs: String(windowNs) });
      if (scan.staleTemps > 0) emit({ type: 'notice', message: `removed ${scan.staleTemps} temp file(s) left by an interrupted run` });
      tempNamed = scan.tempNamed;
      if (!o.dryRun) {
        await recordSourceRoot(store, source, job);
        await checkSourceMounts(store, source, scan.sourceMounts, o.rescan);
      }
      backlog = await store.backlog();
    }
    // Only what the plan saw at the destination may be replaced by an entry of another kind (an entry
    // that stands where the source has another kind is pending: with nothing pending, there is none).
    if (target.planReplacements) target.planReplacements((await store.pendingAfter(0, 1)).length > 0 ? await store.kindConflicts(caseInsensitive) : []);
    let destinationFull = false;
    let blocked = 0;
    // A copy counts as "times held" within what the destination can store, whatever --modify-window says.
    const toleranceNs = windowNs > auto ? windowNs : auto;
    const transfer = async (deferBlocked: boolean): Promise<void> => {
      const t = await transferBacklog({ backlog: worker ? worker.backlog(store, target, signal) : new StoreBacklog(store), source, target, options: { ...o, timeToleranceNs: toleranceNs, deferBlocked }, emit, stats, signal });
      summary.filesCopied += t.copied;
      summary.bytesCopied += t.bytes;
      summary.filesFailed += t.failed;
      summary.filesSkippedChanged += t.changed;
      if (signal.aborted) throw signal.reason;
      destinationFull ||= t.destinationFull;
      blocked = t.blocked;
      if (t.copied > 0 && !worker) await restoreDirectoryTimes(store, source, target);
    };
    if (o.dryRun) {
      await listDryRun(store, emit);
    } else {
      if (backlog.files > 0) emit({ type: 'notice', message: CANNOT_SET });
      // A rescan may have found synced files changed at the source: they are no longer in place.
      if (mode === 'scan') stats.bytesOverallBase = Number((await store.syncedTotals()).bytes);
      stats.beginTransfer(backlog.files, Number(backlog.bytes));
      // With a mirror, a file whose place holds a directory that is not empty waits for the mirror to remove it.
      await transfer(o.mirror !== undefined);
    }
    // Of a job's workers, only the last one standing restores directory times and mirrors (when every file landed).
    const last = worker ? await worker.finish() : true;
    if (worker && last) await restoreDirectoryTimes(store, source, target);
    let held = 0;
    if (o.mirror && last) {
      // Runs after a full destination too: deleting what the source no longer has may be what frees the space.
      stats.phase = 'mirroring';
      const current = await store.bindJob(source.root, target.root);
      const m = await mirrorExtras(store, source, target, current, { ...o.mirror, dryRun: o.dryRun, caseInsensitive, signal }, emit);
      summary.filesDeleted = m.deleted;
      summary.filesFailed += m.failed;
      refused = m.refused;
      held = m.held;
      if (signal.aborted) throw signal.reason;
      if (blocked > 0 && !o.dryRun) {
        // The files that waited for a directory to go: once more (those still blocked fail now, with the reason).
        stats.phase = 'transferring';
        target.planReplacements?.(await store.kindConflicts(caseInsensitive));
        await transfer(false);
      }
    }
    if (destinationFull) {
      summary.error = { code: 'ENOSPC', message: `the destination ${target.root} is full; the files that did not fit stay pending` };
    }
    summary.pendingLeft = await pendingLeft(store, worker, last, o.dryRun);
    if (refused || held > 0) status = 'refused';
    else if (summary.filesFailed > 0 || scanErrors > 0 || summary.pendingLeft > 0 || destinationFull || summary.filesSkippedChanged > 0 || tempNamed > 0) {
      status = 'failed';
    }
    if (tempNamed > 0 && !summary.error) {
      summary.error = { code: 'TEMP_NAME', message: `${tempNamed} source file(s) are named like ferry's temp files (.ferry-tmp-…) and were not copied; rename them to copy them` };
    }
    if (scanErrors > 0 && !summary.error) {
      summary.error = { code: 'SCAN', message: `the scan could not read ${scanErrors} path(s) of the source; they were not copied` };
    }
  } catch (err) {
    status = interrupt.aborted ? 'interrupted' : 'error';
    // The run's record says why it failed (the dashboard, --status), not only that it did.
    if (status === 'error' && !summary.error) summary.error = { code: String((err as { code?: unknown }).code ?? 'ERROR'), message: (err as Error).message ?? String(err) };
    if (!interrupt.aborted) throw signal.aborted ? signal.reason : err;
  } finally {
    stats.phase = 'done';
    stats.stop();
    if (!o.dryRun) summary.pendingLeft = await pendingLeft(store, worker, worker?.state === 'finishing', false).catch(() => summary.pendingLeft);
    summary.elapsedMs = Math.round(performance.now() - started);
    await worker?.leave(status === 'interrupted' ? 'interrupted' : status === 'error' ? 'failed' : 'done').catch(() => undefined);
    await publisher?.flush();
    if (runId) await store.finishRun(runId, status, summary);
    emit({ type: 'run.end', status, summary });
  }
  return { status, summary, refused };
}

/**
 * What this run leaves pending: the whole backlog, but for a worker that is not the last of its
 * job's, whose leftovers are only the files it held back (the others' are theirs to copy).
 */
async function pendingLeft(store: Store, worker: CrewWorker | undefined, last: boolean, dryRun: boolean): Promise<number> {
  if (dryRun) return 0;
  return worker && !last ? worker.held() : (await store.backlog()).files;
}

/**
 * The destination's time precision and case sensitivity: probed once per job (and again on
 * --rescan), then read from the Store, so a run with nothing to copy writes nothing there.
 */
async function destinationFacts(store: Store, target: Target, job: JobInfo, reprobe: boolean): Promise<{ precisionNs: bigint; caseSensitive: boolean; keepsModes: boolean }> {
  if (job.destPrecisionNs !== null && job.destCaseSensitive !== null && job.destKeepsModes !== null && !reprobe) {
    return { precisionNs: job.destPrecisionNs, caseSensitive: job.destCaseSensitive, keepsModes: job.destKeepsModes };
  }
  const caps = await target.probe();
  await store.saveJobFacts({ destPrecisionNs: caps.timePrecisionNs, destCaseSensitive: caps.caseSensitive, destKeepsModes: caps.keepsModes });
  return { precisionNs: caps.timePrecisionNs, caseSensitive: caps.caseSensitive, keepsModes: caps.keepsModes };
}

/** A dry run reports every pending file as what it would copy. */
async function listDryRun(store: Store, emit: Emit): Promise<void> {
  for (let after = 0; ; ) {
    const rows = await store.pendingAfter(after, 512);
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.rowid;
    for (const r of rows) {
      if (r.kind === 'dir') continue;
      emit({ type: 'file.done', path: r.rel, source: r.sourcePath, destination: r.destPath, size: Number(r.size), hash: null, algorithm: null, dryRun: true });
    }
  }
}

/** Writing files into a directory moves its mtime; put the source's back, deepest first. */
async function restoreDirectoryTimes(store: Store, source: Tree, target: Target): Promise<void> {
  for (let after: string | null = null; ; ) {
    const dirs = await store.directories(after, 512);
    if (dirs.length === 0) break;
    after = dirs[dirs.length - 1]!.rel;
    for (const d of dirs) {
      await target.setTimes(d.rel, { atimeNs: d.accessedNs, mtimeNs: d.modifiedNs }).catch(() => undefined);
    }
  }
  const root = await source.stat('');
  if (!root) throw fileError('ENOENT', `the source root ${source.root} is gone`);
  await target.setTimes('', { atimeNs: root.atimeNs, mtimeNs: root.mtimeNs }).catch(() => undefined);
}
