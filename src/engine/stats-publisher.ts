import { hostname } from 'node:os';
import type { StatsSnapshot } from '../core/events.js';
import type { Store } from '../core/store.js';

/** How many samples a run keeps for its rate chart, about: the interval between them grows with the run. */
const SAMPLES_PER_RUN = 600;

/**
 * Publishes a run's stats through its Store about once a second (seed: "a running job publishes a
 * stats snapshot through its Store"), for `ferry dashboard` and `ferry copy --status` to read: no
 * second state file. One write at a time; a snapshot that arrives while one is written replaces the
 * one waiting. Progress samples for the chart are kept one a second at first, then further apart
 * (the run's age / 600), so a run of weeks keeps a few thousand. A failed write is dropped: the
 * copy's own records never wait on it.
 */
export class StatsPublisher {
  private lastAt = 0;
  private lastSampleAt = 0;
  private readonly started = Date.now();
  private waiting: StatsSnapshot | undefined;
  private writing: Promise<void> | undefined;
  private readonly host = hostname();

  constructor(private readonly store: Store, private readonly runId: number, private readonly everyMs = 1000) {}

  /** A snapshot from the run's StatsTracker; `last` (the run ends) is published whatever the time. */
  offer(stats: StatsSnapshot, last = false): void {
    const now = Date.now();
    if (!last && now - this.lastAt < this.everyMs) return;
    this.lastAt = now;
    this.waiting = stats;
    this.writing ??= this.drain();
  }

  /** Resolves once what was offered is written (or dropped). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    while (this.waiting) {
      const stats = this.waiting;
      this.waiting = undefined;
      const now = Date.now();
      const gap = Math.max(this.everyMs, (now - this.started) / SAMPLES_PER_RUN);
      const sample = now - this.lastSampleAt >= gap || stats.phase === 'done' ? { tMs: now, bytes: stats.bytesSession, files: stats.filesDone } : undefined;
      if (sample) this.lastSampleAt = now;
      await this.store.publishStats(this.runId, { host: this.host, pid: process.pid, stats: { ...stats, current: stats.current.slice(0, 8) } }, sample).catch(() => undefined);
    }
    this.writing = undefined;
  }
}
