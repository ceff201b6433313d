import type pg from 'pg';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileEntry } from '../../core/entry.js';
import { FerryError } from '../../core/errors.js';
import type { RunMode, RunStatus, RunSummary, Side, StatsSnapshot } from '../../core/events.js';
import { clampNs, permsOk } from '../clamp.js';
import type { Backlog, FailedFile, FileRecord, FinishScanOptions, JobFacts, JobInfo, JobStatus, PlannedReplacement, RunLive, RunRecord, ScanResult, SourceMount, Store, SyncedFile } from '../../core/store.js';
import { toRecord, type FileRow } from './copy-rows.js';
import { openPg, openPgReadOnly, redact, transaction, type PgPool } from './open.js';
import { PgCrew } from './pg-crew.js';

const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Directory key of a rel, as SQLite's rtrim trick gives it: 'a/b/' for 'a/b/c', '' at the top. */
const parent = (rel: string): string => `regexp_replace(${rel}, '[^/]*$', '')`;
const str = (n: bigint | number | null | undefined): string | null => (n === null || n === undefined ? null : n.toString());

/**
 * The copy Store on PostgreSQL (`ferry copy … --db postgres://…`): the same tables and the same
 * behaviour as the SQLite file (one conformance suite runs on both). One job per database; any
 * number of processes work on it at once as its crew (pg-crew.ts), each settling only the rows it
 * claimed. Batches travel as arrays in one statement.
 */
export class PgStore implements Store {
  private sourceRoot = '';
  private destRoot = '';
  private firstScan = false;

  /** Several processes may work on the job at once: they share its backlog through claims (pg-crew.ts). */
  readonly crew: PgCrew;

  private constructor(
    readonly location: string,
    private readonly pool: PgPool,
  ) {
    this.crew = new PgCrew(pool);
  }

  /** `readOnly`: reads beside the job's workers, never migrates or writes (the dashboard, --status). */
  static async open(url: string, options: { readOnly?: boolean } = {}): Promise<PgStore> {
    return new PgStore(redact(url), options.readOnly ? await openPgReadOnly(url, 'copy') : await openPg(url, MIGRATIONS, 'copy'));
  }

  private tx<T>(run: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return transaction(this.pool, run);
  }

  /**
   * A row this worker may settle: one it claimed, or one nobody claimed (directories, a job with one
   * worker). A row whose lease ran out and that another worker claimed is that worker's to record.
   */
  private get mine(): string {
    return `(claimed_by IS NULL OR claimed_by = ${this.crew.id})`;
  }

  async bindJob(sourceRoot: string, destRoot: string): Promise<JobInfo> {
    this.sourceRoot = sourceRoot;
    this.destRoot = destRoot;
    let row = (await this.pool.query('SELECT * FROM job WHERE id = 1')).rows[0] as Record<string, unknown> | undefined;
    // Workers started at once on a new database race to make the job: one makes it, the others bind to it.
    const made = !row && (await this.pool.query('INSERT INTO job (id, source_root, dest_root, created) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING', [sourceRoot, destRoot, Date.now()])).rowCount === 1;
    if (!row && !made) row = (await this.pool.query('SELECT * FROM job WHERE id = 1')).rows[0] as Record<string, unknown> | undefined;
    if (!row) {
      return {
        sourceRoot, destRoot, lastScanErrors: 0, lastScanComplete: false, destPrecisionNs: null, destCaseSensitive: null, destKeepsModes: null,
        sourceDevice: null, sourceInode: null, sourceIdentity: null, lastRunStatus: null, hasRuns: false,
      };
    }
    if (row.source_root !== sourceRoot || row.dest_root !== destRoot) {
      throw new FerryError(
        'JOB_MISMATCH',
        `The database ${this.location} belongs to ${String(row.source_root)} → ${String(row.dest_root)}, not ${sourceRoot} → ${destRoot}.`,
        { hint: 'Use another --db for this pair (or leave --db out: each pair gets its own).' },
      );
    }
    const last = (await this.pool.query<{ status: RunStatus | null }>('SELECT status FROM runs ORDER BY id DESC LIMIT 1')).rows[0];
    const big = (v: unknown): bigint | null => (v === null ? null : BigInt(v as string));
    return {
      sourceRoot, destRoot, lastScanErrors: Number(row.last_scan_errors), lastScanComplete: row.last_scan_complete === true,
      destPrecisionNs: big(row.dest_precision_ns), destCaseSensitive: row.dest_case_sensitive as boolean | null,
      destKeepsModes: (row.dest_keeps_modes as boolean | null) ?? null,
      sourceDevice: big(row.source_device), sourceInode: big(row.source_inode), sourceIdentity: (row.source_identity as string | null) ?? null,
      lastRunStatus: last?.status ?? null, hasRuns: last !== undefined,
    };
  }

  async saveJobFacts(f: Partial<JobFacts>): Promise<void> {
    await this.pool.query(
      `UPDATE job SET dest_precision_ns = coalesce($1, dest_precision_ns), dest_case_sensitive = coalesce($2, dest_case_sensitive),
         source_device = coalesce($3, source_device), source_inode = coalesce($4, source_inode),
         source_identity = coalesce($5, source_identity), dest_keeps_modes = coalesce($6, dest_keeps_modes)`,
      [str(f.destPrecisionNs), f.destCaseSensitive ?? null, str(f.sourceDevice), str(f.sourceInode), f.sourceIdentity ?? null, f.destKeepsModes ?? null],
    );
  }

  async beginScan(): Promise<number> {
    const { rows } = await this.pool.query<{ g: string }>(
      'UPDATE job SET scan_generation = scan_generation + 1, last_scan_complete = FALSE RETURNING scan_generation AS g');
    this.firstScan = (await this.pool.query('SELECT 1 FROM files LIMIT 1')).rowCount === 0;
    return Number(rows[0]!.g);
  }

  async dirDigests(side: Side): Promise<Map<string, string>> {
    const { rows } = await this.pool.query<{ dir: string; digest: string }>(
      'SELECT dir, digest FROM scan_dirs WHERE side = $1 AND seen <= (SELECT complete_generation FROM job)', [side]);
    return new Map(rows.map((r) => [r.dir, r.digest]));
  }

  async putDirDigests(side: Side, generation: number, digests: Array<[string, string]>, kept: string[]): Promise<void> {
    await this.tx(async (c) => {
      if (digests.length > 0) {
        await c.query(
          `INSERT INTO scan_dirs (side, dir, digest, seen, kept) SELECT $1, d, h, $2, 0 FROM unnest($3::text[], $4::text[]) AS t (d, h)
           ON CONFLICT (side, dir) DO UPDATE SET digest = excluded.digest, seen = excluded.seen, kept = 0`,
          [side, generation, digests.map((d) => d[0]), digests.map((d) => d[1])],
        );
      }
      if (kept.length > 0) {
        await c.query('UPDATE scan_dirs SET seen = $1, kept = $1 WHERE side = $2 AND dir = ANY($3::text[])', [generation, side, kept]);
      }
    });
  }

  async putSourceEntries(generation: number, entries: FileEntry[]): Promise<void> {
    const root = this.sourceRoot.endsWith('/') ? this.sourceRoot : `${this.sourceRoot}/`;
    const destRoot = this.destRoot.endsWith('/') ? this.destRoot : `${this.destRoot}/`;
    let rows = entries.filter((e) => e.kind !== 'other'); // sockets, fifos, devices are not copied
    if (rows.length === 0) return;
    await this.tx(async (c) => {
      if (!this.firstScan) {
        // Unchanged entries only move to this generation (their indexes untouched), as on SQLite.
        const touched = await c.query<{ rel: string }>(
          `UPDATE files f SET scan_generation = $1 FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[]) AS t (p, k, s, m, ch)
           WHERE f.source_path = t.p AND f.kind = t.k AND f.size = t.s AND f.modified = t.m AND f.changed = t.ch RETURNING f.rel`,
          [generation, rows.map((e) => root + e.rel), rows.map((e) => e.kind), rows.map((e) => e.size.toString()),
            rows.map((e) => clampNs(e.mtimeNs).toString()), rows.map((e) => clampNs(e.ctimeNs).toString())],
        );
        const done = new Set(touched.rows.map((r) => r.rel));
        rows = rows.filter((e) => !done.has(e.rel));
      }
      if (rows.length === 0) return;
      await c.query(
        `INSERT INTO files (source_path, dest_path, rel, kind, size, created, changed, modified, accessed, permissions, uid, gid, status, scan_generation)
         SELECT p, d, r, k, s, cr, ch, m, a, pm, u, g, 'pending', $1
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[],
                     $11::bigint[], $12::bigint[], $13::bigint[]) AS t (p, d, r, k, s, cr, ch, m, a, pm, u, g)
         ON CONFLICT (source_path) DO UPDATE SET
           status = CASE WHEN files.size = excluded.size AND files.modified = excluded.modified AND files.kind = excluded.kind THEN files.status ELSE 'pending' END,
           hash = CASE WHEN files.size = excluded.size AND files.modified = excluded.modified AND files.kind = excluded.kind THEN files.hash END,
           algorithm = CASE WHEN files.size = excluded.size AND files.modified = excluded.modified AND files.kind = excluded.kind THEN files.algorithm END,
           attempts = CASE WHEN files.size = excluded.size AND files.modified = excluded.modified THEN files.attempts ELSE 0 END,
           kind = excluded.kind, size = excluded.size, created = excluded.created, changed = excluded.changed,
           modified = excluded.modified, accessed = excluded.accessed, permissions = excluded.permissions,
           uid = excluded.uid, gid = excluded.gid, scan_generation = excluded.scan_generation`,
        [generation, rows.map((e) => root + e.rel), rows.map((e) => destRoot + e.rel), rows.map((e) => e.rel), rows.map((e) => e.kind),
          rows.map((e) => e.size.toString()), rows.map((e) => clampNs(e.birthtimeNs).toString()), rows.map((e) => clampNs(e.ctimeNs).toString()),
          rows.map((e) => clampNs(e.mtimeNs).toString()), rows.map((e) => clampNs(e.atimeNs).toString()), rows.map((e) => e.mode),
          rows.map((e) => e.uid), rows.map((e) => e.gid)],
      );
    });
  }

  async putDestEntries(generation: number, entries: FileEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.pool.query(
      `INSERT INTO dest_entries (rel, kind, size, modified, generation, mode)
       SELECT r, k, s, m, $1, md FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[]) AS t (r, k, s, m, md)
       ON CONFLICT (rel) DO UPDATE SET kind = excluded.kind, size = excluded.size, modified = excluded.modified, generation = excluded.generation,
         mode = excluded.mode`,
      [generation, entries.map((e) => e.rel), entries.map((e) => e.kind), entries.map((e) => e.size.toString()),
        entries.map((e) => clampNs(e.mtimeNs).toString()), entries.map((e) => e.mode)],
    );
  }

  async finishScan(generation: number, options: FinishScanOptions): Promise<ScanResult> {
    const plan = `${options.windowNs}:${options.caseInsensitive}:${options.perms ?? 'narrow'}`;
    const same = (d: string, f: string): string => (options.caseInsensitive ? `lower(${d}) = lower(${f})` : `${d} = ${f}`);
    return this.tx(async (c) => {
      const kept = (side: Side, rel: string): string => `${parent(rel)} NOT IN (SELECT dir FROM scan_dirs WHERE side = '${side}' AND kept = $1)`;
      const { source, destination } = options.unchanged;
      if (!source) await c.query(`DELETE FROM files WHERE scan_generation <> $1 AND ${kept('source', 'files.rel')}`, [generation]);
      if (!destination) await c.query(`DELETE FROM dest_entries WHERE generation <> $1 AND ${kept('destination', 'dest_entries.rel')}`, [generation]);
      await c.query('DELETE FROM scan_dirs WHERE seen <> $1', [generation]);
      const last = (await c.query<{ p: string | null }>('SELECT last_plan AS p FROM job')).rows[0]!;
      const retry = (await c.query(`SELECT 1 FROM files WHERE status = 'failed' OR error IS NOT NULL LIMIT 1`)).rowCount! > 0;
      if (!(source && destination && last.p === plan && !retry)) {
        await c.query(
          `UPDATE files SET error = NULL, status = s.status FROM (
             SELECT f.id, f.status AS was, f.error, CASE WHEN EXISTS (
               SELECT 1 FROM dest_entries d WHERE ${same('d.rel', 'f.rel')} AND d.kind = f.kind
                 AND (f.kind = 'dir' OR (d.size = f.size AND abs(d.modified - f.modified) < $1)) AND ${permsOk(options.perms)}
             ) THEN 'synced' ELSE 'pending' END AS status FROM files f) AS s
           WHERE files.id = s.id AND (s.status <> s.was OR s.error IS NOT NULL)`,
          [options.windowNs.toString()],
        );
      }
      await c.query('UPDATE job SET last_scan_errors = $1, last_scan_complete = TRUE, last_plan = $2, complete_generation = $3',
        [options.errors, plan, generation]);
      const r = (await c.query<{ files: string; pending: string; pendingbytes: string; synced: string }>(
        `SELECT count(*) AS files, count(*) FILTER (WHERE status = 'pending' AND kind <> 'dir') AS pending,
                coalesce(sum(size) FILTER (WHERE status = 'pending' AND kind = 'file'), 0) AS pendingbytes,
                count(*) FILTER (WHERE status = 'synced') AS synced FROM files`)).rows[0]!;
      return { files: Number(r.files), pending: Number(r.pending), pendingBytes: BigInt(r.pendingbytes), synced: Number(r.synced) };
    });
  }

  async backlog(): Promise<Backlog> {
    const r = (await this.pool.query<{ files: string; bytes: string }>(
      `SELECT count(*) FILTER (WHERE kind <> 'dir') AS files, coalesce(sum(size) FILTER (WHERE kind = 'file'), 0) AS bytes
       FROM files WHERE status = 'pending'`)).rows[0]!;
    return { files: Number(r.files), bytes: BigInt(r.bytes) };
  }

  async pendingAfter(afterRowid: number, limit: number, kinds?: 'dirs' | 'entries'): Promise<Array<FileRecord & { rowid: number }>> {
    const only = kinds === 'dirs' ? ` AND kind = 'dir'` : kinds === 'entries' ? ` AND kind <> 'dir'` : '';
    const { rows } = await this.pool.query<FileRow>(
      `SELECT * FROM files WHERE status = 'pending'${only} AND id > $1 ORDER BY id LIMIT $2`, [afterRowid, limit]);
    return rows.map(toRecord);
  }

  async markSynced(files: SyncedFile[]): Promise<void> {
    if (files.length === 0) return;
    await this.pool.query(
      `UPDATE files f SET status = 'synced', hash = t.h, algorithm = t.a, size = t.s, modified = t.m, error = NULL, synced_at = $1,
         claimed_by = NULL, lease_until = NULL
       FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[]) AS t (p, h, a, s, m)
       WHERE f.source_path = t.p AND f.status = 'pending' AND ${this.mine.replace(/claimed_by/g, 'f.claimed_by')}`,
      [Date.now(), files.map((f) => f.sourcePath), files.map((f) => f.hash), files.map((f) => f.algorithm), files.map((f) => f.size.toString()),
        files.map((f) => clampNs(f.modifiedNs).toString())],
    );
  }

  async markFailed(sourcePath: string, error: string): Promise<void> {
    await this.pool.query(`UPDATE files SET status = 'failed', error = $1, attempts = attempts + 1, claimed_by = NULL, lease_until = NULL
       WHERE source_path = $2 AND ${this.mine}`, [error, sourcePath]);
  }

  /** A row changed outside a scan no longer matches its directory's digest (see SqliteStore). */
  private async distrust(c: pg.PoolClient | PgPool, side: Side, rel: string): Promise<void> {
    const cut = rel.lastIndexOf('/');
    await c.query('DELETE FROM scan_dirs WHERE side = $1 AND dir = $2', [side, cut < 0 ? '' : rel.slice(0, cut + 1)]);
  }

  /** A file that changed while read waits for the next round: held by this worker, not claimed by another. */
  private get hold(): string {
    return this.crew.id === 0 ? '' : `, claimed_by = ${this.crew.id}, lease_until = 'infinity'`;
  }

  private relOf(sourcePath: string): string {
    const root = this.sourceRoot.endsWith('/') ? this.sourceRoot : `${this.sourceRoot}/`;
    return sourcePath.startsWith(root) ? sourcePath.slice(root.length) : sourcePath;
  }

  async requeue(sourcePath: string, e: FileEntry | undefined): Promise<void> {
    await this.distrust(this.pool, 'source', this.relOf(sourcePath));
    if (!e || e.kind === 'other') {
      await this.pool.query(`UPDATE files SET status = 'pending', hash = NULL, algorithm = NULL, attempts = attempts + 1${this.hold} WHERE source_path = $1 AND ${this.mine}`, [sourcePath]);
      return;
    }
    await this.pool.query(
      `UPDATE files SET status = 'pending', hash = NULL, algorithm = NULL, kind = $1, size = $2, modified = $3, accessed = $4, changed = $5,
         attempts = attempts + 1${this.hold} WHERE source_path = $6 AND ${this.mine}`,
      [e.kind, e.size.toString(), clampNs(e.mtimeNs).toString(), clampNs(e.atimeNs).toString(), clampNs(e.ctimeNs).toString(), sourcePath],
    );
  }

  async forget(sourcePath: string): Promise<void> {
    await this.tx(async (c) => {
      await c.query(`DELETE FROM files WHERE source_path = $1 AND ${this.mine}`, [sourcePath]);
      await this.distrust(c, 'source', this.relOf(sourcePath));
    });
  }

  async syncedTotals(): Promise<Backlog> {
    const r = (await this.pool.query<{ files: string; bytes: string }>(
      `SELECT count(*) AS files, coalesce(sum(size), 0) AS bytes FROM files WHERE status = 'synced' AND kind = 'file'`)).rows[0]!;
    return { files: Number(r.files), bytes: BigInt(r.bytes) };
  }

  async extras(afterRel: string | null, limit: number, caseInsensitive: boolean): Promise<Array<{ rel: string; kind: string }>> {
    const same = caseInsensitive ? 'lower(f.rel) = lower(d.rel)' : 'f.rel = d.rel';
    const { rows } = await this.pool.query<{ rel: string; kind: string }>(
      `SELECT d.rel, d.kind FROM dest_entries d
       WHERE NOT EXISTS (SELECT 1 FROM files f WHERE ${same} AND f.kind = d.kind)
         AND ($1::text IS NULL OR d.rel COLLATE "C" < $1::text)
       ORDER BY d.rel COLLATE "C" DESC LIMIT $2`,
      [afterRel, limit],
    );
    return rows;
  }

  async kindConflicts(caseInsensitive: boolean): Promise<PlannedReplacement[]> {
    const same = caseInsensitive ? 'lower(f.rel) = lower(d.rel)' : 'f.rel = d.rel';
    const { rows } = await this.pool.query<{ rel: string; kind: string; size: string; modified: string }>(
      `SELECT f.rel, d.kind, d.size, d.modified FROM dest_entries d JOIN files f ON ${same} WHERE f.kind <> d.kind`);
    return rows.map((r) => ({ rel: r.rel, kind: r.kind, size: BigInt(r.size), modifiedNs: BigInt(r.modified) }));
  }

  async sourceMounts(): Promise<SourceMount[]> {
    const { rows } = await this.pool.query<{ rel: string; identity: string; missing: boolean }>('SELECT rel, identity, missing FROM source_mounts ORDER BY rel COLLATE "C"');
    return rows.map((r) => ({ rel: r.rel, identity: r.identity, missing: r.missing }));
  }

  async setSourceMounts(mounts: SourceMount[]): Promise<void> {
    await this.tx(async (c) => {
      await c.query('DELETE FROM source_mounts');
      if (mounts.length > 0) {
        await c.query('INSERT INTO source_mounts (rel, identity, missing) SELECT * FROM unnest($1::text[], $2::text[], $3::boolean[])',
          [mounts.map((m) => m.rel), mounts.map((m) => m.identity), mounts.map((m) => m.missing)]);
      }
    });
  }

  async dropDestEntry(rel: string): Promise<void> {
    await this.tx(async (c) => {
      await c.query('DELETE FROM dest_entries WHERE rel = $1', [rel]);
      await this.distrust(c, 'destination', rel);
    });
  }

  async directories(afterRel: string | null, limit: number): Promise<FileRecord[]> {
    const { rows } = await this.pool.query<FileRow>(
      `SELECT * FROM files WHERE kind = 'dir' AND ($1::text IS NULL OR rel COLLATE "C" < $1::text) ORDER BY rel COLLATE "C" DESC LIMIT $2`,
      [afterRel, limit],
    );
    return rows.map(toRecord);
  }

  async describe(): Promise<JobStatus | null> {
    const job = (await this.pool.query<{ source_root: string; dest_root: string }>('SELECT source_root, dest_root FROM job WHERE id = 1')).rows[0];
    if (!job) return null;
    const c = (await this.pool.query<Record<string, string>>(
      `SELECT count(*) FILTER (WHERE status = 'pending' AND kind <> 'dir') AS pf, coalesce(sum(size) FILTER (WHERE status = 'pending' AND kind = 'file'), 0) AS pb,
              count(*) FILTER (WHERE status = 'synced' AND kind = 'file') AS sf, coalesce(sum(size) FILTER (WHERE status = 'synced' AND kind = 'file'), 0) AS sb,
              count(*) FILTER (WHERE status = 'failed') AS failed FROM files`)).rows[0]!;
    const n = (v: string | null | undefined): number => Number(v ?? 0);
    return {
      sourceRoot: job.source_root, destRoot: job.dest_root,
      pending: { files: n(c.pf), bytes: BigInt(c.pb!) }, synced: { files: n(c.sf), bytes: BigInt(c.sb!) }, failed: n(c.failed),
      runs: await this.recentRuns(5),
    };
  }

  async recentRuns(limit: number): Promise<RunRecord[]> {
    const { rows } = await this.pool.query<Record<string, string | null>>('SELECT id, mode, status, started, ended, files_copied, bytes_copied, files_failed, error FROM runs ORDER BY id DESC LIMIT $1', [limit]);
    const n = (v: string | null | undefined): number => Number(v ?? 0);
    return rows.map((r) => ({
      id: n(r.id), mode: String(r.mode), status: r.status ?? null, startedMs: n(r.started), endedMs: r.ended === null ? null : n(r.ended),
      filesCopied: n(r.files_copied), bytesCopied: n(r.bytes_copied), filesFailed: n(r.files_failed), error: r.error ?? null,
    }));
  }

  async failures(limit: number): Promise<FailedFile[]> {
    const { rows } = await this.pool.query<{ rel: string; error: string | null; attempts: string }>(`SELECT rel, error, attempts FROM files WHERE status = 'failed' ORDER BY rel LIMIT $1`, [limit]);
    return rows.map((r) => ({ rel: r.rel, error: r.error, attempts: Number(r.attempts) }));
  }

  async publishStats(runId: number, live: { host: string; pid: number; stats: StatsSnapshot }, sample?: { tMs: number; bytes: number; files: number }): Promise<void> {
    // The database's clock: the workers of one job may run on machines whose clocks differ.
    await this.pool.query(`UPDATE runs SET host = $1, pid = $2, stats = $3, stats_at = (extract(epoch FROM clock_timestamp()) * 1000)::bigint WHERE id = $4`, [live.host, live.pid, JSON.stringify(live.stats), runId]);
    if (sample) {
      await this.pool.query('INSERT INTO run_samples (run_id, t, bytes, files) VALUES ($1, $2, $3, $4) ON CONFLICT (run_id, t) DO NOTHING', [runId, sample.tMs, sample.bytes, sample.files]);
    }
  }

  async liveStats(runId: number): Promise<RunLive | null> {
    const r = (await this.pool.query<{ host: string | null; pid: number | null; stats: string | null; stats_at: string | null; age: string | null }>(
      `SELECT host, pid, stats, stats_at, (extract(epoch FROM clock_timestamp()) * 1000)::bigint - stats_at AS age FROM runs WHERE id = $1`, [runId])).rows[0];
    if (!r?.stats) return null;
    const { rows } = await this.pool.query<{ t: string; bytes: string; files: string }>('SELECT t, bytes, files FROM run_samples WHERE run_id = $1 ORDER BY t', [runId]);
    return {
      runId, host: r.host ?? '', pid: Number(r.pid ?? 0), atMs: Number(r.stats_at ?? 0), ageMs: Number(r.age ?? 0), stats: JSON.parse(r.stats) as StatsSnapshot,
      samples: rows.map((x) => ({ tMs: Number(x.t), bytes: Number(x.bytes), files: Number(x.files) })),
    };
  }

  async startRun(mode: RunMode): Promise<number> {
    const { rows } = await this.pool.query<{ id: string }>('INSERT INTO runs (started, mode) VALUES ($1, $2) RETURNING id', [Date.now(), mode]);
    return Number(rows[0]!.id);
  }

  async finishRun(runId: number, status: RunStatus, s: RunSummary): Promise<void> {
    await this.pool.query(
      `UPDATE runs SET ended = $1, status = $2, files_copied = $3, bytes_copied = $4, files_failed = $5, files_deleted = $6, error = $7 WHERE id = $8`,
      [Date.now(), status, s.filesCopied, s.bytesCopied, s.filesFailed, s.filesDeleted, s.error?.message ?? null, runId],
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
