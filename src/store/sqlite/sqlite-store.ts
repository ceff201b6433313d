import type Database from 'better-sqlite3';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileEntry } from '../../core/entry.js';
import { FerryError } from '../../core/errors.js';
import type { RunMode, RunStatus, RunSummary, Side, StatsSnapshot } from '../../core/events.js';
import type { Backlog, FailedFile, FileRecord, FinishScanOptions, JobFacts, JobInfo, JobStatus, PlannedReplacement, RunLive, RunRecord, ScanResult, SourceMount, Store, SyncedFile } from '../../core/store.js';
import { openDatabase } from './open.js';
import { clampNs, permsOk } from '../clamp.js';

const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

interface Row {
  rowid: number;
  source_path: string;
  dest_path: string;
  rel: string;
  kind: FileRecord['kind'];
  size: bigint;
  created: bigint | null;
  changed: bigint;
  modified: bigint;
  accessed: bigint;
  permissions: bigint;
  uid: bigint | null;
  gid: bigint | null;
  hash: string | null;
  algorithm: string | null;
  status: FileRecord['status'];
  error: string | null;
  attempts: bigint;
}

const PENDING_COLUMNS = ['rowid', 'rel', 'kind', 'size', 'created', 'changed', 'modified', 'accessed', 'permissions', 'uid', 'gid',
  'hash', 'algorithm', 'status', 'error', 'attempts'] as const;

function toRecord(r: Row): FileRecord & { rowid: number } {
  return {
    rowid: Number(r.rowid),
    sourcePath: r.source_path,
    destPath: r.dest_path,
    rel: r.rel,
    kind: r.kind,
    size: r.size,
    createdNs: r.created ?? 0n,
    changedNs: r.changed,
    modifiedNs: r.modified,
    accessedNs: r.accessed,
    permissions: Number(r.permissions),
    uid: Number(r.uid ?? 0n),
    gid: Number(r.gid ?? 0n),
    hash: r.hash,
    algorithm: r.algorithm,
    status: r.status,
    error: r.error,
    attempts: Number(r.attempts),
  };
}

/** Upserts a source entry; an unchanged size, mtime and kind keep the hash (§3.3 "hash preservation"). */
const UPSERT_SOURCE = `
  INSERT INTO files (source_path, dest_path, rel, kind, size, created, changed, modified, accessed,
                     permissions, uid, gid, status, scan_generation)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)
  ON CONFLICT (source_path) DO UPDATE SET
    status = CASE WHEN size = excluded.size AND modified = excluded.modified AND kind = excluded.kind THEN status ELSE 'pending' END,
    hash = CASE WHEN size = excluded.size AND modified = excluded.modified AND kind = excluded.kind THEN hash END,
    algorithm = CASE WHEN size = excluded.size AND modified = excluded.modified AND kind = excluded.kind THEN algorithm END,
    attempts = CASE WHEN size = excluded.size AND modified = excluded.modified THEN attempts ELSE 0 END,
    kind = excluded.kind, size = excluded.size, created = excluded.created, changed = excluded.changed,
    modified = excluded.modified, accessed = excluded.accessed, permissions = excluded.permissions,
    uid = excluded.uid, gid = excluded.gid, scan_generation = excluded.scan_generation`;

interface JobRow {
  source_root: string;
  dest_root: string;
  last_scan_errors: bigint;
  last_scan_complete: bigint;
  dest_precision_ns: bigint | null;
  dest_case_sensitive: bigint | null;
  dest_keeps_modes: bigint | null;
  source_device: bigint | null;
  source_inode: bigint | null;
  source_identity: string | null;
}

/** SQL for the directory key of a relative path: everything up to its last '/', with it ('' at the top). */
function parent(rel: string): string {
  return `rtrim(${rel}, replace(${rel}, '/', ''))`;
}

/** The embedded Store: one SQLite file in WAL mode, migrations applied at open, one writer at a time. */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly release: () => void;
  private sourceRoot = '';
  private destRoot = '';

  private constructor(readonly location: string, db: Database.Database, release: () => void) {
    this.db = db;
    this.release = release;
  }

  /**
   * Opens (creating when missing) the database at `path`, or ":memory:" for a throwaway one.
   * `readOnly` (--status beside a running copy) takes no lock and cannot write; the file must exist.
   */
  static open(path: string, options: { readOnly?: boolean } = {}): SqliteStore {
    const { db, release } = openDatabase(path, MIGRATIONS, 'job',
      'Point --db at a new file, or at the database an earlier `ferry copy` of this pair wrote.', options.readOnly === true);
    return new SqliteStore(path, db, release);
  }

  async bindJob(sourceRoot: string, destRoot: string): Promise<JobInfo> {
    this.sourceRoot = sourceRoot;
    this.destRoot = destRoot;
    const row = this.db.prepare('SELECT * FROM job WHERE id = 1').get() as JobRow | undefined;
    if (!row) {
      this.db
        .prepare('INSERT INTO job (id, source_root, dest_root, created) VALUES (1, ?, ?, ?)')
        .run(sourceRoot, destRoot, Date.now());
      return {
        sourceRoot, destRoot, lastScanErrors: 0, lastScanComplete: false, destPrecisionNs: null,
        destCaseSensitive: null, destKeepsModes: null, sourceDevice: null, sourceInode: null, sourceIdentity: null, lastRunStatus: null, hasRuns: false,
      };
    }
    const last = this.db.prepare('SELECT status FROM runs ORDER BY id DESC LIMIT 1').get() as { status: string | null } | undefined;
    if (row.source_root !== sourceRoot || row.dest_root !== destRoot) {
      throw new FerryError(
        'JOB_MISMATCH',
        `The database ${this.location} belongs to ${row.source_root} → ${row.dest_root}, not ${sourceRoot} → ${destRoot}.`,
        { hint: 'Use another --db for this pair (or leave --db out: each pair gets its own).' },
      );
    }
    return {
      sourceRoot,
      destRoot,
      lastScanErrors: Number(row.last_scan_errors),
      lastScanComplete: row.last_scan_complete === 1n,
      destPrecisionNs: row.dest_precision_ns,
      destCaseSensitive: row.dest_case_sensitive === null ? null : row.dest_case_sensitive === 1n,
      destKeepsModes: row.dest_keeps_modes === null ? null : row.dest_keeps_modes === 1n,
      sourceDevice: row.source_device,
      sourceInode: row.source_inode,
      sourceIdentity: row.source_identity,
      lastRunStatus: (last?.status as RunStatus | null | undefined) ?? null,
      hasRuns: last !== undefined,
    };
  }

  async saveJobFacts(f: Partial<JobFacts>): Promise<void> {
    this.db
      .prepare(`UPDATE job SET dest_precision_ns = coalesce(?, dest_precision_ns),
                dest_case_sensitive = coalesce(?, dest_case_sensitive), source_device = coalesce(?, source_device),
                source_inode = coalesce(?, source_inode), source_identity = coalesce(?, source_identity),
                dest_keeps_modes = coalesce(?, dest_keeps_modes)`)
      .run(f.destPrecisionNs ?? null, f.destCaseSensitive === undefined ? null : Number(f.destCaseSensitive), f.sourceDevice ?? null,
        f.sourceInode ?? null, f.sourceIdentity ?? null, f.destKeepsModes === undefined ? null : Number(f.destKeepsModes));
  }

  async beginScan(): Promise<number> {
    return this.db.transaction(() => {
      this.db.prepare('UPDATE job SET scan_generation = scan_generation + 1, last_scan_complete = 0').run();
      const { g } = this.db.prepare('SELECT scan_generation AS g FROM job').get() as { g: bigint };
      this.firstScan = this.db.prepare('SELECT 1 FROM files LIMIT 1').get() === undefined;
      return Number(g);
    })();
  }

  async dirDigests(side: Side): Promise<Map<string, string>> {
    // Only digests a finished scan vouched for: an interrupted scan recorded new digests before the
    // plan that would have removed the rows its listings no longer hold.
    const rows = this.db
      .prepare('SELECT dir, digest FROM scan_dirs WHERE side = ? AND seen <= (SELECT complete_generation FROM job)')
      .raw(true)
      .all(side) as Array<[string, string]>;
    return new Map(rows);
  }

  async putDirDigests(side: Side, generation: number, digests: Array<[string, string]>, kept: string[]): Promise<void> {
    const put = this.db.prepare(
      'INSERT OR REPLACE INTO scan_dirs (side, dir, digest, seen, kept) VALUES (?, ?, ?, ?, 0)',
    );
    const keep = this.db.prepare('UPDATE scan_dirs SET seen = ?, kept = ? WHERE side = ? AND dir = ?');
    this.db.transaction(() => {
      for (const [dir, digest] of digests) put.run(side, dir, digest, generation);
      for (const dir of kept) keep.run(generation, generation, side, dir);
    })();
  }

  private upsertStmt?: Database.Statement;

  /** True during a scan that began with no rows at all (a new job). */
  private firstScan = false;

  private touchStmt?: Database.Statement;

  async putSourceEntries(generation: number, entries: FileEntry[]): Promise<void> {
    const upsert = (this.upsertStmt ??= this.db.prepare(UPSERT_SOURCE));
    // The common case of a rescan, an unchanged entry, only moves to this scan's generation: a
    // column no index covers, so the row is touched and its indexes are not.
    const touch = (this.touchStmt ??= this.db.prepare(
      `UPDATE files SET scan_generation = ? WHERE source_path = ? AND kind = ? AND size = ? AND modified = ? AND changed = ?`,
    ));
    const root = this.sourceRoot.endsWith('/') ? this.sourceRoot : `${this.sourceRoot}/`;
    const destRoot = this.destRoot.endsWith('/') ? this.destRoot : `${this.destRoot}/`;
    this.db.transaction(() => {
      for (const e of entries) {
        if (e.kind === 'other') continue; // sockets, fifos, devices are not copied
        const sourcePath = root + e.rel; // rel is already a normalized relative path
        const modified = clampNs(e.mtimeNs);
        const changed = clampNs(e.ctimeNs);
        // The first scan has no rows to touch: straight to the insert.
        if (!this.firstScan && touch.run(generation, sourcePath, e.kind, e.size, modified, changed).changes > 0) continue;
        upsert.run(sourcePath, destRoot + e.rel, e.rel, e.kind, e.size, clampNs(e.birthtimeNs), changed, modified,
          clampNs(e.atimeNs), e.mode, e.uid, e.gid, generation);
      }
    })();
  }

  async putDestEntries(generation: number, entries: FileEntry[]): Promise<void> {
    const stmt = this.db.prepare(
      'INSERT OR REPLACE INTO dest_entries (rel, kind, size, modified, generation, mode) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const e of entries) stmt.run(e.rel, e.kind, e.size, clampNs(e.mtimeNs), generation, e.mode);
    })();
  }

  async finishScan(generation: number, options: FinishScanOptions): Promise<ScanResult> {
    const collate = this.collation(options.caseInsensitive);
    const plan = `${options.windowNs}:${options.caseInsensitive}:${options.perms ?? 'narrow'}`;
    return this.db.transaction(() => {
      // Unseen, unless its directory was kept. PARENT is the directory key of a rel ('a/b/' for 'a/b/c').
      // A side whose every directory was kept has nothing unseen: its rows are not even visited.
      const kept = (side: Side, rel: string): string =>
        `${parent(rel)} NOT IN (SELECT dir FROM scan_dirs WHERE side = '${side}' AND kept = @g)`;
      const { source, destination } = options.unchanged;
      if (!source) this.db.prepare(`DELETE FROM files WHERE scan_generation <> @g AND ${kept('source', 'files.rel')}`).run({ g: generation });
      if (!destination) {
        this.db.prepare(`DELETE FROM dest_entries WHERE generation <> @g AND ${kept('destination', 'dest_entries.rel')}`).run({ g: generation });
      }
      this.db.prepare('DELETE FROM scan_dirs WHERE seen <> ?').run(generation);
      const last = this.db.prepare('SELECT last_plan AS p FROM job').get() as { p: string | null };
      const retry = this.db.prepare(`SELECT 1 FROM files WHERE status = 'failed' OR error IS NOT NULL LIMIT 1`).get();
      // Only rows whose status or error changes are written: a no-op rescan rewrites none, and when
      // neither tree changed under the same plan with nothing to retry, none can change.
      if (!(source && destination && last.p === plan && !retry)) this.db
        .prepare(`
          UPDATE files SET error = NULL, status = s.status FROM (
            SELECT f.rowid AS id, f.status AS was, f.error, CASE WHEN EXISTS (
              SELECT 1 FROM dest_entries d
              WHERE d.rel = f.rel${collate} AND d.kind = f.kind
                AND (f.kind = 'dir' OR (d.size = f.size AND abs(d.modified - f.modified) < @window)) AND ${permsOk(options.perms)}
            ) THEN 'synced' ELSE 'pending' END AS status FROM files f) AS s
          WHERE files.rowid = s.id AND (s.status <> s.was OR s.error IS NOT NULL)`)
        .run({ window: options.windowNs });
      this.db
        .prepare('UPDATE job SET last_scan_errors = ?, last_scan_complete = 1, last_plan = ?, complete_generation = ?')
        .run(options.errors, plan, generation);
      const r = this.db
        .prepare(`
          SELECT count(*) AS files,
                 count(*) FILTER (WHERE status = 'pending' AND kind <> 'dir') AS pending,
                 coalesce(sum(size) FILTER (WHERE status = 'pending' AND kind = 'file'), 0) AS pendingBytes,
                 count(*) FILTER (WHERE status = 'synced') AS synced
          FROM files`)
        .get() as { files: bigint; pending: bigint; pendingBytes: bigint; synced: bigint };
      return { files: Number(r.files), pending: Number(r.pending), pendingBytes: r.pendingBytes, synced: Number(r.synced) };
    })();
  }

  /** The collation clause for name matching; creates the NOCASE indexes the first time they are needed. */
  private collation(caseInsensitive: boolean): string {
    if (!caseInsensitive) return '';
    this.db.exec(`CREATE INDEX IF NOT EXISTS files_rel_nocase ON files (rel COLLATE NOCASE);
                  CREATE INDEX IF NOT EXISTS dest_entries_rel_nocase ON dest_entries (rel COLLATE NOCASE);`);
    return ' COLLATE NOCASE';
  }

  async backlog(): Promise<Backlog> {
    const r = this.db
      .prepare(`SELECT count(*) FILTER (WHERE kind <> 'dir') AS files,
                       coalesce(sum(size) FILTER (WHERE kind = 'file'), 0) AS bytes
                FROM files WHERE status = 'pending'`)
      .get() as { files: bigint; bytes: bigint };
    return { files: Number(r.files), bytes: r.bytes };
  }

  private readonly pendingStmts = new Map<string, Database.Statement>();

  async pendingAfter(afterRowid: number, limit: number, kinds?: 'dirs' | 'entries'): Promise<Array<FileRecord & { rowid: number }>> {
    // Raw arrays, and the two full paths rebuilt from the roots: better-sqlite3 spends most of a
    // page's time making row objects and long strings (50k rows: 500 ms as objects, 130 ms so).
    const only = kinds === 'dirs' ? ` AND kind = 'dir'` : kinds === 'entries' ? ` AND kind <> 'dir'` : '';
    let stmt = this.pendingStmts.get(only);
    if (!stmt) {
      stmt = this.db
        .prepare(`SELECT ${PENDING_COLUMNS.join(', ')} FROM files WHERE status = 'pending'${only} AND rowid > ? ORDER BY rowid LIMIT ?`)
        .raw(true);
      this.pendingStmts.set(only, stmt);
    }
    const source = this.sourceRoot.endsWith('/') ? this.sourceRoot : `${this.sourceRoot}/`;
    const dest = this.destRoot.endsWith('/') ? this.destRoot : `${this.destRoot}/`;
    type Raw = [bigint, string, FileRecord['kind'], bigint, bigint | null, bigint, bigint, bigint, bigint, bigint | null, bigint | null,
      string | null, string | null, FileRecord['status'], string | null, bigint];
    return (stmt.all(afterRowid, limit) as Raw[]).map(
      ([rowid, rel, kind, size, created, changed, modified, accessed, permissions, uid, gid, hash, algorithm, status, error, attempts]) => ({
        rowid: Number(rowid), sourcePath: source + rel, destPath: dest + rel, rel, kind, size, createdNs: created ?? 0n,
        changedNs: changed, modifiedNs: modified, accessedNs: accessed, permissions: Number(permissions), uid: Number(uid ?? 0n),
        gid: Number(gid ?? 0n), hash, algorithm, status, error, attempts: Number(attempts),
      }),
    );
  }

  private markSyncedStmt?: Database.Statement;

  async markSynced(files: SyncedFile[]): Promise<void> {
    const stmt = (this.markSyncedStmt ??= this.db.prepare(
      `UPDATE files SET status = 'synced', hash = ?, algorithm = ?, size = ?, modified = ?, error = NULL, synced_at = ?
       WHERE source_path = ?`,
    ));
    const now = Date.now();
    this.db.transaction(() => {
      for (const f of files) stmt.run(f.hash, f.algorithm, f.size, clampNs(f.modifiedNs), now, f.sourcePath);
    })();
  }

  async markFailed(sourcePath: string, error: string): Promise<void> {
    this.db
      .prepare(`UPDATE files SET status = 'failed', error = ?, attempts = attempts + 1 WHERE source_path = ?`)
      .run(error, sourcePath);
  }

  /**
   * A row changed outside a scan no longer matches its directory's digest: the directory must be
   * read whole next time (a directory away for a while and back unchanged would otherwise keep
   * the row's absence for good).
   */
  private distrust(side: Side, rel: string): void {
    const cut = rel.lastIndexOf('/');
    this.db.prepare('DELETE FROM scan_dirs WHERE side = ? AND dir = ?').run(side, cut < 0 ? '' : rel.slice(0, cut + 1));
  }

  private relOf(sourcePath: string): string {
    const root = this.sourceRoot.endsWith('/') ? this.sourceRoot : `${this.sourceRoot}/`;
    return sourcePath.startsWith(root) ? sourcePath.slice(root.length) : sourcePath;
  }

  async requeue(sourcePath: string, e: FileEntry | undefined): Promise<void> {
    this.distrust('source', this.relOf(sourcePath));
    if (!e || e.kind === 'other') {
      this.db
        .prepare(`UPDATE files SET status = 'pending', hash = NULL, algorithm = NULL, attempts = attempts + 1 WHERE source_path = ?`)
        .run(sourcePath);
      return;
    }
    this.db
      .prepare(`UPDATE files SET status = 'pending', hash = NULL, algorithm = NULL, kind = ?, size = ?, modified = ?,
                accessed = ?, changed = ?, attempts = attempts + 1 WHERE source_path = ?`)
      .run(e.kind, e.size, clampNs(e.mtimeNs), clampNs(e.atimeNs), clampNs(e.ctimeNs), sourcePath);
  }

  async forget(sourcePath: string): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM files WHERE source_path = ?').run(sourcePath);
      this.distrust('source', this.relOf(sourcePath));
    })();
  }

  async syncedTotals(): Promise<Backlog> {
    const r = this.db
      .prepare(`SELECT count(*) AS files, coalesce(sum(size), 0) AS bytes FROM files
                WHERE status = 'synced' AND kind = 'file'`)
      .get() as { files: bigint; bytes: bigint };
    return { files: Number(r.files), bytes: r.bytes };
  }

  async extras(afterRel: string | null, limit: number, caseInsensitive: boolean): Promise<Array<{ rel: string; kind: string }>> {
    const collate = this.collation(caseInsensitive);
    return this.db
      .prepare(`SELECT d.rel, d.kind FROM dest_entries d
                WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.rel = d.rel${collate} AND f.kind = d.kind)
                  AND (? IS NULL OR d.rel < ?)
                ORDER BY d.rel DESC LIMIT ?`)
      .all(afterRel, afterRel, limit) as Array<{ rel: string; kind: string }>;
  }

  async kindConflicts(caseInsensitive: boolean): Promise<PlannedReplacement[]> {
    const collate = this.collation(caseInsensitive);
    const rows = this.db
      .prepare(`SELECT f.rel, d.kind, d.size, d.modified FROM dest_entries d JOIN files f ON f.rel = d.rel${collate} WHERE f.kind <> d.kind`)
      .raw(true)
      .all() as Array<[string, string, bigint, bigint]>;
    return rows.map(([rel, kind, size, modifiedNs]) => ({ rel, kind, size, modifiedNs }));
  }

  async dropDestEntry(rel: string): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM dest_entries WHERE rel = ?').run(rel);
      this.distrust('destination', rel);
    })();
  }

  async sourceMounts(): Promise<SourceMount[]> {
    const rows = this.db.prepare('SELECT rel, identity, missing FROM source_mounts ORDER BY rel').raw(true).all() as Array<[string, string, bigint]>;
    return rows.map(([rel, identity, missing]) => ({ rel, identity, missing: missing === 1n }));
  }

  async setSourceMounts(mounts: SourceMount[]): Promise<void> {
    const put = this.db.prepare('INSERT INTO source_mounts (rel, identity, missing) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM source_mounts').run();
      for (const m of mounts) put.run(m.rel, m.identity, m.missing ? 1 : 0);
    })();
  }

  async directories(afterRel: string | null, limit: number): Promise<FileRecord[]> {
    const rows = this.db
      .prepare(`SELECT rowid, * FROM files WHERE kind = 'dir' AND (? IS NULL OR rel < ?) ORDER BY rel DESC LIMIT ?`)
      .all(afterRel, afterRel, limit) as Row[];
    return rows.map(toRecord);
  }

  async describe(): Promise<JobStatus | null> {
    const job = this.db.prepare('SELECT source_root, dest_root FROM job WHERE id = 1').get() as { source_root: string; dest_root: string } | undefined;
    if (!job) return null;
    const n = (v: unknown): number => Number(v ?? 0);
    const c = this.db.prepare(
      `SELECT count(*) FILTER (WHERE status = 'pending' AND kind <> 'dir') AS pf, coalesce(sum(size) FILTER (WHERE status = 'pending' AND kind = 'file'), 0) AS pb,
              count(*) FILTER (WHERE status = 'synced' AND kind = 'file') AS sf, coalesce(sum(size) FILTER (WHERE status = 'synced' AND kind = 'file'), 0) AS sb,
              count(*) FILTER (WHERE status = 'failed') AS failed FROM files`).get() as Record<string, bigint>;
    return {
      sourceRoot: job.source_root, destRoot: job.dest_root,
      pending: { files: n(c.pf), bytes: BigInt(c.pb ?? 0n) }, synced: { files: n(c.sf), bytes: BigInt(c.sb ?? 0n) }, failed: n(c.failed),
      runs: await this.recentRuns(5),
    };
  }

  async recentRuns(limit: number): Promise<RunRecord[]> {
    const n = (v: unknown): number => Number(v ?? 0);
    const runs = this.db.prepare('SELECT id, mode, status, started, ended, files_copied, bytes_copied, files_failed, error FROM runs ORDER BY id DESC LIMIT ?').all(limit) as Array<Record<string, unknown>>;
    return runs.map((r) => ({
      id: n(r.id), mode: String(r.mode), status: (r.status as string | null) ?? null, startedMs: n(r.started), endedMs: r.ended === null ? null : n(r.ended),
      filesCopied: n(r.files_copied), bytesCopied: n(r.bytes_copied), filesFailed: n(r.files_failed), error: (r.error as string | null) ?? null,
    }));
  }

  async failures(limit: number): Promise<FailedFile[]> {
    const rows = this.db.prepare(`SELECT rel, error, attempts FROM files WHERE status = 'failed' ORDER BY rel LIMIT ?`).all(limit) as Array<{ rel: string; error: string | null; attempts: bigint }>;
    return rows.map((r) => ({ rel: r.rel, error: r.error, attempts: Number(r.attempts) }));
  }

  async publishStats(runId: number, live: { host: string; pid: number; stats: StatsSnapshot }, sample?: { tMs: number; bytes: number; files: number }): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare('UPDATE runs SET host = ?, pid = ?, stats = ?, stats_at = ? WHERE id = ?').run(live.host, live.pid, JSON.stringify(live.stats), Date.now(), runId);
      if (sample) this.db.prepare('INSERT OR REPLACE INTO run_samples (run_id, t, bytes, files) VALUES (?, ?, ?, ?)').run(runId, sample.tMs, sample.bytes, sample.files);
    })();
  }

  async liveStats(runId: number): Promise<RunLive | null> {
    const r = this.db.prepare('SELECT host, pid, stats, stats_at FROM runs WHERE id = ?').get(runId) as { host: string | null; pid: bigint | null; stats: string | null; stats_at: bigint | null } | undefined;
    if (!r?.stats) return null;
    const samples = this.db.prepare('SELECT t, bytes, files FROM run_samples WHERE run_id = ? ORDER BY t').raw(true).all(runId) as Array<[bigint, bigint, bigint]>;
    return {
      runId, host: r.host ?? '', pid: Number(r.pid ?? 0), atMs: Number(r.stats_at ?? 0), ageMs: Date.now() - Number(r.stats_at ?? 0), stats: JSON.parse(r.stats) as StatsSnapshot,
      samples: samples.map(([t, bytes, files]) => ({ tMs: Number(t), bytes: Number(bytes), files: Number(files) })),
    };
  }

  async startRun(mode: RunMode): Promise<number> {
    const r = this.db.prepare('INSERT INTO runs (started, mode) VALUES (?, ?)').run(Date.now(), mode);
    return Number(r.lastInsertRowid);
  }

  async finishRun(runId: number, status: RunStatus, s: RunSummary): Promise<void> {
    this.db
      .prepare(`UPDATE runs SET ended = ?, status = ?, files_copied = ?, bytes_copied = ?, files_failed = ?,
                files_deleted = ?, error = ? WHERE id = ?`)
      .run(Date.now(), status, s.filesCopied, s.bytesCopied, s.filesFailed, s.filesDeleted, s.error?.message ?? null, runId);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
    this.release();
  }
}
