import { stat } from 'node:fs/promises';
import { relative } from 'node:path';
import type { Emit, RunMode, RunStatus, RunSummary } from '../core/events.js';
import type { Target } from '../core/target.js';
import type { Store } from '../store/store.js';
import { mirrorExtras, type MirrorOptions } from './mirror.js';
import { modifyWindow } from './plan.js';
import { scanTrees } from './scan-trees.js';
import { StatsTracker } from './stats.js';
import { transferBacklog, type TransferOptions } from './transfer.js';

export interface RunOptions extends Omit<TransferOptions, 'timeToleranceNs'> {
  sourceRoot: string;
  rescan: boolean;
  dryRun: boolean;
  /** `--modify-window`, when given. */
  modifyWindowNs?: bigint;
  /** The step ferry sets times in (1 ns with the native addon, 1 µs without). */
  setterPrecisionNs: bigint;
  /** `--delete-extras` and its guards; undefined when mirroring is off. */
  mirror?: Omit<MirrorOptions, 'dryRun'>;
  statsIntervalMs?: number;
}

export interface RunResult {
  status: RunStatus;
  summary: RunSummary;
  refused?: string;
}

const CANNOT_SET = 'Linux cannot set ctime or birth time: they are recorded in the Store, not applied.';

/**
 * One run of a copy job (§2.1): pending rows in the Store → resume without scanning; otherwise
 * (or with `rescan`) scan both trees, plan, then transfer; then set directory times and, when asked,
 * mirror. Per-file failures are recorded and counted, never thrown; only fatal errors reject.
 */
export async function runJob(store: Store, target: Target, o: RunOptions, emit: Emit, signal: AbortSignal): Promise<RunResult> {
  const started = performance.now();
  const job = await store.bindJob(o.sourceRoot, target.root);
  let backlog = await store.backlog();
  const mode: RunMode = o.dryRun ? 'dry-run' : backlog.files > 0 && !o.rescan ? 'resume' : 'scan';
  const runId = o.dryRun ? 0 : await store.startRun(mode);
  const stats = new StatsTracker(emit, o.statsIntervalMs);
  stats.bytesOverallBase = Number((await store.syncedTotals()).bytes);
  const summary: RunSummary = {
    mode, filesCopied: 0, bytesCopied: 0, filesFailed: 0, filesSkippedChanged: 0, filesDeleted: 0, pendingLeft: 0, elapsedMs: 0,
  };
  emit({ type: 'run.start', mode, source: o.sourceRoot, destination: target.root, db: store.location, backlogFiles: backlog.files, backlogBytes: Number(backlog.bytes) });
  stats.start();
  let status: RunStatus = 'done';
  let refused: string | undefined;
  try {
    const destExists = await target.available();
    const destPrecision = o.dryRun || !destExists ? undefined : await destinationPrecision(store, target, job.destPrecisionNs, o.rescan);
    let windowNs = modifyWindow({ explicit: o.modifyWindowNs, source: 1n, destination: destPrecision ?? 1n, setter: o.setterPrecisionNs });
    if (mode !== 'resume') {
      stats.phase = 'scanning';
      const trash = o.mirror?.trashDir ? relative(target.root, o.mirror.trashDir) : undefined;
      const scan = await scanTrees(store, {
        sourceRoot: o.sourceRoot,
        destRoot: target.root,
        destExists,
        destExclude: trash && !trash.startsWith('..') ? [trash] : [],
        isTempName: (n) => target.isTempName(n),
        removeTemp: o.dryRun ? undefined : (rel) => target.remove(rel).then(() => undefined),
        emit,
        signal,
      });
      if (signal.aborted) throw signal.reason;
      windowNs = modifyWindow({
        explicit: o.modifyWindowNs,
        source: scan.sourceGranularityNs,
        destination: destPrecision ?? scan.destGranularityNs,
        setter: o.setterPrecisionNs,
      });
      const plan = await store.finishScan(scan.generation, { windowNs, errors: scan.errors });
      emit({ type: 'plan.done', files: plan.files, pending: plan.pending, pendingBytes: Number(plan.pendingBytes), synced: plan.synced, modifyWindowNs: String(windowNs) });
      if (scan.staleTemps > 0 && !o.dryRun) emit({ type: 'notice', message: `removed ${scan.staleTemps} temp file(s) left by an interrupted run` });
      backlog = await store.backlog();
    }
    if (o.dryRun) {
      await listDryRun(store, emit);
    } else {
      if (backlog.files > 0) emit({ type: 'notice', message: CANNOT_SET });
      stats.beginTransfer(backlog.files, Number(backlog.bytes));
      const t = await transferBacklog({ store, target, options: { ...o, timeToleranceNs: windowNs }, emit, stats, signal });
      Object.assign(summary, { filesCopied: t.copied, bytesCopied: t.bytes, filesFailed: t.failed, filesSkippedChanged: t.changed });
      if (signal.aborted) throw signal.reason;
      if (t.destinationFull) {
        summary.error = { code: 'ENOSPC', message: `the destination ${target.root} is full; the files that did not fit stay pending` };
        status = 'failed';
      }
      if (t.copied > 0) await restoreDirectoryTimes(store, target, o.sourceRoot);
    }
    if (o.mirror && !signal.aborted && !summary.error) {
      stats.phase = 'mirroring';
      const m = await mirrorExtras(store, target, await store.bindJob(o.sourceRoot, target.root), { ...o.mirror, dryRun: o.dryRun }, emit);
      summary.filesDeleted = m.deleted;
      summary.filesFailed += m.failed;
      refused = m.refused;
    }
    if (status === 'done') status = refused ? 'refused' : summary.filesFailed > 0 ? 'failed' : 'done';
  } catch (err) {
    status = signal.aborted ? 'interrupted' : 'error';
    if (!signal.aborted) throw err;
  } finally {
    stats.phase = 'done';
    stats.stop();
    summary.pendingLeft = (await store.backlog()).files;
    summary.elapsedMs = Math.round(performance.now() - started);
    if (runId) await store.finishRun(runId, status, summary);
    emit({ type: 'run.end', status, summary });
  }
  return { status, summary, refused };
}

/**
 * The destination's mtime precision: probed once per job (and again on --rescan), then read from
 * the Store, so a run with nothing to copy writes nothing on the destination, not even a probe.
 */
async function destinationPrecision(store: Store, target: Target, known: bigint | null, reprobe: boolean): Promise<bigint> {
  if (known !== null && !reprobe) return known;
  const caps = await target.probe();
  await store.saveDestPrecision(caps.timePrecisionNs);
  return caps.timePrecisionNs;
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
async function restoreDirectoryTimes(store: Store, target: Target, sourceRoot: string): Promise<void> {
  for (let after: string | null = null; ; ) {
    const dirs = await store.directories(after, 512);
    if (dirs.length === 0) break;
    after = dirs[dirs.length - 1]!.rel;
    for (const d of dirs) {
      await target.setTimes(d.rel, { atimeNs: d.accessedNs, mtimeNs: d.modifiedNs }).catch(() => undefined);
    }
  }
  const root = await stat(sourceRoot, { bigint: true });
  await target.setTimes('', { atimeNs: root.atimeNs, mtimeNs: root.mtimeNs }).catch(() => undefined);
}
