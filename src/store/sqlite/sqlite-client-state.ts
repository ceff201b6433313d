import type Database from 'better-sqlite3';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClientState, SyncedFile } from '../../core/client-state.js';
import { openDatabase } from './open.js';

const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), 'client-migrations');

type Row = [string, string, bigint, bigint];
const toFile = ([path, sha256, size, mtimeNs]: Row): SyncedFile => ({ path, sha256, size, mtimeNs });

/** `ferry client`'s state in one SQLite file; `readOnly` (status) takes no lock. */
export class SqliteClientState implements ClientState {
  private constructor(
    readonly location: string,
    private readonly db: Database.Database,
    private readonly release: () => void,
  ) {}

  static open(path: string, options: { readOnly?: boolean } = {}): SqliteClientState {
    const { db, release } = openDatabase(path, MIGRATIONS, 'client_files', 'Point `state_db` in the client configuration at a new file.', options.readOnly === true);
    return new SqliteClientState(path, db, release);
  }

  async meta(key: string): Promise<string | undefined> {
    return this.db.prepare('SELECT value FROM client_meta WHERE key = ?').pluck().get(key) as string | undefined;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.db.prepare('INSERT INTO client_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  async get(path: string): Promise<SyncedFile | undefined> {
    const r = this.db.prepare('SELECT path, sha256, size, mtime_ns FROM client_files WHERE path = ?').raw().get(path) as Row | undefined;
    return r && toFile(r);
  }

  async all(): Promise<SyncedFile[]> {
    return (this.db.prepare('SELECT path, sha256, size, mtime_ns FROM client_files ORDER BY path').raw().all() as Row[]).map(toFile);
  }

  async put(f: SyncedFile): Promise<void> {
    this.db
      .prepare('INSERT INTO client_files (path, sha256, size, mtime_ns) VALUES (?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, mtime_ns = excluded.mtime_ns')
      .run(f.path, f.sha256, f.size, f.mtimeNs);
  }

  async forget(path: string): Promise<void> {
    this.db.prepare('DELETE FROM client_files WHERE path = ?').run(path);
  }

  async close(): Promise<void> {
    this.db.close();
    this.release();
  }
}
