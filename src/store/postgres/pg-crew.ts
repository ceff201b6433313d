import type pg from 'pg';
import type { CrewRole, FileRecord, JobCrew, WorkerRecord } from '../../core/store.js';
import { toRecord, type FileRow } from './copy-rows.js';
import { transaction, type PgPool } from './open.js';

/** A worker still counts while its heartbeat is younger than its lease and it has not ended. */
const LIVE = `w.state IN ('scanning', 'waiting', 'copying', 'standby', 'finishing')
  AND w.heartbeat > clock_timestamp() - w.lease_ms * interval '1 millisecond'`;
/** One crew per database (a database holds one job): joins, take-overs and the finish go one at a time. */
const CREW_LOCK = 'ferry:copy:crew';

/**
 * The workers of a PostgreSQL copy job (see JobCrew). Claims live on pending rows only: a row
 * recorded synced or failed lets go of its claim, so a new round resets just the few left.
 */
export class PgCrew implements JobCrew {
  /** This worker's row in `workers`; 0 before it joined. */
  id = 0;
  private round = 0;
  private leaseMs = 60_000;
  private finisher = false;

  constructor(private readonly pool: PgPool) {}

  private locked<T>(run: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return transaction(this.pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [CREW_LOCK]);
      return run(c);
    });
  }

  async join(host: string, pid: number, leaseMs: number): Promise<CrewRole> {
    this.leaseMs = leaseMs;
    return this.locked(async (c) => {
      const live = await c.query(`SELECT 1 FROM workers w WHERE w.round = (SELECT round FROM job) AND ${LIVE} LIMIT 1`);
      const role: CrewRole = live.rowCount === 0 ? 'lead' : 'join';
      if (role === 'lead') {
        await c.query(`UPDATE job SET round = round + 1, round_state = 'scanning'`);
        // What the last round's workers still held is free again: a file held back at once; one a killed
        // worker was copying keeps its name, so whoever claims it next removes that worker's temp file.
        await c.query(`UPDATE files SET claimed_by = NULL, lease_until = NULL WHERE lease_until = 'infinity'`);
        await c.query(`UPDATE files SET lease_until = '-infinity' WHERE claimed_by IS NOT NULL AND lease_until <> '-infinity'`);
      }
      this.round = Number((await c.query<{ round: string }>('SELECT round FROM job')).rows[0]!.round);
      const { rows } = await c.query<{ id: string }>(
        'INSERT INTO workers (round, host, pid, lease_ms, state) VALUES ($1, $2, $3, $4, $5) RETURNING id',
        [this.round, host, pid, leaseMs, role === 'lead' ? 'scanning' : 'waiting'],
      );
      this.id = Number(rows[0]!.id);
      return role;
    });
  }

  async open(): Promise<void> {
    await this.pool.query(`UPDATE job SET round_state = 'copying' WHERE round = $1 AND round_state = 'scanning'`, [this.round]);
    await this.pool.query(`UPDATE workers SET state = 'copying', heartbeat = clock_timestamp() WHERE id = $1`, [this.id]);
  }

  async poll(): Promise<'wait' | 'copy' | 'lead' | 'over'> {
    await this.pool.query('UPDATE workers SET heartbeat = clock_timestamp() WHERE id = $1', [this.id]);
    const job = (await this.pool.query<{ round: string; round_state: string }>('SELECT round, round_state FROM job')).rows[0]!;
    if (Number(job.round) !== this.round || job.round_state === 'finishing' || job.round_state === 'over') return 'over';
    if (job.round_state === 'copying') return 'copy';
    // Scanning: is the worker that scans still there? If not, this one takes the scan over.
    return this.locked(async (c) => {
      const scanning = await c.query(`SELECT 1 FROM workers w WHERE w.round = $1 AND w.state = 'scanning' AND ${LIVE} LIMIT 1`, [this.round]);
      if (scanning.rowCount! > 0) return 'wait';
      const still = await c.query(`SELECT 1 FROM job WHERE round = $1 AND round_state = 'scanning'`, [this.round]);
      if (still.rowCount === 0) return 'wait';
      await c.query(`UPDATE workers SET state = 'scanning', heartbeat = clock_timestamp() WHERE id = $1`, [this.id]);
      return 'lead';
    });
  }

  async claim(limit: { rows: number; bytes: number }): Promise<{ rows: Array<FileRecord & { rowid: number; was: string | null }>; waitMs: number }> {
    // Another worker's expired lease is free; this worker's own never is (it may still be copying it).
    // The candidates are locked, then cut to the byte budget; those cut are let go at the statement's end.
    const { rows } = await this.pool.query<FileRow & { was: string | null }>(
      `WITH c AS (
         SELECT id, size, claimed_by AS was FROM files
         WHERE status = 'pending' AND kind <> 'dir'
           AND (claimed_by IS NULL OR (claimed_by <> $1 AND lease_until < clock_timestamp()))
         ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED),
       b AS (SELECT id, was FROM (SELECT id, was, sum(size) OVER (ORDER BY id) - size AS before FROM c) AS x WHERE before = 0 OR before < $4)
       UPDATE files f SET claimed_by = $1, lease_until = clock_timestamp() + $3 * interval '1 millisecond'
       FROM b WHERE f.id = b.id
       RETURNING f.*, (SELECT w.host || ':' || w.pid FROM workers w WHERE w.id = b.was) AS was`,
      [this.id, limit.rows, this.leaseMs, limit.bytes],
    );
    if (rows.length > 0) return { rows: rows.map((r) => ({ ...toRecord(r), was: r.was })).sort((a, b) => a.rowid - b.rowid), waitMs: 0 };
    const next = (await this.pool.query<{ ms: string | null }>(
      `SELECT extract(epoch FROM min(lease_until) - clock_timestamp()) * 1000 AS ms FROM files
       WHERE status = 'pending' AND kind <> 'dir' AND claimed_by IS NOT NULL AND claimed_by <> $1 AND lease_until <> 'infinity'`,
      [this.id],
    )).rows[0]!.ms;
    if (next === null) return { rows: [], waitMs: 0 };
    return { rows: [], waitMs: Math.min(250, Math.max(50, Math.ceil(Number(next)))) };
  }

  async heartbeat(p: { state: string; files: number; bytes: number; rate: number }): Promise<{ copying: number }> {
    return transaction(this.pool, async (c) => {
      await c.query('UPDATE workers SET heartbeat = clock_timestamp(), state = $2, files = $3, bytes = $4, rate = $5 WHERE id = $1',
        [this.id, p.state, p.files, p.bytes, p.rate]);
      await c.query(
        `UPDATE files SET lease_until = clock_timestamp() + $2 * interval '1 millisecond'
         WHERE claimed_by = $1 AND status = 'pending' AND lease_until <> 'infinity'`,
        [this.id, this.leaseMs],
      );
      const { rows } = await c.query<{ n: string }>(`SELECT count(*) AS n FROM workers w WHERE w.round = $1 AND w.state = 'copying' AND ${LIVE}`, [this.round]);
      return { copying: Number(rows[0]!.n) };
    });
  }

  async finish(): Promise<boolean> {
    this.finisher = await this.locked(async (c) => {
      const others = await c.query(
        `SELECT 1 FROM workers w WHERE w.round = $1 AND w.id <> $2 AND w.state IN ('scanning', 'waiting', 'copying', 'standby', 'finishing')
           AND w.heartbeat > clock_timestamp() - w.lease_ms * interval '1 millisecond' LIMIT 1`,
        [this.round, this.id],
      );
      const open = await c.query(`SELECT 1 FROM job WHERE round = $1 AND round_state = 'copying'`, [this.round]);
      if (others.rowCount! > 0 || open.rowCount === 0) {
        await c.query(`UPDATE workers SET state = 'done', heartbeat = clock_timestamp() WHERE id = $1`, [this.id]);
        return false;
      }
      await c.query(`UPDATE job SET round_state = 'finishing' WHERE round = $1`, [this.round]);
      await c.query(`UPDATE workers SET state = 'finishing', heartbeat = clock_timestamp() WHERE id = $1`, [this.id]);
      // Every worker is done: what they held back is the finisher's to retry (after the mirror) or leave pending.
      await c.query('UPDATE files SET claimed_by = NULL, lease_until = NULL WHERE claimed_by IS NOT NULL');
      return true;
    });
    return this.finisher;
  }

  async bury(ids: number[]): Promise<void> {
    if (ids.length === 0) return;
    await transaction(this.pool, async (c) => {
      await c.query(`UPDATE workers SET state = 'gone' WHERE id = ANY($1::bigint[])`, [ids]);
      // Still claimed by the dead worker, so whoever claims the file next removes its temp file.
      await c.query(`UPDATE files SET lease_until = '-infinity' WHERE claimed_by = ANY($1::bigint[]) AND status = 'pending' AND lease_until <> 'infinity'`, [ids]);
    });
  }

  async held(): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM files WHERE claimed_by = $1 AND status = 'pending' AND kind <> 'dir'`, [this.id]);
    return Number(rows[0]!.n);
  }

  async leave(state: string): Promise<void> {
    if (this.id === 0) return;
    await transaction(this.pool, async (c) => {
      await c.query('UPDATE workers SET state = $2, heartbeat = clock_timestamp() WHERE id = $1', [this.id, state]);
      // A worker that stops lets go of what it was copying at once (what it held back stays held).
      await c.query(`UPDATE files SET claimed_by = NULL, lease_until = NULL WHERE claimed_by = $1 AND lease_until <> 'infinity'`, [this.id]);
      if (this.finisher) await c.query(`UPDATE job SET round_state = 'over' WHERE round = $1`, [this.round]);
    });
  }

  async workers(): Promise<{ round: number; roundState: string; nowMs: number; workers: WorkerRecord[] }> {
    const job = (await this.pool.query<{ round: string; round_state: string; now: string }>(
      'SELECT round, round_state, extract(epoch FROM clock_timestamp()) * 1000 AS now FROM job')).rows[0];
    if (!job) return { round: 0, roundState: 'over', nowMs: Date.now(), workers: [] };
    const { rows } = await this.pool.query<{
      id: string; host: string; pid: number; state: string; files: string; bytes: string; rate: number; started: string; heartbeat: string; live: boolean;
    }>(
      `SELECT w.id, w.host, w.pid, w.state, w.files, w.bytes, w.rate, extract(epoch FROM w.started) * 1000 AS started,
              extract(epoch FROM w.heartbeat) * 1000 AS heartbeat,
              (w.heartbeat > clock_timestamp() - w.lease_ms * interval '1 millisecond') AS live
       FROM workers w WHERE w.round = $1 ORDER BY w.id`,
      [job.round],
    );
    const ending = new Set(['done', 'interrupted', 'failed', 'gone']);
    return {
      round: Number(job.round),
      roundState: job.round_state,
      nowMs: Math.round(Number(job.now)),
      workers: rows.map((r) => ({
        id: Number(r.id), host: r.host, pid: r.pid, state: r.state, files: Number(r.files), bytes: Number(r.bytes), rate: r.rate,
        startedMs: Math.round(Number(r.started)), heartbeatMs: Math.round(Number(r.heartbeat)), stale: !r.live && !ending.has(r.state),
      })),
    };
  }
}
