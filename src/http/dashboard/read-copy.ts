import { basename } from 'node:path';
import type { JobStatus, RunLive, RunRecord, Store } from '../../core/store.js';
import type { CopyView, JobState, JobView } from './views.js';
import { processAlive } from './process-alive.js';

/** A run that published nothing for this long, and never ended, is not running any more. */
export const SILENT_MS = 10_000;

/** A job's totals over every row (a scan of its files table), as last counted, and the run's counters then. */
export interface CopyTotals {
  atMs: number;
  runId: number | null;
  job: JobStatus;
  filesDone: number;
  filesFailed: number;
}

/** While a copy runs, its totals are counted again this often; in between they follow its snapshot. */
const TOTALS_EVERY_MS = 10_000;

/**
 * A copy job as the dashboard shows it, from its Store opened read-only: the job's totals, the run
 * that runs now or ran last (its published snapshot and samples), failures, past runs and workers.
 * `defaultDb`: whether the database is where `ferry copy SOURCE DESTINATION` finds it by itself.
 * Counting the totals reads every row of the job; while it runs, that is done every 10 s and, as it
 * transfers, the figures between come from the run's own snapshot: a job of millions of files costs
 * about the same to watch as a small one.
 */
export async function readCopy(store: Store, base: Pick<JobView, 'id' | 'location'>, defaultDb: boolean, prev?: CopyTotals, writerHeld?: () => boolean, nowMs = Date.now()): Promise<{ view: JobView; totals?: CopyTotals }> {
  const runs = await store.recentRuns(5);
  const last = runs[0];
  // Before the dashboard's columns (an older ferry wrote the database), a run has no snapshot.
  const live = last ? await store.liveStats(last.id).catch(() => null) : null;
  const crew = store.crew ? await store.crew.workers().catch(() => undefined) : undefined;
  // Shared (PostgreSQL): the job runs while any of its workers does, whichever run is the newest.
  const crewLive = crew?.workers.some((w) => !w.stale && !['done', 'interrupted', 'failed', 'gone'].includes(w.state));
  const { state, text, since } = stateOf(last, live, nowMs, crewLive ?? writerHeld?.());
  const s = live?.stats;
  // One process's snapshot tells the job's progress only when it is the job's one worker (SQLite).
  const counting = !store.crew && state === 'running' && s !== undefined && (s.phase === 'transferring' || s.phase === 'mirroring');
  let totals = prev;
  if (!totals || state !== 'running' || totals.runId !== (last?.id ?? null) || nowMs - totals.atMs >= TOTALS_EVERY_MS) {
    const job = await store.describe();
    if (!job) return { view: { ...base, face: 'copy', title: 'copy job (not started)', state: 'idle', stateText: 'no run yet', sinceMs: null } };
    totals = { atMs: nowMs, runId: last?.id ?? null, job, filesDone: s?.filesDone ?? 0, filesFailed: s?.filesFailed ?? 0 };
  }
  const job = totals.job;
  let synced = { files: job.synced.files, bytes: Number(job.synced.bytes) };
  let pending = { files: job.pending.files, bytes: Number(job.pending.bytes) };
  let failed = job.failed;
  if (counting && s) {
    // While it transfers, the job's rows do not change in number: the total stays as counted, and
    // what is left comes from the run (its files done count before their rows are marked, in batches).
    const inFlight = s.current.reduce((n, c) => n + c.done, 0);
    const total = job.synced.files + job.pending.files + job.failed;
    failed = job.failed + Math.max(0, s.filesFailed - totals.filesFailed);
    pending = { files: Math.min(s.backlogFiles, total - failed), bytes: s.backlogBytes + inFlight };
    synced = { files: Math.max(0, total - pending.files - failed), bytes: s.bytesOverall };
  }
  const failures = failed > 0 ? await store.failures(50).catch(() => []) : [];
  const view: CopyView = {
    source: job.sourceRoot,
    destination: job.destRoot,
    phase: state === 'running' ? (s?.phase ?? 'starting') : null,
    synced,
    pending,
    failedCount: failed,
    run: live && s ? {
      id: live.runId, host: live.host, pid: live.pid, atMs: live.atMs, filesDone: s.filesDone, bytesSession: s.bytesSession,
      rateNow: state === 'running' ? s.rateNow : 0, rateAvg: s.rateAvg, backlogFiles: s.backlogFiles, backlogBytes: s.backlogBytes,
      etaSec: state === 'running' && s.etaBacklogSec !== undefined ? Math.round(s.etaBacklogSec) : null,
      current: state === 'running' ? s.current.map((c) => ({ path: c.path, size: c.size, done: c.done })) : [],
    } : null,
    rates: rates(live),
    failures: failures.map((f) => ({ path: f.rel, error: f.error ?? 'failed', attempts: f.attempts })),
    runs: runs.map((r) => ({ ...r })),
    workers: (crew?.workers ?? []).map((w) => ({ host: w.host, pid: w.pid, state: w.state, files: w.files, bytes: w.bytes, rate: w.rate, heartbeatMs: w.heartbeatMs, stale: w.stale })),
    resume: ['ferry', 'copy', job.sourceRoot, job.destRoot, ...(defaultDb ? [] : ['--db', base.location])],
  };
  const title = `${basename(job.sourceRoot) || job.sourceRoot} → ${job.destRoot}`;
  return { view: { ...base, face: 'copy', title, state, stateText: text, sinceMs: since, copy: view }, totals };
}

/**
 * How the job stands. `writing`: whether its writer is known to be at work (a SQLite job's lock is
 * held; a shared job has a live worker); undefined when that cannot be known, and then a run that
 * never ended runs while it publishes and its process (on this machine) is there.
 */
function stateOf(last: RunRecord | undefined, live: RunLive | null, nowMs: number, writing: boolean | undefined): { state: JobState; text: string; since: number | null } {
  if (!last) return { state: 'idle', text: 'scanned, no run yet', since: null };
  const heard = live ? nowMs - live.ageMs : last.startedMs;
  if (writing === true) {
    const quiet = nowMs - heard >= SILENT_MS ? `, not heard from for ${Math.round((nowMs - heard) / 1000)} s` : '';
    return { state: 'running', text: `${live?.stats.phase ?? 'running'}${quiet}`, since: last.startedMs };
  }
  if (last.status === null) {
    const alive = live ? processAlive(live.host, live.pid) : undefined;
    if (writing === undefined && alive !== false && nowMs - heard < SILENT_MS) return { state: 'running', text: live?.stats.phase ?? 'starting', since: last.startedMs };
    return { state: 'killed', text: 'stopped without recording its end (killed, or the machine stopped)', since: heard };
  }
  const status = last.status;
  const state: JobState = status === 'done' || status === 'interrupted' || status === 'refused' ? status : 'failed';
  const text = state === 'done' ? 'done' : state === 'interrupted' ? 'interrupted' : state === 'refused' ? `refused${last.error ? `: ${last.error}` : ''}` : `failed${last.error ? `: ${last.error}` : ''}`;
  return { state, text, since: last.endedMs };
}

/** Bytes per second between consecutive samples, at the later one's time. */
function rates(live: RunLive | null): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const s = live?.samples ?? [];
  for (let i = 1; i < s.length; i++) {
    const dt = s[i]!.tMs - s[i - 1]!.tMs;
    if (dt > 0) out.push([s[i]!.tMs, Math.max(0, ((s[i]!.bytes - s[i - 1]!.bytes) * 1000) / dt)]);
  }
  return out;
}
