import type { FerryEvent, RunSummary, StatsSnapshot } from '../core/events.js';
import type { WorkerRecord } from '../core/store.js';
import { formatBytes, formatDuration } from '../core/units.js';
import { clean } from './quote.js';

/** Sentences shared by the plain and the tty renderers. */

export function startLine(e: Extract<FerryEvent, { type: 'run.start' }>): string {
  if (e.mode === 'resume') {
    return `resuming ${e.backlogFiles} file(s), ${formatBytes(e.backlogBytes)} from the backlog (${e.db}); no scan`;
  }
  if (e.mode === 'join') return `joining the workers of ${e.source} → ${e.destination} (${e.db}); no scan`;
  const what = e.mode === 'dry-run' ? 'dry run: scanning' : 'scanning';
  return `${what} ${e.source} → ${e.destination}`;
}

export function scanLine(e: Extract<FerryEvent, { type: 'scan.progress' }>): string {
  const errors = e.errors > 0 ? `, ${e.errors} error(s)` : '';
  return `${e.side}: ${e.files} file(s), ${e.dirs} dir(s), ${formatBytes(e.bytes)}${errors}${e.done ? '' : ' …'}`;
}

export function planLine(e: Extract<FerryEvent, { type: 'plan.done' }>): string {
  return `plan: ${e.pending} to copy (${formatBytes(e.pendingBytes)}), ${e.synced} up to date, ${e.files} in all`;
}

export function statsLine(s: StatsSnapshot): string {
  return (
    `${s.filesDone} copied, ${formatBytes(s.bytesSession)} this run (${formatBytes(s.bytesOverall)} overall), ` +
    `${formatBytes(s.rateNow)}/s now, ${formatBytes(s.rateAvg)}/s avg; ` +
    `${s.backlogFiles} left (${formatBytes(s.backlogBytes)}), ETA ${formatDuration(s.etaBacklogSec)}` +
    (s.filesFailed > 0 ? `; ${s.filesFailed} failed` : '')
  );
}

export function endLines(status: string, s: RunSummary, resumeHint: string): string[] {
  const lines: string[] = [];
  const took = formatDuration(s.elapsedMs / 1000);
  if (s.mode === 'dry-run') {
    lines.push(`dry run: nothing was changed (${took})`);
    return lines;
  }
  lines.push(
    `${status}: copied ${s.filesCopied} file(s), ${formatBytes(s.bytesCopied)} in ${took}` +
      (s.filesDeleted ? `, deleted ${s.filesDeleted}` : '') +
      (s.filesFailed ? `, ${s.filesFailed} failed` : '') +
      (s.filesSkippedChanged ? `, ${s.filesSkippedChanged} changed while read (requeued)` : '') +
      (s.pendingLeft ? `; ${s.pendingLeft} pending` : ''),
  );
  if (s.error) lines.push(`error: ${clean(s.error.message)}`);
  if (status === 'interrupted' || s.pendingLeft > 0) lines.push(`to resume: ${resumeHint}`);
  return lines;
}

/** One worker of a shared job: who, what it does, how far it got, how fresh its heartbeat is (`nowMs`: the database's clock when known). */
export function workerLine(w: WorkerRecord, nowMs: number): string {
  const beat = Math.max(0, (nowMs - w.heartbeatMs) / 1000);
  return `worker ${w.id} ${w.host}:${w.pid}  ${w.stale ? `${w.state} (no heartbeat: gone?)` : w.state}  ` +
    `${w.files} file(s) · ${formatBytes(w.bytes)} · ${formatBytes(w.rate)}/s  heartbeat ${beat.toFixed(1)} s ago`;
}

/** A shared job's workers on one line, for the periodic progress of a piped run. */
export function crewLine(e: Extract<FerryEvent, { type: 'crew' }>): string {
  const live = e.workers.filter((w) => !w.stale && !['done', 'interrupted', 'failed'].includes(w.state));
  return `workers: ${live.length} at work; ` +
    e.workers.map((w) => `${w.host}:${w.pid} ${w.stale ? 'gone?' : w.state} ${w.files} file(s) ${formatBytes(w.rate)}/s`).join('; ');
}
