import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  IndexRecord, IndexRoot, IndexStore, OperationCounts, OperationStatus, OperationType, SeenFile, SyncOperation,
} from '../../core/index-store.js';
import type pg from 'pg';
import { FerryError } from '../../core/errors.js';
import { holdWriterLock, openPg, redact, transaction, type PgPool } from './open.js';

const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), 'index-migrations');

const RECORD_COLUMNS = 'repository_id, file_path, file_size, mod_time, content_hash, last_scanned, scan_generation, created_at, updated_at';

interface RecordRow {
  repository_id: string;
  file_path: string;
  file_size: string;
  mod_time: string;
  content_hash: string | null;
  last_scanned: string;
  scan_generation: string;
  created_at: string;
  updated_at: string;
}

function toRecord(r: RecordRow): IndexRecord {
  return {
    repositoryId: r.repository_id, filePath: r.file_path, fileSize: Number(r.file_size), modTimeNs: BigInt(r.mod_time),
    contentHash: r.content_hash, lastScanned: Number(r.last_scanned), scanGeneration: Number(r.scan_generation),
    createdAt: Number(r.created_at), updatedAt: Number(r.updated_at),
  };
}

interface OperationRow {
  id: string;
  repository_id: string;
  operation_type: OperationType;
  files_scanned: string;
  files_added: string;
  files_updated: string;
  files_removed: string;
  start_time: string;
  end_time: string | null;
  duration_ms: string | null;
  status: OperationStatus;
  error_message: string | null;
}

function toOperation(r: OperationRow): SyncOperation {
  return {
    id: Number(r.id), repositoryId: r.repository_id, operationType: r.operation_type, filesScanned: Number(r.files_scanned),
    filesAdded: Number(r.files_added), filesUpdated: Number(r.files_updated), filesRemoved: Number(r.files_removed),
    startTime: Number(r.start_time), endTime: r.end_time === null ? null : Number(r.end_time),
    durationMs: r.duration_ms === null ? null : Number(r.duration_ms), status: r.status, errorMessage: r.error_message,
  };
}

/**
 * `ferry watch`'s index on PostgreSQL (`--db postgres://…`): the same tables and behaviour as the
 * SQLite one; batches go as arrays in one statement each (one round trip, not one per file).
 */
export class PgIndexStore implements IndexStore {
  private constructor(
    readonly location: string,
    private readonly pool: PgPool,
    private readonly lock: { client: pg.PoolClient; lost: () => Error | undefined } | undefined,
  ) {}

  /**
   * One writer at a time, as on SQLite: two reconciliations at once would each remove the other's
   * records. `readOnly` takes no lock (status, listings, history while a watcher runs) and writes nothing.
   */
  static async open(url: string, options: { readOnly?: boolean } = {}): Promise<PgIndexStore> {
    const pool = await openPg(url, MIGRATIONS, 'index');
    return new PgIndexStore(redact(url), pool, options.readOnly ? undefined : await holdWriterLock(pool, url, 'index'));
  }

  private guard(): void {
    const lost = this.lock ? this.lock.lost() : new Error('opened read-only');
    if (lost) throw new FerryError('CONFIG', `The index ${this.location} cannot be written: ${lost.message}.`);
  }

  async addRoot(r: Omit<IndexRoot, 'addedAt' | 'watchedBy' | 'identity'> & { identity?: string | null }): Promise<void> {
    this.guard();
    await this.pool.query(
      `INSERT INTO roots (id, path, device, inode, identity, added_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO UPDATE SET path = excluded.path, device = excluded.device, inode = excluded.inode, identity = excluded.identity`,
      [r.id, r.path, r.device?.toString() ?? null, r.inode?.toString() ?? null, r.identity ?? null, Date.now()],
    );
  }

  async setRootIdentity(id: string, identity: string): Promise<void> {
    this.guard();
    await this.pool.query('UPDATE roots SET identity = $1 WHERE id = $2', [identity, id]);
  }

  async setWatchedBy(id: string, pid: number | null): Promise<void> {
    this.guard();
    await this.pool.query('UPDATE roots SET watched_by = $1 WHERE id = $2', [pid, id]);
  }

  async writerActive(): Promise<boolean> {
    if (this.lock) return true;
    // The writer's session advisory lock (postgres/open.ts holdWriterLock), held by any session.
    const { rows } = await this.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND objid = (hashtext($1)::bigint & 4294967295)::oid AND classid = (hashtext($1)::bigint >> 32 & 4294967295)::oid`,
      ['ferry:index:writer']);
    return Number(rows[0]!.n) > 0;
  }

  async removeRoot(id: string): Promise<void> {
    this.guard();
    await this.pool.query('DELETE FROM roots WHERE id = $1', [id]);
  }

  async roots(): Promise<IndexRoot[]> {
    const { rows } = await this.pool.query<{ id: string; path: string; device: string | null; inode: string | null; identity: string | null; watched_by: string | null; added_at: string }>(
      'SELECT id, path, device, inode, identity, watched_by, added_at FROM roots ORDER BY id COLLATE "C"',
    );
    return rows.map((r) => ({
      id: r.id, path: r.path, device: r.device === null ? null : BigInt(r.device), inode: r.inode === null ? null : BigInt(r.inode),
      identity: r.identity, watchedBy: r.watched_by === null ? null : Number(r.watched_by), addedAt: Number(r.added_at),
    }));
  }

  async root(id: string): Promise<IndexRoot | undefined> {
    return (await this.roots()).find((r) => r.id === id);
  }

  async nextGeneration(id: string): Promise<number> {
    this.guard();
    const { rows } = await this.pool.query<{ g: string }>(
      'UPDATE roots SET scan_generation = scan_generation + 1 WHERE id = $1 RETURNING scan_generation AS g', [id]);
    if (!rows[0]) throw new Error(`no root ${id}`);
    return Number(rows[0].g);
  }

  async currentGeneration(id: string): Promise<number> {
    const { rows } = await this.pool.query<{ g: string }>('SELECT scan_generation AS g FROM roots WHERE id = $1', [id]);
    if (!rows[0]) throw new Error(`no root ${id}`);
    return Number(rows[0].g);
  }

  async recordsFor(id: string, filePaths: string[]): Promise<Map<string, IndexRecord>> {
    const { rows } = await this.pool.query<RecordRow>(
      `SELECT ${RECORD_COLUMNS} FROM file_records WHERE repository_id = $1 AND file_path = ANY($2::text[])`, [id, filePaths]);
    return new Map(rows.map((r) => [r.file_path, toRecord(r)]));
  }

  async putRecords(id: string, generation: number, files: SeenFile[], touched: string[]): Promise<{ added: number; updated: number }> {
    this.guard();
    const now = Date.now();
    return transaction(this.pool, async (client) => {
      let added = 0;
      if (files.length > 0) {
        // xmax = 0 tells an inserted row from an updated one.
        const { rows } = await client.query<{ inserted: boolean }>(
          `INSERT INTO file_records (repository_id, file_path, file_size, mod_time, content_hash, last_scanned, scan_generation, created_at, updated_at)
           SELECT $1, p, s, m, h, $2, $3, $2, $2 FROM unnest($4::text[], $5::bigint[], $6::bigint[], $7::text[]) AS t (p, s, m, h)
           ON CONFLICT (repository_id, file_path) DO UPDATE SET file_size = excluded.file_size, mod_time = excluded.mod_time,
             content_hash = excluded.content_hash, last_scanned = excluded.last_scanned, scan_generation = excluded.scan_generation,
             updated_at = excluded.updated_at
           RETURNING (xmax = 0) AS inserted`,
          [id, now, generation, files.map((f) => f.filePath), files.map((f) => f.fileSize), files.map((f) => f.modTimeNs.toString()),
            files.map((f) => f.contentHash)],
        );
        added = rows.filter((r) => r.inserted).length;
      }
      if (touched.length > 0) {
        await client.query(
          'UPDATE file_records SET scan_generation = $1, last_scanned = $2 WHERE repository_id = $3 AND file_path = ANY($4::text[])',
          [generation, now, id, touched],
        );
      }
      return { added, updated: files.length - added };
    });
  }

  async removeOrphans(id: string, generation: number): Promise<number> {
    this.guard();
    const r = await this.pool.query('DELETE FROM file_records WHERE repository_id = $1 AND scan_generation <> $2', [id, generation]);
    return r.rowCount ?? 0;
  }

  async removeRecords(id: string, filePaths: string[], options: { below?: boolean } = {}): Promise<number> {
    if (filePaths.length === 0) return 0;
    this.guard();
    const r = await this.pool.query(
      `DELETE FROM file_records f USING unnest($2::text[]) AS p (path)
       WHERE f.repository_id = $1 AND (f.file_path = p.path OR ($3 AND left(f.file_path, length(p.path) + 1) = p.path || '/'))`,
      [id, filePaths, options.below !== false],
    );
    return r.rowCount ?? 0;
  }

  async getRecord(id: string, filePath: string): Promise<IndexRecord | undefined> {
    return (await this.recordsFor(id, [filePath])).get(filePath);
  }

  async listRecords(id: string, options: { afterPath?: string; limit?: number } = {}): Promise<IndexRecord[]> {
    // Byte order (COLLATE "C"), as SQLite sorts, whatever the database's locale.
    const { rows } = await this.pool.query<RecordRow>(
      `SELECT ${RECORD_COLUMNS} FROM file_records WHERE repository_id = $1 AND file_path COLLATE "C" > $2
       ORDER BY file_path COLLATE "C" LIMIT $3`,
      [id, options.afterPath ?? '', options.limit ?? null],
    );
    return rows.map(toRecord);
  }

  async countRecords(id: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM file_records WHERE repository_id = $1', [id]);
    return Number(rows[0]!.n);
  }

  async startOperation(id: string, type: OperationType, startedAt = Date.now()): Promise<number> {
    this.guard();
    const { rows } = await this.pool.query<{ id: string }>(
      `INSERT INTO sync_operations (repository_id, operation_type, start_time, status) VALUES ($1, $2, $3, 'running') RETURNING id`,
      [id, type, startedAt],
    );
    return Number(rows[0]!.id);
  }

  async finishOperation(operationId: number, status: Exclude<OperationStatus, 'running'>, c: OperationCounts, error?: string): Promise<void> {
    const end = Date.now();
    await this.pool.query(
      `UPDATE sync_operations SET status = $1, files_scanned = $2, files_added = $3, files_updated = $4, files_removed = $5,
         end_time = $6, duration_ms = $6 - start_time, error_message = $7 WHERE id = $8`,
      [status, c.filesScanned, c.filesAdded, c.filesUpdated, c.filesRemoved, end, error ?? null, operationId],
    );
  }

  async operations(id: string, limit: number): Promise<SyncOperation[]> {
    const { rows } = await this.pool.query<OperationRow>(
      `SELECT id, repository_id, operation_type, files_scanned, files_added, files_updated, files_removed, start_time, end_time,
              duration_ms, status, error_message
       FROM sync_operations WHERE repository_id = $1 ORDER BY id DESC LIMIT $2`,
      [id, limit],
    );
    return rows.map(toOperation);
  }

  async close(): Promise<void> {
    // Let go of the writer's lock before the connection ends: the server sees a closed session a
    // moment later, and a reader asking meanwhile would still see a writer.
    await this.lock?.client.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    this.lock?.client.release();
    await this.pool.end();
  }
}
