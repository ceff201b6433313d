import { formatBytes } from '../core/units.js';
import type { CopyStatus } from '../faces/copy/status.js';

/** `ferry copy --status`: text for people, JSON for scripts. */
export function copyStatusView(s: CopyStatus): { text: string; json: unknown } {
  const { job } = s;
  const json = {
    db: s.db,
    source: job.sourceRoot,
    destination: job.destRoot,
    pending: { files: job.pending.files, bytes: Number(job.pending.bytes) },
    synced: { files: job.synced.files, bytes: Number(job.synced.bytes) },
    failed: job.failed,
    runs: job.runs.map((r) => ({ ...r, started: new Date(r.startedMs).toISOString(), ended: r.endedMs === null ? null : new Date(r.endedMs).toISOString() })),
    ...(s.crew
      ? {
          round: s.crew.round,
          roundState: s.crew.roundState,
          workers: s.crew.workers.map((w) => ({
            id: w.id, host: w.host, pid: w.pid, state: w.state, stale: w.stale, files: w.files, bytes: w.bytes, rate: w.rate,
            started: new Date(w.startedMs).toISOString(), lastHeartbeat: new Date(w.heartbeatMs).toISOString(),
            heartbeatAgeSeconds: Math.max(0, (s.crew!.nowMs - w.heartbeatMs) / 1000),
          })),
        }
      : {}),
  };
  const lines = [
    `job      ${job.sourceRoot} → ${job.destRoot}`,
    `database ${s.db}`,
    `pending  ${job.pending.files} file(s), ${formatBytes(job.pending.bytes)}`,
    `synced   ${job.synced.files} file(s), ${formatBytes(job.synced.bytes)}`,
    ...(job.failed > 0 ? [`failed   ${job.failed} (retried by the next run)`] : []),
  ];
  const last = job.runs[0];
  if (last) {
    const ended = last.endedMs === null ? 'not ended (running, or killed)' : `${last.status} at ${new Date(last.endedMs).toISOString()}`;
    lines.push(`last run ${last.mode}, started ${new Date(last.startedMs).toISOString()}, ${ended}: ${last.filesCopied} copied, ${formatBytes(last.bytesCopied)}`);
  }
  if (s.crew) {
    const c = s.crew;
    lines.push(`round    ${c.round} (${c.roundState})`, '');
    if (c.workers.length === 0) lines.push('no workers yet');
    else {
      const head = ['WORKER', 'HOST', 'PID', 'STATE', 'FILES', 'BYTES', 'RATE', 'LAST HEARTBEAT'];
      const rows = c.workers.map((w) => [
        String(w.id), w.host, String(w.pid), w.stale ? `${w.state} (gone?)` : w.state, String(w.files), formatBytes(w.bytes), `${formatBytes(w.rate)}/s`,
        `${Math.max(0, (c.nowMs - w.heartbeatMs) / 1000).toFixed(1)} s ago`,
      ]);
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      for (const r of [head, ...rows]) lines.push(r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!))).join('  '));
    }
  }
  return { text: `${lines.join('\n')}\n`, json };
}
