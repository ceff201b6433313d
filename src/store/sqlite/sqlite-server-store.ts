import Database from 'better-sqlite3';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerryError } from '../../core/errors.js';
import type {
  ApiKeyRow, Change, ChangeOp, ClientRow, ConflictRow, RecordWrite, ServerFile, ServerStore, UploadSession,
} from '../../core/server-store.js';
import { makeDirs } from '../../io/make-dirs.js';
import { openDatabase } from './open.js';

const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), 'server-migrations');
const MARKER = 'server_files';
const HINT = 'Point `ferry serve` at a new file, or at the one an earlier `ferry serve` wrote.';

type FileRow = [string, bigint, bigint, string, bigint, bigint, string | null];
const FILE_COLUMNS = 'path, size, mtime_ns, sha256, seq, deleted, client_id';
const toFile = ([path, size, mtimeNs, sha256, seq, deleted, clientId]: FileRow): ServerFile => ({
  path, size, mtimeNs, sha256, seq: Number(seq), deleted: deleted !== 0n, clientId,
});

type ChangeRow = [bigint, ChangeOp, string, string | null, bigint, bigint, string, string | null, bigint];
const CHANGE_COLUMNS = 'seq, op, path, from_path, size, mtime_ns, sha256, client_id, time_ms';
const toChange = ([seq, op, path, from, size, mtimeNs, sha256, clientId, timeMs]: ChangeRow): Change => ({
  seq: Number(seq), op, path, from, size, mtimeNs, sha256, clientId, timeMs: Number(timeMs),
});

type ClientDbRow = [string, string, string | null, bigint, bigint, bigint];
const CLIENT_COLUMNS = 'client_id, name, platform, registered_ms, last_seen_ms, last_seq';
const toClient = ([clientId, name, platform, registeredMs, lastSeenMs, lastSeq]: ClientDbRow): ClientRow => ({
  clientId, name, platform, registeredMs: Number(registeredMs), lastSeenMs: Number(lastSeenMs), lastSeq: Number(lastSeq),
});

type UploadRow = [string, string, bigint, string | null, bigint, string | null, string | null, bigint, bigint, bigint];
const UPLOAD_COLUMNS = 'id, path, size, sha256, mtime_ns, base_sha256, client_id, received, created_ms, expires_ms';
const toUpload = ([id, path, size, sha256, mtimeNs, baseSha256, clientId, received, createdMs, expiresMs]: UploadRow): UploadSession => ({
  id, path, size, sha256, mtimeNs, baseSha256, clientId, received, createdMs: Number(createdMs), expiresMs: Number(expiresMs),
});

/** What a change wrote: the change itself is built from it and the sequence. */
type Recorded = Omit<Change, 'seq' | 'timeMs'>;

/**
 * The paths below `dir` (every depth) are exactly those in [dir/, dir0): "0" follows "/" byte by
 * byte, so no LIKE pattern (and no escaping of the % and _ a name may hold) is needed. The root
 * ('') holds every path.
 */
function belowRange(dir: string): [string, string] | undefined {
  const d = dir.replace(/\/+$/, '');
  return d === '' ? undefined : [`${d}/`, `${d}0`];
}

/**
 * `ferry serve`'s state in one SQLite file (WAL). The server holds the one-writer lock; `ferry
 * serve keys add` opens the same file beside it without the lock (`lock: false`), and the busy
 * timeout lets their transactions wait for each other instead of failing.
 */
export class SqliteServerStore implements ServerStore {
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(
    readonly location: string,
    private readonly db: Database.Database,
    private readonly release: () => void,
  ) {}

  /** `lock` (default true): take the one-writer lock, STORE_LOCKED when another process holds it. */
  static open(path: string, options: { lock?: boolean; readOnly?: boolean } = {}): SqliteServerStore {
    if (options.readOnly) return new SqliteServerStore(path, openDatabase(path, MIGRATIONS, MARKER, HINT, true).db, () => undefined);
    if (options.lock === false) return new SqliteServerStore(path, openUnlocked(path), () => undefined);
    const { db, release } = openDatabase(path, MIGRATIONS, MARKER, HINT);
    return new SqliteServerStore(path, db, release);
  }

  /** Prepares each statement once (preparing costs more than running the small ones). */
  private sql(text: string): Database.Statement {
    let s = this.statements.get(text);
    if (!s) {
      s = this.db.prepare(text);
      this.statements.set(text, s);
    }
    return s;
  }

  /**
   * One change in one IMMEDIATE transaction (the write lock taken first: another connection to the
   * file, `keys add`'s, cannot slip in between the read and the write). `write` gets the next
   * sequence and resolves undefined to record nothing; then the sequence is not used.
   */
  private record(write: (seq: number) => Recorded | undefined): Change | undefined {
    return this.db.transaction(() => {
      const seq = Number(this.sql('SELECT seq FROM server_meta WHERE id = 1').pluck().get() as bigint) + 1;
      const done = write(seq);
      if (!done) return undefined;
      const change: Change = { seq, ...done, timeMs: Date.now() };
      this.sql('UPDATE server_meta SET seq = ? WHERE id = 1').run(seq);
      this.sql(`INSERT INTO server_changes (${CHANGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(seq, change.op, change.path, change.from, change.size, change.mtimeNs, change.sha256, change.clientId, change.timeMs);
      return change;
    }).immediate();
  }

  private putFile(f: Omit<ServerFile, 'deleted'>, deleted: boolean): void {
    this.sql(`INSERT INTO server_files (${FILE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256,
        seq = excluded.seq, deleted = excluded.deleted, client_id = excluded.client_id`)
      .run(f.path, f.size, f.mtimeNs, f.sha256, f.seq, deleted ? 1 : 0, f.clientId);
  }

  private file(path: string): ServerFile | undefined {
    const r = this.sql(`SELECT ${FILE_COLUMNS} FROM server_files WHERE path = ?`).raw(true).get(path) as FileRow | undefined;
    return r && toFile(r);
  }

  async sequence(): Promise<number> {
    return Number(this.sql('SELECT seq FROM server_meta WHERE id = 1').pluck().get() as bigint);
  }

  async getFile(path: string): Promise<ServerFile | undefined> {
    return this.file(path);
  }

  async listFiles(options: { deleted?: boolean } = {}): Promise<ServerFile[]> {
    const where = options.deleted ? '' : ' WHERE deleted = 0';
    return (this.sql(`SELECT ${FILE_COLUMNS} FROM server_files${where} ORDER BY path`).raw(true).all() as FileRow[]).map(toFile);
  }

  async listUnder(dir: string): Promise<ServerFile[]> {
    const range = belowRange(dir);
    if (!range) return this.listFiles();
    const rows = this.sql(`SELECT ${FILE_COLUMNS} FROM server_files WHERE path >= ? AND path < ? AND deleted = 0 ORDER BY path`)
      .raw(true).all(...range) as FileRow[];
    return rows.map(toFile);
  }

  async recordWrite(w: RecordWrite): Promise<Change> {
    return this.record((seq) => {
      const op = this.file(w.path)?.deleted === false ? 'UPDATE' : 'CREATE';
      this.putFile({ ...w, seq }, false);
      return { op, from: null, ...w };
    })!;
  }

  async recordDelete(path: string, clientId: string | null): Promise<Change | undefined> {
    return this.record((seq) => {
      const was = this.file(path);
      if (!was || was.deleted) return undefined;
      this.putFile({ ...was, seq, clientId }, true);
      return { op: 'DELETE', path, from: null, size: was.size, mtimeNs: was.mtimeNs, sha256: was.sha256, clientId };
    });
  }

  async recordMove(from: string, to: string, clientId: string | null): Promise<Change | undefined> {
    return this.record((seq) => {
      const was = this.file(from);
      if (!was || was.deleted || this.file(to)?.deleted === false) return undefined;
      this.putFile({ ...was, path: to, seq, clientId }, false);
      this.putFile({ ...was, seq, clientId }, true);
      return { op: 'MOVE', path: to, from, size: was.size, mtimeNs: was.mtimeNs, sha256: was.sha256, clientId };
    });
  }

  async changesSince(since: number, limit: number): Promise<Change[]> {
    const rows = this.sql(`SELECT ${CHANGE_COLUMNS} FROM server_changes WHERE seq > ? ORDER BY seq LIMIT ?`).raw(true).all(since, limit) as ChangeRow[];
    return rows.map(toChange);
  }

  async registerClient(c: { clientId: string; name: string; platform: string | null }): Promise<ClientRow> {
    const now = Date.now();
    const r = this.sql(`INSERT INTO server_clients (client_id, name, platform, registered_ms, last_seen_ms) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, platform = excluded.platform, last_seen_ms = excluded.last_seen_ms
      RETURNING ${CLIENT_COLUMNS}`).raw(true).get(c.clientId, c.name, c.platform, now, now) as ClientDbRow;
    return toClient(r);
  }

  async getClient(clientId: string): Promise<ClientRow | undefined> {
    const r = this.sql(`SELECT ${CLIENT_COLUMNS} FROM server_clients WHERE client_id = ?`).raw(true).get(clientId) as ClientDbRow | undefined;
    return r && toClient(r);
  }

  async listClients(): Promise<ClientRow[]> {
    return (this.sql(`SELECT ${CLIENT_COLUMNS} FROM server_clients ORDER BY client_id`).raw(true).all() as ClientDbRow[]).map(toClient);
  }

  async touchClient(clientId: string, lastSeq?: number): Promise<void> {
    this.sql('UPDATE server_clients SET last_seen_ms = ?, last_seq = coalesce(?, last_seq) WHERE client_id = ?').run(Date.now(), lastSeq ?? null, clientId);
  }

  async addKey(name: string, hash: string): Promise<void> {
    const added = this.sql('INSERT INTO server_keys (name, hash, created_ms) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING').run(name, hash, Date.now());
    if (added.changes === 0) throw keyTaken(name, this.location);
  }

  async listKeys(): Promise<ApiKeyRow[]> {
    const rows = this.sql('SELECT name, hash, created_ms FROM server_keys ORDER BY name').raw(true).all() as Array<[string, string, bigint]>;
    return rows.map(([name, hash, createdMs]) => ({ name, hash, createdMs: Number(createdMs) }));
  }

  async revokeKey(name: string): Promise<boolean> {
    return this.sql('DELETE FROM server_keys WHERE name = ?').run(name).changes > 0;
  }

  async recordConflict(c: ConflictRow): Promise<void> {
    this.sql('INSERT INTO server_conflicts (path, copy, sha256, client_id, time_ms) VALUES (?, ?, ?, ?, ?)').run(c.path, c.copy, c.sha256, c.clientId, c.timeMs);
  }

  async listConflicts(): Promise<ConflictRow[]> {
    const rows = this.sql('SELECT path, copy, sha256, client_id, time_ms FROM server_conflicts ORDER BY id').raw(true).all() as Array<[string, string, string, string | null, bigint]>;
    return rows.map(([path, copy, sha256, clientId, timeMs]) => ({ path, copy, sha256, clientId, timeMs: Number(timeMs) }));
  }

  async createUpload(s: UploadSession): Promise<void> {
    this.sql(`INSERT INTO server_uploads (${UPLOAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(s.id, s.path, s.size, s.sha256, s.mtimeNs, s.baseSha256, s.clientId, s.received, s.createdMs, s.expiresMs);
  }

  async getUpload(id: string): Promise<UploadSession | undefined> {
    const r = this.sql(`SELECT ${UPLOAD_COLUMNS} FROM server_uploads WHERE id = ?`).raw(true).get(id) as UploadRow | undefined;
    return r && toUpload(r);
  }

  async updateUpload(id: string, received: bigint, expiresMs: number): Promise<void> {
    this.sql('UPDATE server_uploads SET received = ?, expires_ms = ? WHERE id = ?').run(received, expiresMs, id);
  }

  async deleteUpload(id: string): Promise<void> {
    this.sql('DELETE FROM server_uploads WHERE id = ?').run(id);
  }

  async expiredUploads(nowMs: number): Promise<UploadSession[]> {
    const rows = this.sql(`SELECT ${UPLOAD_COLUMNS} FROM server_uploads WHERE expires_ms <= ? ORDER BY expires_ms, id`).raw(true).all(nowMs) as UploadRow[];
    return rows.map(toUpload);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
    this.release();
  }
}

function keyTaken(name: string, location: string): FerryError {
  return new FerryError('CONFIG', `An API key named "${name}" already exists in ${location}.`, {
    hint: 'Choose another name, or revoke that key first.',
  });
}

/**
 * The file opened without the lock, beside the server that holds it: the pragmas and the refusal of
 * a foreign database as sqlite/open.ts's openDatabase (which always locks), and the migrations in an
 * IMMEDIATE transaction that reads the version itself, so two openers never both apply one.
 */
function openUnlocked(path: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    if (path !== ':memory:') makeDirs(dirname(path));
    db = new Database(path);
    db.defaultSafeIntegers(true);
    db.pragma('busy_timeout = 5000');
    const opened = db;
    const version = (): number => Number(opened.pragma('user_version', { simple: true }));
    const tables = (name?: string): bigint => opened.prepare(`SELECT count(*) FROM sqlite_master WHERE type = 'table'${name ? ' AND name = ?' : ''}`)
      .pluck().get(...(name ? [name] : [])) as bigint;
    if (tables() > 0n && (version() === 0 || tables(MARKER) === 0n)) throw new Error('not a ferry database of this kind: it has tables of its own');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const files = readdirSync(MIGRATIONS).filter((f) => /^\d+_.*\.sql$/.test(f)).sort();
    for (const file of files) {
      const n = Number.parseInt(file, 10);
      opened.transaction(() => {
        if (n <= version()) return;
        opened.exec(readFileSync(join(MIGRATIONS, file), 'utf8'));
        opened.pragma(`user_version = ${n}`);
      }).immediate();
    }
    return db;
  } catch (err) {
    db?.close();
    if (err instanceof FerryError) throw err;
    const msg = (err as Error).message ?? String(err);
    throw /file is not a database|malformed|not a ferry/i.test(msg)
      ? new FerryError('CONFIG', `${path} is not a ferry database (${msg}).`, { hint: HINT, cause: err })
      : new FerryError('CONFIG', `Cannot open the database ${path}: ${msg}.`, { cause: err });
  }
}
