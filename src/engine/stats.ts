import type { CurrentFile, Emit, Phase, StatsSnapshot } from '../core/events.js';

/**
 * Counts what the run does and emits a `stats` snapshot every `intervalMs`. The rate "now" is over
 * the last five seconds of samples; the backlog ETA divides the bytes left by the average rate.
 * "Overall" counts whole files only (synced before this run, finished in it), so a file abandoned
 * mid-way by a stop is not counted and then uncounted: the figure never goes backwards across a resume.
 */
export class StatsTracker {
  phase: Phase = 'starting';
  bytesSession = 0;
  /** Bytes of the job already in place when the transfer began: the Store's synced files. */
  bytesOverallBase = 0;
  /** Bytes of the files this run finished: with the base, "overall", which only ever grows. */
  private bytesFinished = 0;
  filesDone = 0;
  filesFailed = 0;
  filesSkipped = 0;
  backlogFiles = 0;
  backlogBytes = 0;
  queueUsed = (): number => 0;
  queueCapacity = 0;
  private readonly started = performance.now();
  private transferStarted: number | undefined;
  private readonly current = new Map<number, CurrentFile>();
  private readonly samples: Array<{ t: number; bytes: number }> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly emit: Emit, private readonly intervalMs = 500) {}

  start(): void {
    this.timer = setInterval(() => this.emit({ type: 'stats', ...this.snapshot() }), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.emit({ type: 'stats', ...this.snapshot() });
  }

  beginTransfer(files: number, bytes: number): void {
    this.phase = 'transferring';
    this.backlogFiles = files;
    this.backlogBytes = bytes;
    this.transferStarted = performance.now();
  }

  fileOpened(id: number, path: string, size: number): void {
    this.current.set(id, { path, size, done: 0 });
  }

  bytesWritten(id: number, n: number): void {
    this.bytesSession += n;
    const c = this.current.get(id);
    if (c) c.done += n;
  }

  /** The file left the pipeline; `counted` says whether its size leaves the backlog. */
  fileFinished(id: number, outcome: 'done' | 'failed' | 'skipped', size: number): void {
    this.current.delete(id);
    if (outcome === 'done') {
      this.filesDone++;
      this.bytesFinished += size;
    }
    else if (outcome === 'failed') this.filesFailed++;
    else this.filesSkipped++;
    this.backlogFiles = Math.max(0, this.backlogFiles - 1);
    this.backlogBytes = Math.max(0, this.backlogBytes - size);
  }

  snapshot(): StatsSnapshot {
    const now = performance.now();
    this.samples.push({ t: now, bytes: this.bytesSession });
    while (this.samples.length > 2 && now - this.samples[0]!.t > 5000) this.samples.shift();
    const first = this.samples[0]!;
    const rateNow = now > first.t ? ((this.bytesSession - first.bytes) * 1000) / (now - first.t) : 0;
    const transferMs = this.transferStarted === undefined ? 0 : now - this.transferStarted;
    const rateAvg = transferMs > 0 ? (this.bytesSession * 1000) / transferMs : 0;
    const inFlight = [...this.current.values()].reduce((s, c) => s + c.done, 0);
    const left = Math.max(0, this.backlogBytes - inFlight);
    return {
      phase: this.phase,
      elapsedMs: Math.round(now - this.started),
      bytesSession: this.bytesSession,
      bytesOverall: this.bytesOverallBase + this.bytesFinished,
      filesDone: this.filesDone,
      filesFailed: this.filesFailed,
      filesSkipped: this.filesSkipped,
      backlogFiles: this.backlogFiles,
      backlogBytes: left,
      rateNow,
      rateAvg,
      etaBacklogSec: rateAvg > 0 ? left / rateAvg : undefined,
      current: [...this.current.values()].map((c) => ({ ...c })),
      queue: { used: this.queueUsed(), capacity: this.queueCapacity },
    };
  }
}
