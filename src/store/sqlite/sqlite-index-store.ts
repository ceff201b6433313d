import type Database from 'better-sqlite3';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  IndexRecord, IndexRoot, IndexStore, OperationCounts, OperationStatus, OperationType, SeenFile, SyncOperation,
} from '../../core/index-store.js';
import { lockHeld } from '../lock.js';
import { openDatabase } from './open.js';

const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), 'index-migrations');

type RecordRow = [string, string, bigint, bigint, string | null, bigint, bigint, bigint, bigint];
const RECORD_COLUMNS = 'repository_id, file_path, file_size, mod_time, content_hash, last_scanned, scan_generation, created_at, updated_at';

function toRecord([repositoryId, filePath, size, mod, hash, scanned, gen, created, updated]: RecordRow): IndexRecord {
  return {
    repositoryId, filePath, fileSize: Number(size), modTimeNs: mod, contentHash: hash, lastScanned: Number(scanned),
    scanGeneration: Number(gen), createdAt: Number(created), updatedAt: Number(updated),
  };
}

type OperationRow = [bigint, string, OperationType, bigint, bigint, bigint, bigint, bigint, bigint | null, bigint | null, OperationStatus, string | null];

function toOperation([id, repositoryId, type, scanned, added, updated, removed, start, end, duration, status, error]: OperationRow): SyncOperation {
  return {
    id: Number(id), repositoryId, operationType: type, filesScanned: Number(scanned), filesAdded: Number(added),
    filesUpdated: Number(updated), filesRemoved: Number(removed), startTime: Number(start), endTime: end === null ? null : Number(end),
    durationMs: duration === null ? null : Number(duration), status, errorMessage: error,
  };
}

/** `ferry watch`'s index in one SQLite file (WAL), its own migrations, one process at a time. */
export class SqliteIndexStore implements IndexStore {
  private constructor(
    readonly location: string,
    private readonly db: Database.Database,
    private readonly release: () => void,
  ) {
    if (!db.readonly) db.pragma('foreign_keys = ON');
  }

  /** `readOnly` takes no lock (status, listings, history while a watcher runs) and cannot write. */
  static open(path: string, options: { readOnly?: boolean } = {}): SqliteIndexStore {
    const { db, release } = openDatabase(path, MIGRATIONS, 'roots', 'Point --db at a new file, or at the index an earlier `ferry watch` wrote.',
      options.readOnly === true);
    return new SqliteIndexStore(path, db, release);
  }

  async addRoot(r: Omit<IndexRoot, 'addedAt' | 'watchedBy' | 'identity'> & { identity?: string | null }): Promise<void> {
    this.db
      .prepare(`INSERT INTO roots (id, path, device, inode, identity, added_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET path = excluded.path, device = excluded.device, inode = excluded.inode,
                identity = excluded.identity`)
      .run(r.id, r.path, r.device, r.inode, r.identity ?? null, Date.now());
  }

  async setRootIdentity(id: string, identity: string): Promise<void> {
    this.db.prepare('UPDATE roots SET identity = ? WHERE id = ?').run(identity, id);
  }

  async setWatchedBy(id: string, pid: number | null): Promise<void> {
    this.db.prepare('UPDATE roots SET watched_by = ? WHERE id = ?').run(pid, id);
  }

  async writerActive(): Promise<boolean> {
    return !this.db.readonly || lockHeld(this.location);
  }

  async removeRoot(id: string): Promise<void> {
    this.db.prepare('DELETE FROM roots WHERE id = ?').run(id);
  }

  async roots(): Promise<IndexRoot[]> {
    const rows = this.db.prepare('SELECT id, path, device, inode, identity, watched_by, added_at FROM roots ORDER BY id').raw(true).all() as Array<
      [string, string, bigint | null, bigint | null, string | null, bigint | null, bigint]
    >;
    return rows.map(([id, path, device, inode, identity, watchedBy, added]) => ({
      id, path, device, inode, identity, watchedBy: watchedBy === null ? null : Number(watchedBy), addedAt: Number(added),
    }));
  }

  async root(id: string): Promise<IndexRoot | undefined> {
    return (await this.roots()).find((r) => r.id === id);
  }

  async nextGeneration(id: string): Promise<number> {
    const row = this.db.prepare('UPDATE roots SET scan_generation = scan_generation + 1 WHERE id = ? RETURNING scan_generation').get(id) as
      | { scan_generation: bigint }
      | undefined;
    if (!row) throw new Error(`no root ${id}`);
    return Number(row.scan_generation);
  }

  async currentGeneration(id: string): Promise<number> {
    const row = this.db.prepare('SELECT scan_generation AS g FROM roots WHERE id = ?').get(id) as { g: bigint } | undefined;
    if (!row) throw new Error(`no root ${id}`);
    return Number(row.g);
  }

  async recordsFor(id: string, filePaths: string[]): Promise<Map<string, IndexRecord>> {
    const stmt = this.db.prepare(`SELECT ${RECORD_COLUMNS} FROM file_records WHERE repository_id = ? AND file_path = ?`).raw(true);
    const out = new Map<string, IndexRecord>();
    for (const p of filePaths) {
      const row = stmt.get(id, p) as RecordRow | undefined;
      if (row) out.set(p, toRecord(row));
    }
    return out;
  }

  async putRecords(id: string, generation: number, files: SeenFile[], touched: string[]): Promise<{ added: number; updated: number }> {
    const now = Date.now();
    const exists = this.db.prepare('SELECT 1 FROM file_records WHERE repository_id = ? AND file_path = ?');
    const upsert = this.db.prepare(`
      INSERT INTO file_records (repository_id, file_path, file_size, mod_time, content_hash, last_scanned, scan_generation, created_at, updated_at)
      VALUES (@id, @path, @size, @mod, @hash, @now, @gen, @now, @now)
      ON CONFLICT (repository_id, file_path) DO UPDATE SET file_size = excluded.file_size, mod_time = excluded.mod_time,
        content_hash = excluded.content_hash, last_scanned = excluded.last_scanned, scan_generation = excluded.scan_generation,
        updated_at = excluded.updated_at`);
    const touch = this.db.prepare('UPDATE file_records SET scan_generation = ?, last_scanned = ? WHERE repository_id = ? AND file_path = ?');
    let added = 0;
    let updated = 0;
    this.db.transaction(() => {
      for (const f of files) {
        if (exists.get(id, f.filePath)) updated++;
        else added++;
        upsert.run({ id, path: f.filePath, size: f.fileSize, mod: f.modTimeNs, hash: f.contentHash, now, gen: generation });
      }
      for (const p of touched) touch.run(generation, now, id, p);
    })();
    return { added, updated };
  }

  async removeOrphans(id: string, generation: number): Promise<number> {
    return Number(this.db.prepare('DELETE FROM file_records WHERE repository_id = ? AND scan_generation <> ?').run(id, generation).changes);
  }

  async removeRecords(id: string, filePaths: string[], options: { below?: boolean } = {}): Promise<number> {
    const one = this.db.prepare('DELETE FROM file_records WHERE repository_id = ? AND file_path = ?');
    // Everything below a removed directory: paths that start with "dir/" (LIKE would need escaping).
    const below = this.db.prepare('DELETE FROM file_records WHERE repository_id = ? AND substr(file_path, 1, ?) = ?');
    let n = 0;
    this.db.transaction(() => {
      for (const p of filePaths) {
        n += Number(one.run(id, p).changes);
        if (options.below !== false) n += Number(below.run(id, p.length + 1, `${p}/`).changes);
      }
    })();
    return n;
  }

  async getRecord(id: string, filePath: string): Promise<IndexRecord | undefined> {
    return (await this.recordsFor(id, [filePath])).get(filePath);
  }

  async listRecords(id: string, options: { afterPath?: string; limit?: number } = {}): Promise<IndexRecord[]> {
    const rows = this.db
      .prepare(`SELECT ${RECORD_COLUMNS} FROM file_records WHERE repository_id = ? AND file_path > ? ORDER BY file_path LIMIT ?`)
      .raw(true)
      .all(id, options.afterPath ?? '', options.limit ?? -1) as RecordRow[];
    return rows.map(toRecord);
  }

  async countRecords(id: string): Promise<number> {
    const r = this.db.prepare('SELECT count(*) AS n FROM file_records WHERE repository_id = ?').get(id) as { n: bigint };
    return Number(r.n);
  }

  async startOperation(id: string, type: OperationType, startedAt = Date.now()): Promise<number> {
    const r = this.db
      .prepare(`INSERT INTO sync_operations (repository_id, operation_type, start_time, status) VALUES (?, ?, ?, 'running')`)
      .run(id, type, startedAt);
    return Number(r.lastInsertRowid);
  }

  async finishOperation(operationId: number, status: Exclude<OperationStatus, 'running'>, c: OperationCounts, error?: string): Promise<void> {
    const end = Date.now();
    this.db
      .prepare(`UPDATE sync_operations SET status = ?, files_scanned = ?, files_added = ?, files_updated = ?, files_removed = ?,
                end_time = ?, duration_ms = ? - start_time, error_message = ? WHERE id = ?`)
      .run(status, c.filesScanned, c.filesAdded, c.filesUpdated, c.filesRemoved, end, end, error ?? null, operationId);
  }

  async operations(id: string, limit: number): Promise<SyncOperation[]> {
    const rows = this.db
      .prepare(`SELECT id, repository_id, operation_type, files_scanned, files_added, files_updated, files_removed, start_time,
                       end_time, duration_ms, status, error_message
                FROM sync_operations WHERE repository_id = ? ORDER BY id DESC LIMIT ?`)
      .raw(true)
      .all(id, limit) as OperationRow[];
    return rows.map(toOperation);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
    this.release();
  }
}
