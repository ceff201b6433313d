import Database from 'better-sqlite3';
import { readdirSync, readFileSync } from 'node:fs';
import { makeDirs } from '../../io/make-dirs.js';
import { dirname, join } from 'node:path';
import { describeFileError, errnoCode, FerryError } from '../../core/errors.js';
import { acquireLock } from '../lock.js';

export interface OpenedDatabase {
  db: Database.Database;
  /** Releases the lock file (a no-op for ":memory:"). */
  release: () => void;
}

/**
 * Opens (creating when missing) a ferry SQLite database: the lock, WAL, safe integers, and the
 * numbered migrations of `migrations` above its user_version. A database with tables of its own
 * but not `marker` (another program's, or another kind of ferry database) is refused before
 * anything is written to it.
 */
export function openDatabase(path: string, migrations: string, marker: string, hint: string, readOnly = false): OpenedDatabase {
  let release = (): void => undefined;
  let db: Database.Database | undefined;
  try {
    if (readOnly) {
      // Reading beside a writer: no lock, no migration, no write; WAL lets it see the last commit.
      db = new Database(path, { readonly: true, fileMustExist: true });
      db.defaultSafeIntegers(true);
      refuseForeign(db, marker);
      db.pragma('busy_timeout = 5000');
      return { db, release };
    }
    if (path !== ':memory:') {
      makeDirs(dirname(path));
      release = acquireLock(path);
    }
    db = new Database(path);
    db.defaultSafeIntegers(true);
    refuseForeign(db, marker);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    migrate(db, migrations);
    return { db, release };
  } catch (err) {
    db?.close();
    release();
    if (err instanceof FerryError) throw err;
    throw describeOpenError(path, err, hint);
  }
}

function describeOpenError(path: string, err: unknown, hint: string): FerryError {
  const msg = errnoCode(err)?.startsWith('E') ? describeFileError(err) : ((err as Error).message ?? String(err));
  if (/file is not a database|malformed|not a ferry/i.test(msg)) {
    return new FerryError('CONFIG', `${path} is not a ferry database (${msg}).`, { hint, cause: err });
  }
  return new FerryError('CONFIG', `Cannot open the database ${path}: ${msg}.`, {
    hint: 'Check that its directory exists and is writable, or choose another --db.',
    cause: err,
  });
}

/** Throws for a file that is not SQLite, or a SQLite database with tables but not ferry's `marker`. */
function refuseForeign(db: Database.Database, marker: string): void {
  const version = Number(db.pragma('user_version', { simple: true }));
  const tables = db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'`).get() as { n: bigint };
  const ours = db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?`).get(marker) as { n: bigint };
  if (tables.n > 0n && (version === 0 || ours.n === 0n)) throw new Error('not a ferry database of this kind: it has tables of its own');
}

/** Applies the numbered .sql files above the database's user_version, each in a transaction. */
function migrate(db: Database.Database, dir: string): void {
  const version = Number(db.pragma('user_version', { simple: true }));
  const files = readdirSync(dir).filter((f) => /^\d+_.*\.sql$/.test(f)).sort();
  for (const file of files) {
    const n = Number.parseInt(file, 10);
    if (n <= version) continue;
    db.transaction(() => {
      db.exec(readFileSync(join(dir, file), 'utf8'));
      db.pragma(`user_version = ${n}`);
    })();
  }
}
