import type pg from 'pg';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerryError } from '../../core/errors.js';
import type { ApiKeyRow, Change, ClientRow, ConflictRow, RecordWrite, ServerFile, ServerStore, UploadSession } from '../../core/server-store.js';
import { holdWriterLock, openPg, redact, transaction, type PgPool } from './open.js';
import {
  CHANGE_COLUMNS, CLIENT_COLUMNS, FILE_COLUMNS, toChange, toClient, toFile, toUpload, UPLOAD_COLUMNS,
  type ChangeRow, type ClientDbRow, type FileRow, type UploadRow,
} from './server-rows.js';

const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), 'server-migrations');

/** What a change wrote: the change itself is built from it and the sequence. */
type Recorded = Omit<Change, 'seq' | 'timeMs'>;

/**
 * `ferry serve`'s state on PostgreSQL: the same tables and behaviour as the SQLite file
 * (test/server-store.test.ts runs one suite on both). Paths compare byte by byte (the columns are
 * COLLATE "C"). The server holds the one-writer lock (a session advisory lock); `ferry serve keys
 * add` opens beside it with `lock: false`. Every record* holds the sequence's row from its first
 * statement, so concurrent ones, from this process or another, take their turns.
 */
export class PgServerStore implements ServerStore {
  private constructor(
    readonly location: string,
    private readonly pool: PgPool,
    private readonly lock: { client: pg.PoolClient; lost: () => Error | undefined } | undefined,
  ) {}

  /** `lock` (default true): take the one-writer lock, STORE_LOCKED when another process holds it. */
  static async open(url: string, options: { lock?: boolean } = {}): Promise<PgServerStore> {
    const pool = await openPg(url, MIGRATIONS, 'server');
    return new PgServerStore(redact(url), pool, options.lock === false ? undefined : await holdWriterLock(pool, url, 'server'));
  }

  /** Refuses to write once the connection holding the lock is gone: another process may hold it now. */
  private guard(): void {
    const lost = this.lock?.lost();
    if (lost) {
      throw new FerryError('CONFIG', `The server database ${this.location} cannot be written: ${lost.message}.`, {
        hint: 'Restart `ferry serve` when the database is back; clients resume from the last change recorded.',
      });
    }
  }

  private async write(text: string, values: unknown[]): Promise<number> {
    this.guard();
    return (await this.pool.query(text, values)).rowCount ?? 0;
  }

  /**
   * One change in one transaction. The sequence's row is locked first (FOR UPDATE): the next
   * record* waits for this one to commit, then reads the files as it left them. `write` gets the
   * next sequence and resolves undefined to record nothing; then the sequence is not used.
   */
  private record(write: (c: pg.PoolClient, seq: number) => Promise<Recorded | undefined>): Promise<Change | undefined> {
    this.guard();
    return transaction(this.pool, async (c) => {
      const seq = Number((await c.query<{ seq: string }>('SELECT seq FROM server_meta WHERE id = 1 FOR UPDATE')).rows[0]!.seq) + 1;
      const done = await write(c, seq);
      if (!done) return undefined;
      const change: Change = { seq, ...done, timeMs: Date.now() };
      await c.query('UPDATE server_meta SET seq = $1 WHERE id = 1', [seq]);
      await c.query(`INSERT INTO server_changes (${CHANGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [seq, change.op, change.path, change.from, change.size.toString(), change.mtimeNs.toString(), change.sha256, change.clientId, change.timeMs]);
      return change;
    });
  }

  private async putFile(c: pg.PoolClient, f: Omit<ServerFile, 'deleted'>, deleted: boolean): Promise<void> {
    await c.query(`INSERT INTO server_files (${FILE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
      ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256,
        seq = excluded.seq, deleted = excluded.deleted, client_id = excluded.client_id`,
      [f.path, f.size.toString(), f.mtimeNs.toString(), f.sha256, f.seq, deleted, f.clientId]);
  }

  private async file(c: pg.PoolClient | PgPool, path: string): Promise<ServerFile | undefined> {
    const r = (await c.query<FileRow>(`SELECT ${FILE_COLUMNS} FROM server_files WHERE path = $1`, [path])).rows[0];
    return r && toFile(r);
  }

  async sequence(): Promise<number> {
    return Number((await this.pool.query<{ seq: string }>('SELECT seq FROM server_meta WHERE id = 1')).rows[0]!.seq);
  }

  async getFile(path: string): Promise<ServerFile | undefined> {
    return this.file(this.pool, path);
  }

  async listFiles(options: { deleted?: boolean } = {}): Promise<ServerFile[]> {
    const where = options.deleted ? '' : ' WHERE NOT deleted';
    return (await this.pool.query<FileRow>(`SELECT ${FILE_COLUMNS} FROM server_files${where} ORDER BY path`)).rows.map(toFile);
  }

  async listUnder(dir: string): Promise<ServerFile[]> {
    // [dir/, dir0) holds exactly the paths below dir/ ("0" follows "/"): no LIKE, so no % or _ to escape.
    const d = dir.replace(/\/+$/, '');
    if (d === '') return this.listFiles();
    const { rows } = await this.pool.query<FileRow>(
      `SELECT ${FILE_COLUMNS} FROM server_files WHERE path >= $1 AND path < $2 AND NOT deleted ORDER BY path`, [`${d}/`, `${d}0`]);
    return rows.map(toFile);
  }

  async recordWrite(w: RecordWrite): Promise<Change> {
    return (await this.record(async (c, seq) => {
      const op = (await this.file(c, w.path))?.deleted === false ? 'UPDATE' : 'CREATE';
      await this.putFile(c, { ...w, seq }, false);
      return { op, from: null, ...w };
    }))!;
  }

  async recordDelete(path: string, clientId: string | null): Promise<Change | undefined> {
    return this.record(async (c, seq) => {
      const was = await this.file(c, path);
      if (!was || was.deleted) return undefined;
      await this.putFile(c, { ...was, seq, clientId }, true);
      return { op: 'DELETE', path, from: null, size: was.size, mtimeNs: was.mtimeNs, sha256: was.sha256, clientId };
    });
  }

  async recordMove(from: string, to: string, clientId: string | null): Promise<Change | undefined> {
    return this.record(async (c, seq) => {
      const was = await this.file(c, from);
      if (!was || was.deleted || (await this.file(c, to))?.deleted === false) return undefined;
      await this.putFile(c, { ...was, path: to, seq, clientId }, false);
      await this.putFile(c, { ...was, seq, clientId }, true);
      return { op: 'MOVE', path: to, from, size: was.size, mtimeNs: was.mtimeNs, sha256: was.sha256, clientId };
    });
  }

  async changesSince(since: number, limit: number): Promise<Change[]> {
    const { rows } = await this.pool.query<ChangeRow>(`SELECT ${CHANGE_COLUMNS} FROM server_changes WHERE seq > $1 ORDER BY seq LIMIT $2`, [since, limit]);
    return rows.map(toChange);
  }

  async registerClient(c: { clientId: string; name: string; platform: string | null }): Promise<ClientRow> {
    this.guard();
    const now = Date.now();
    const { rows } = await this.pool.query<ClientDbRow>(
      `INSERT INTO server_clients (client_id, name, platform, registered_ms, last_seen_ms) VALUES ($1, $2, $3, $4, $4)
       ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, platform = excluded.platform, last_seen_ms = excluded.last_seen_ms
       RETURNING ${CLIENT_COLUMNS}`,
      [c.clientId, c.name, c.platform, now]);
    return toClient(rows[0]!);
  }

  async getClient(clientId: string): Promise<ClientRow | undefined> {
    const r = (await this.pool.query<ClientDbRow>(`SELECT ${CLIENT_COLUMNS} FROM server_clients WHERE client_id = $1`, [clientId])).rows[0];
    return r && toClient(r);
  }

  async listClients(): Promise<ClientRow[]> {
    return (await this.pool.query<ClientDbRow>(`SELECT ${CLIENT_COLUMNS} FROM server_clients ORDER BY client_id`)).rows.map(toClient);
  }

  async touchClient(clientId: string, lastSeq?: number): Promise<void> {
    await this.write('UPDATE server_clients SET last_seen_ms = $1, last_seq = coalesce($2, last_seq) WHERE client_id = $3', [Date.now(), lastSeq ?? null, clientId]);
  }

  async addKey(name: string, hash: string): Promise<void> {
    const added = await this.write('INSERT INTO server_keys (name, hash, created_ms) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [name, hash, Date.now()]);
    if (added === 0) {
      throw new FerryError('CONFIG', `An API key named "${name}" already exists in ${this.location}.`, {
        hint: 'Choose another name, or revoke that key first.',
      });
    }
  }

  async listKeys(): Promise<ApiKeyRow[]> {
    const { rows } = await this.pool.query<{ name: string; hash: string; created_ms: string }>('SELECT name, hash, created_ms FROM server_keys ORDER BY name');
    return rows.map((r) => ({ name: r.name, hash: r.hash, createdMs: Number(r.created_ms) }));
  }

  async revokeKey(name: string): Promise<boolean> {
    return (await this.write('DELETE FROM server_keys WHERE name = $1', [name])) > 0;
  }

  async recordConflict(c: ConflictRow): Promise<void> {
    await this.write('INSERT INTO server_conflicts (path, copy, sha256, client_id, time_ms) VALUES ($1, $2, $3, $4, $5)',
      [c.path, c.copy, c.sha256, c.clientId, c.timeMs]);
  }

  async listConflicts(): Promise<ConflictRow[]> {
    const { rows } = await this.pool.query<{ path: string; copy: string; sha256: string; client_id: string | null; time_ms: string }>(
      'SELECT path, copy, sha256, client_id, time_ms FROM server_conflicts ORDER BY id');
    return rows.map((r) => ({ path: r.path, copy: r.copy, sha256: r.sha256, clientId: r.client_id, timeMs: Number(r.time_ms) }));
  }

  async createUpload(s: UploadSession): Promise<void> {
    await this.write(`INSERT INTO server_uploads (${UPLOAD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [s.id, s.path, s.size.toString(), s.sha256, s.mtimeNs.toString(), s.baseSha256, s.clientId, s.received.toString(), s.createdMs, s.expiresMs]);
  }

  async getUpload(id: string): Promise<UploadSession | undefined> {
    const r = (await this.pool.query<UploadRow>(`SELECT ${UPLOAD_COLUMNS} FROM server_uploads WHERE id = $1`, [id])).rows[0];
    return r && toUpload(r);
  }

  async updateUpload(id: string, received: bigint, expiresMs: number): Promise<void> {
    await this.write('UPDATE server_uploads SET received = $1, expires_ms = $2 WHERE id = $3', [received.toString(), expiresMs, id]);
  }

  async deleteUpload(id: string): Promise<void> {
    await this.write('DELETE FROM server_uploads WHERE id = $1', [id]);
  }

  async expiredUploads(nowMs: number): Promise<UploadSession[]> {
    const { rows } = await this.pool.query<UploadRow>(`SELECT ${UPLOAD_COLUMNS} FROM server_uploads WHERE expires_ms <= $1 ORDER BY expires_ms, id`, [nowMs]);
    return rows.map(toUpload);
  }

  async close(): Promise<void> {
    // Let go of the writer's lock before the connection ends (see PgIndexStore.close).
    await this.lock?.client.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    this.lock?.client.release();
    await this.pool.end();
  }
}
