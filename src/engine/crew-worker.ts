import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { FerryError } from '../core/errors.js';
import type { Emit } from '../core/events.js';
import type { CrewRole, JobCrew, Store } from '../core/store.js';
import type { Target } from '../core/target.js';
import type { TokenBucket } from './pipeline/limiter.js';
import type { StatsTracker } from './stats.js';
import { StoreBacklog } from './store-backlog.js';
import { pidAlive } from '../store/lock.js';

/** How long a worker's claims last without a heartbeat, unless --lease says otherwise. */
export const DEFAULT_LEASE_MS = 60_000;
const POLL_MS = 200;
/** What one claim takes at most, past its first file: enough to keep a worker busy, little enough to leave work for the others. */
const CLAIM_BYTES = 64 * 1024 * 1024;

/**
 * This process as one worker of a job shared through the Store's crew (PostgreSQL): it joins,
 * beats (renewing its leases, recording its progress, taking its part of the job's one --bwlimit),
 * claims its files, and says whether it is the one that finishes the round. A worker that cannot
 * reach the database for half its lease stops: its claims are about to go to others.
 */
export class CrewWorker {
  private current = 'scanning';
  private timer: NodeJS.Timeout | undefined;
  private lastOk = performance.now();
  private last = { t: performance.now(), bytes: 0 };
  private rate = 0;
  private opened = false;
  /** This worker plans the round and makes its directories: it joined first, or took a dead one's scan over. */
  private leads: boolean;
  private readonly lost = new AbortController();
  private beat: (() => void) | undefined;

  private constructor(
    private readonly crew: JobCrew,
    readonly role: CrewRole,
    private readonly leaseMs: number,
    private readonly stats: StatsTracker,
    private readonly emit: Emit,
    /** Files per claim: as many as the transfer has lanes. */
    private readonly claimRows: number,
  ) {
    this.leads = role === 'lead';
    this.current = role === 'lead' ? 'scanning' : 'waiting';
  }

  static async join(crew: JobCrew, o: { leaseMs: number; claimRows: number }, stats: StatsTracker, emit: Emit): Promise<CrewWorker> {
    await buryTheDead(crew);
    const role = await crew.join(hostname(), process.pid, o.leaseMs);
    return new CrewWorker(crew, role, o.leaseMs, stats, emit, Math.max(1, Math.min(64, o.claimRows)));
  }

  /** What this worker does now, as --status shows it: a change is recorded at once, not at the next heartbeat. */
  get state(): string {
    return this.current;
  }

  set state(next: string) {
    if (next === this.current) return;
    this.current = next;
    this.beat?.();
  }

  /** Aborts when the database was out of reach for half the lease. */
  get signal(): AbortSignal {
    return this.lost.signal;
  }

  /** Beats every second (or a third of the lease, when shorter); `limit`: the job's --bwlimit and the bucket to share it through. */
  start(limit?: { total: number; bucket: TokenBucket }): void {
    const every = Math.max(100, Math.min(1000, Math.floor(this.leaseMs / 3)));
    const beat = async (): Promise<void> => {
      const now = performance.now();
      const bytes = this.stats.bytesSession;
      const rate = now > this.last.t ? ((bytes - this.last.bytes) * 1000) / (now - this.last.t) : 0;
      this.rate = this.rate === 0 ? rate : 0.5 * this.rate + 0.5 * rate;
      this.last = { t: now, bytes };
      try {
        const { copying } = await this.crew.heartbeat({ state: this.state, files: this.stats.filesDone, bytes, rate: this.rate });
        this.lastOk = performance.now();
        if (limit) limit.bucket.setRate(limit.total / Math.max(1, copying));
        this.emit({ type: 'crew', ...(await this.crew.workers()) });
      } catch (err) {
        if (performance.now() - this.lastOk > this.leaseMs / 2 && !this.lost.signal.aborted) {
          this.lost.abort(new FerryError('CONFIG', `Lost the job's database for over half the lease (${(err as Error).message}); stopping before other workers take this worker's files.`, {
            hint: 'Run the same command again when the database is back; ferry resumes where it left off.',
            cause: err,
          }));
        }
      }
    };
    let beating = false;
    this.beat = (): void => {
      if (beating) return;
      beating = true;
      void beat().finally(() => (beating = false));
    };
    this.timer = setInterval(this.beat, every);
    this.timer.unref();
  }

  /** A joined worker waits for the round to open: `copy`, `lead` (it takes over a dead worker's scan) or `over`. */
  async waitForOpen(signal: AbortSignal): Promise<'copy' | 'lead' | 'over'> {
    for (;;) {
      const now = await this.crew.poll();
      if (now !== 'wait') {
        if (now === 'lead') this.leads = true;
        this.state = now === 'lead' ? 'scanning' : 'copying';
        return now;
      }
      await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) throw signal.reason;
    }
  }

  /**
   * The job's backlog as this worker sees it: the lead makes the directories (from the Store, in
   * scan order) and then opens the round; files come by claim, and when only files other workers
   * hold are left, it waits for them (their leases may run out) before it says there is no more.
   */
  backlog(store: Store, target: Target, signal: AbortSignal): StoreBacklog {
    return new StoreBacklog(store, async (after, limit, kinds) => {
      if (kinds === 'dirs') return this.leads ? store.pendingAfter(after, limit, kinds) : [];
      if (!this.opened) {
        this.opened = true;
        if (this.leads) await this.crew.open();
      }
      for (;;) {
        const { rows, waitMs } = await this.crew.claim({ rows: Math.min(limit, this.claimRows), bytes: CLAIM_BYTES });
        // A file whose worker died mid-way: its half-written temp file goes before this worker writes its own.
        for (const r of rows) if (r.was && target.dropTempOf) await target.dropTempOf(r.rel, r.was);
        if (rows.length > 0 || waitMs === 0 || signal.aborted) {
          this.state = rows.length > 0 ? 'copying' : 'standby';
          return rows;
        }
        this.state = 'standby';
        await sleep(waitMs, undefined, { signal }).catch(() => undefined);
        await buryTheDead(this.crew);
      }
    });
  }

  /** After the transfer: true when this is the last worker, which restores directory times and mirrors. */
  async finish(): Promise<boolean> {
    const last = await this.crew.finish();
    this.current = last ? 'finishing' : 'done';
    return last;
  }

  held(): Promise<number> {
    return this.crew.held();
  }

  async leave(state: string): Promise<void> {
    clearInterval(this.timer);
    this.beat = undefined;
    this.current = state;
    await this.crew.leave(state);
  }
}

/**
 * A worker of this host whose process is gone (killed, crashed) is over at once: its files need not
 * wait for its lease. One of another host can only be judged by its lease.
 */
async function buryTheDead(crew: JobCrew): Promise<void> {
  const host = hostname();
  const { workers } = await crew.workers();
  const dead = workers.filter((w) => w.host === host && w.pid !== process.pid && !['done', 'interrupted', 'failed', 'gone'].includes(w.state) && !pidAlive(w.pid));
  await crew.bury(dead.map((w) => w.id));
}
