import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { FerryError } from '../../core/errors.js';
import { redact } from '../url.js';

export { redact };

/** Integers come back as strings from `pg` (int8 does not fit a double): the stores convert them. */
export type PgPool = pg.Pool;

/**
 * Connects to `url` to read only: every transaction read-only, no migration, no table made. A
 * database with no `kind` row in `ferry_schema` (not ferry's, or another kind of ferry database) is
 * refused. Columns a later migration adds may be missing: readers treat them as absent.
 */
export async function openPgReadOnly(url: string, kind: string): Promise<PgPool> {
  const pool = new pg.Pool({ connectionString: url, max: 2, options: '-c default_transaction_read_only=on' });
  pool.on('error', () => undefined);
  try {
    const found = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'ferry_schema' AND table_schema = current_schema()`);
    const row = Number(found.rows[0]!.n) > 0 ? (await pool.query('SELECT version FROM ferry_schema WHERE kind = $1', [kind])).rows[0] : undefined;
    if (!row) throw new Error(`it holds no ferry ${kind} job`);
    return pool;
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new FerryError('CONFIG', `Cannot read the PostgreSQL database ${redact(url)}: ${(err as Error).message}.`, { cause: err });
  }
}

/**
 * Connects to `url` and applies the numbered .sql files of `migrations` above the database's
 * version, each in a transaction, under an advisory lock so two processes starting at once do not
 * both migrate. The version lives in `ferry_schema` (kind, version); a database whose `kind` rows
 * name another kind of ferry database is refused.
 */
export async function openPg(url: string, migrations: string, kind: string): Promise<PgPool> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // An idle connection the server drops (a restart, a timeout) must not crash the process: the
  // next query on the pool opens a new one, and a query that fails rejects as usual.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [`ferry:${kind}`]);
      await client.query('CREATE TABLE IF NOT EXISTS ferry_schema (kind TEXT PRIMARY KEY, version INTEGER NOT NULL)');
      const row = (await client.query('SELECT version FROM ferry_schema WHERE kind = $1', [kind])).rows[0] as { version: number } | undefined;
      const version = row?.version ?? 0;
      for (const file of readdirSync(migrations).filter((f) => /^\d+_.*\.sql$/.test(f)).sort()) {
        const n = Number.parseInt(file, 10);
        if (n <= version) continue;
        await client.query('BEGIN');
        try {
          await client.query(readFileSync(join(migrations, file), 'utf8'));
          await client.query(
            'INSERT INTO ferry_schema (kind, version) VALUES ($1, $2) ON CONFLICT (kind) DO UPDATE SET version = excluded.version',
            [kind, n],
          );
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`ferry:${kind}`]);
    } finally {
      client.release();
    }
    return pool;
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new FerryError('CONFIG', `Cannot use the PostgreSQL database ${redact(url)}: ${(err as Error).message}.`, {
      hint: 'Check the URL, that the server runs, and that the user may create tables.',
      cause: err,
    });
  }
}

/**
 * Holds the one-writer lock of a ferry database (`kind`) on a connection of its own, for as long
 * as the Store is open; a second process is refused with STORE_LOCKED. If that connection is lost
 * the lock is gone too: `lost()` says so, and the Store refuses to write after it.
 */
export async function holdWriterLock(pool: PgPool, url: string, kind: string): Promise<{ client: pg.PoolClient; lost: () => Error | undefined }> {
  const client = await pool.connect();
  let lost: Error | undefined;
  client.on('error', (err) => (lost = err));
  const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [`ferry:${kind}:writer`]);
  if (!rows[0]!.ok) {
    client.release();
    await pool.end();
    throw new FerryError('STORE_LOCKED', `Another ferry process is using the database ${redact(url)}.`, {
      hint: 'Wait for it to finish, or stop it; ferry resumes where it left off.',
    });
  }
  return { client, lost: () => lost };
}

/** Runs `run` in one transaction on one connection of `pool`: committed if it resolves, rolled back if not. */
export async function transaction<T>(pool: PgPool, run: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const r = await run(c);
    await c.query('COMMIT');
    return r;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}
