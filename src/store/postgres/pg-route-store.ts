import type pg from 'pg';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerryError } from '../../core/errors.js';
import type { Delivery, DriveStats, PendingDelivery, RouteDriveRow, RouteFile, RouteStore } from '../../core/route-store.js';
import { holdWriterLock, openPg, redact, transaction, type PgPool } from './open.js';
import { DELIVERY_COLUMNS, PENDING_COLUMNS, toDelivery, toPending, type DeliveryRow, type PendingRow } from './route-rows.js';

const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), 'route-migrations');

/** The last of each key: a batch that names a row twice ends as SQLite's row-by-row upsert would. */
const lastOf = <T>(rows: T[], key: (r: T) => string): T[] => [...new Map(rows.map((r) => [key(r), r])).values()];

/**
 * `ferry route`'s state on PostgreSQL (`database = "postgres://…"`): the same tables and behaviour
 * as the SQLite file (test/route-store.test.ts runs one suite on both). Text is compared and sorted
 * byte by byte (COLLATE "C"), as SQLite does, whatever the database's locale. One writer at a
 * time, held by a session advisory lock; batches travel as arrays in one statement.
 */
export class PgRouteStore implements RouteStore {
  private constructor(
    readonly location: string,
    private readonly pool: PgPool,
    private readonly lock: { client: pg.PoolClient; lost: () => Error | undefined } | undefined,
  ) {}

  /** `readOnly` takes no lock (status and listings while `ferry route run` works) and writes nothing. */
  static async open(url: string, options: { readOnly?: boolean } = {}): Promise<PgRouteStore> {
    const pool = await openPg(url, MIGRATIONS, 'route');
    return new PgRouteStore(redact(url), pool, options.readOnly ? undefined : await holdWriterLock(pool, url, 'route'));
  }

  /** Refuses to write when opened read-only, or once the connection holding the lock is gone. */
  private guard(): void {
    const lost = this.lock ? this.lock.lost() : new Error('it was opened read-only');
    if (lost) {
      throw new FerryError('CONFIG', `The route database ${this.location} cannot be written: ${lost.message}.`, {
        hint: 'Run the command again when the server is back; nothing delivered is forgotten.',
      });
    }
  }

  private tx<T>(run: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    this.guard();
    return transaction(this.pool, run);
  }

  private async write(text: string, values: unknown[]): Promise<number> {
    this.guard();
    return (await this.pool.query(text, values)).rowCount ?? 0;
  }

  async bindSource(source: string): Promise<void> {
    await this.tx(async (c) => {
      const row = (await c.query<{ value: string }>(`SELECT value FROM route_meta WHERE key = 'source' FOR UPDATE`)).rows[0];
      if (row?.value === source) return;
      if (row !== undefined) {
        // Another source: its files are other files, whatever their names; what the drives hold stays recorded.
        await c.query('DELETE FROM route_files; DELETE FROM route_pending; UPDATE route_deliveries SET source_path = NULL;');
      }
      await c.query(`INSERT INTO route_meta (key, value) VALUES ('source', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [source]);
    });
  }

  async meta(key: string): Promise<string | undefined> {
    return (await this.pool.query<{ value: string }>('SELECT value FROM route_meta WHERE key = $1', [key])).rows[0]?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.write('INSERT INTO route_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  async recategorize(categorize: (path: string, size: number, mime: string) => string): Promise<number> {
    return this.tx(async (c) => {
      const { rows } = await c.query<{ path: string; size: string; mime: string; category: string }>(
        'SELECT path, size, mime, category FROM route_files FOR UPDATE');
      const paths: string[] = [];
      const categories: string[] = [];
      for (const r of rows) {
        const now = categorize(r.path, Number(r.size), r.mime);
        if (now === r.category) continue;
        paths.push(r.path);
        categories.push(now);
      }
      if (paths.length > 0) {
        await c.query('UPDATE route_files f SET category = t.c FROM unnest($1::text[], $2::text[]) AS t (p, c) WHERE f.path = t.p', [paths, categories]);
      }
      return paths.length;
    });
  }

  async syncDrives(drives: RouteDriveRow[]): Promise<void> {
    const rows = lastOf(drives, (d) => d.id);
    await this.tx(async (c) => {
      await c.query('UPDATE route_drives SET active = FALSE');
      if (rows.length === 0) return;
      await c.query(
        `INSERT INTO route_drives (id, label, category, active) SELECT i, l, c, TRUE FROM unnest($1::text[], $2::text[], $3::text[]) AS t (i, l, c)
         ON CONFLICT (id) DO UPDATE SET label = excluded.label, category = excluded.category, active = TRUE`,
        [rows.map((d) => d.id), rows.map((d) => d.label), rows.map((d) => d.category)],
      );
    });
  }

  async knownFiles(): Promise<Map<string, { size: bigint; mtimeNs: bigint }>> {
    const { rows } = await this.pool.query<{ path: string; size: string; mtime_ns: string }>('SELECT path, size, mtime_ns FROM route_files');
    return new Map(rows.map((r) => [r.path, { size: BigInt(r.size), mtimeNs: BigInt(r.mtime_ns) }]));
  }

  async getFile(path: string): Promise<RouteFile | undefined> {
    const r = (await this.pool.query<{ path: string; size: string; mtime_ns: string; hash: string; mime: string; category: string }>(
      'SELECT path, size, mtime_ns, hash, mime, category FROM route_files WHERE path = $1', [path])).rows[0];
    return r && { path: r.path, size: BigInt(r.size), mtimeNs: BigInt(r.mtime_ns), hash: r.hash, mime: r.mime, category: r.category };
  }

  async pathsWithHash(hash: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ path: string }>('SELECT path FROM route_files WHERE hash = $1 ORDER BY path COLLATE "C"', [hash]);
    return rows.map((r) => r.path);
  }

  async putFiles(files: RouteFile[], lookedNs: bigint): Promise<void> {
    if (files.length === 0) return;
    const rows = lastOf(files, (f) => f.path);
    await this.write(
      `INSERT INTO route_files (path, size, mtime_ns, hash, mime, category, looked_ns)
       SELECT p, s, m, h, t, c, $1 FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[]) AS x (p, s, m, h, t, c)
       ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, hash = excluded.hash, mime = excluded.mime,
         category = excluded.category, looked_ns = excluded.looked_ns`,
      [lookedNs.toString(), rows.map((f) => f.path), rows.map((f) => f.size.toString()), rows.map((f) => f.mtimeNs.toString()),
        rows.map((f) => f.hash), rows.map((f) => f.mime), rows.map((f) => f.category)],
    );
  }

  async removeFiles(paths: string[], options: { below?: boolean } = {}): Promise<number> {
    if (paths.length === 0) return 0;
    // `below`: everything under `p/` as well (starts_with compares bytes, whatever the collation).
    const match = (column: string): string => `(${column} = p.path OR ($2::boolean AND starts_with(${column}, p.path || '/')))`;
    return this.tx(async (c) => {
      const gone = await c.query(`DELETE FROM route_files f USING unnest($1::text[]) AS p (path) WHERE ${match('f.path')}`, [paths, options.below === true]);
      await c.query(`UPDATE route_deliveries x SET source_path = NULL FROM unnest($1::text[]) AS p (path) WHERE ${match('x.source_path')}`,
        [paths, options.below === true]);
      return gone.rowCount ?? 0;
    });
  }

  async staleFiles(paths: string[]): Promise<void> {
    if (paths.length === 0) return;
    await this.write('UPDATE route_files SET mtime_ns = -1 WHERE path = ANY($1::text[])', [paths]);
  }

  async refreshQueue(nowNs: bigint, onQueued?: (row: PendingDelivery) => void): Promise<number> {
    return this.tx(async (c) => {
      await c.query(`DELETE FROM route_pending p WHERE NOT EXISTS (
        SELECT 1 FROM route_files f JOIN route_drives d ON d.id = p.drive_id AND d.active AND d.category = f.category
        WHERE f.hash = p.hash)`);
      await c.query(`DELETE FROM route_pending p WHERE EXISTS (
        SELECT 1 FROM route_deliveries x WHERE x.drive_id = p.drive_id AND x.hash = p.hash)`);
      await c.query(`UPDATE route_pending p SET
          path = (SELECT min(f.path COLLATE "C") FROM route_files f WHERE f.hash = p.hash),
          size = (SELECT f.size FROM route_files f WHERE f.hash = p.hash ORDER BY f.path COLLATE "C" LIMIT 1)
        WHERE NOT EXISTS (SELECT 1 FROM route_files f WHERE f.hash = p.hash AND f.path = p.path)`);
      // Ids in the order SQLite's GROUP BY gives them: the queue is delivered in id order.
      const { rows } = await c.query<PendingRow>(
        `INSERT INTO route_pending (drive_id, hash, path, size, queued_ns)
         SELECT d.id, f.hash, min(f.path COLLATE "C"), min(f.size), $1 FROM route_files f
         JOIN route_drives d ON d.category = f.category AND d.active
         WHERE NOT EXISTS (SELECT 1 FROM route_deliveries x WHERE x.drive_id = d.id AND x.hash = f.hash)
           AND NOT EXISTS (SELECT 1 FROM route_pending p WHERE p.drive_id = d.id AND p.hash = f.hash)
         GROUP BY d.id, f.hash ORDER BY d.id COLLATE "C", f.hash COLLATE "C"
         RETURNING ${PENDING_COLUMNS}`,
        [nowNs.toString()],
      );
      const queued = rows.map(toPending).sort((a, b) => a.id - b.id);
      for (const row of queued) onQueued?.(row);
      return queued.length;
    });
  }

  async pending(driveId: string | null, afterId: number, limit: number): Promise<PendingDelivery[]> {
    const { rows } = await this.pool.query<PendingRow>(
      `SELECT ${PENDING_COLUMNS} FROM route_pending WHERE ($1::text IS NULL OR drive_id = $1) AND id > $2 ORDER BY id LIMIT $3`,
      [driveId, afterId, limit]);
    return rows.map(toPending);
  }

  async queued(driveId: string, hash: string): Promise<PendingDelivery | undefined> {
    const r = (await this.pool.query<PendingRow>(`SELECT ${PENDING_COLUMNS} FROM route_pending WHERE drive_id = $1 AND hash = $2`, [driveId, hash])).rows[0];
    return r && toPending(r);
  }

  async deliveries(driveId: string, hash: string): Promise<Delivery | undefined> {
    const r = (await this.pool.query<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM route_deliveries WHERE drive_id = $1 AND hash = $2`, [driveId, hash])).rows[0];
    return r && toDelivery(r);
  }

  async deliveryAt(driveId: string, path: string): Promise<Delivery | undefined> {
    const r = (await this.pool.query<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM route_deliveries WHERE drive_id = $1 AND path = $2`, [driveId, path])).rows[0];
    return r && toDelivery(r);
  }

  async recentDeliveries(limit: number): Promise<Delivery[]> {
    const { rows } = await this.pool.query<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM route_deliveries ORDER BY delivered_ns DESC LIMIT $1`, [limit]);
    return rows.map(toDelivery);
  }

  async deliveriesOf(hash: string): Promise<Delivery[]> {
    const { rows } = await this.pool.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM route_deliveries WHERE hash = $1 ORDER BY drive_id COLLATE "C"`, [hash]);
    return rows.map(toDelivery);
  }

  async duplicates(lookedNs: bigint): Promise<Array<{ path: string; driveId: string; sameAs: string; queued: boolean }>> {
    const { rows } = await this.pool.query<{ path: string; drive_id: string; same_as: string; queued: boolean }>(
      `SELECT f.path, d.id AS drive_id, coalesce(x.path, p.path) AS same_as, x.hash IS NULL AS queued
       FROM route_files f
       JOIN route_drives d ON d.category = f.category AND d.active
       LEFT JOIN route_deliveries x ON x.drive_id = d.id AND x.hash = f.hash
       LEFT JOIN route_pending p ON p.drive_id = d.id AND p.hash = f.hash
       WHERE f.looked_ns >= $1
         AND (CASE WHEN x.hash IS NOT NULL THEN coalesce(x.source_path, '') ELSE p.path END) <> f.path
       ORDER BY f.path COLLATE "C", d.id COLLATE "C"`,
      [lookedNs.toString()],
    );
    return rows.map((r) => ({ path: r.path, driveId: r.drive_id, sameAs: r.same_as, queued: r.queued }));
  }

  async recordDeliveries(rows: Delivery[]): Promise<void> {
    if (rows.length === 0) return;
    await this.tx(async (c) => {
      // Row by row, in order, as on SQLite: a later row of the batch may replace an earlier one at its path.
      for (const r of rows) {
        await c.query('DELETE FROM route_deliveries WHERE drive_id = $1 AND path = $2 AND hash <> $3', [r.driveId, r.path, r.hash]);
        await c.query(
          `INSERT INTO route_deliveries (${DELIVERY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (drive_id, hash) DO UPDATE SET source_path = excluded.source_path, size = excluded.size,
             mtime_ns = excluded.mtime_ns, delivered_ns = excluded.delivered_ns
           WHERE route_deliveries.path = excluded.path`,
          [r.driveId, r.hash, r.path, r.sourcePath, r.size.toString(), r.mtimeNs.toString(), r.deliveredNs.toString()],
        );
        await c.query('DELETE FROM route_pending WHERE drive_id = $1 AND hash = $2', [r.driveId, r.hash]);
      }
    });
  }

  async pendingFailed(id: number, error: string): Promise<void> {
    await this.write('UPDATE route_pending SET attempts = attempts + 1, last_error = $1 WHERE id = $2', [error, id]);
  }

  async dropPending(id: number): Promise<void> {
    await this.write('DELETE FROM route_pending WHERE id = $1', [id]);
  }

  async driveSeen(driveId: string, location: string, nowNs: bigint): Promise<void> {
    await this.write('UPDATE route_drives SET last_seen_ns = $1, last_location = $2 WHERE id = $3', [nowNs.toString(), location, driveId]);
  }

  async stats(): Promise<DriveStats[]> {
    const { rows } = await this.pool.query<{
      id: string; label: string; category: string; delivered: string; delivered_bytes: string; pending: string; pending_bytes: string;
      failing: string; last_seen_ns: string | null; last_location: string | null;
    }>(
      `SELECT d.id, d.label, d.category,
          (SELECT count(*) FROM route_deliveries x WHERE x.drive_id = d.id) AS delivered,
          (SELECT coalesce(sum(size), 0) FROM route_deliveries x WHERE x.drive_id = d.id) AS delivered_bytes,
          (SELECT count(*) FROM route_pending p WHERE p.drive_id = d.id) AS pending,
          (SELECT coalesce(sum(size), 0) FROM route_pending p WHERE p.drive_id = d.id) AS pending_bytes,
          (SELECT count(*) FROM route_pending p WHERE p.drive_id = d.id AND p.last_error IS NOT NULL) AS failing,
          d.last_seen_ns, d.last_location
        FROM route_drives d WHERE d.active ORDER BY d.label COLLATE "C"`,
    );
    return rows.map((r) => ({
      id: r.id, label: r.label, category: r.category, delivered: Number(r.delivered), deliveredBytes: BigInt(r.delivered_bytes),
      pending: Number(r.pending), pendingBytes: BigInt(r.pending_bytes), failing: Number(r.failing),
      lastSeenNs: r.last_seen_ns === null ? null : BigInt(r.last_seen_ns), lastLocation: r.last_location,
    }));
  }

  async clear(driveId: string | null): Promise<{ deliveries: number; pending: number }> {
    return this.tx(async (c) => {
      const where = driveId === null ? '' : ' WHERE drive_id = $1';
      const args = driveId === null ? [] : [driveId];
      const deliveries = (await c.query(`DELETE FROM route_deliveries${where}`, args)).rowCount ?? 0;
      const pending = (await c.query(`DELETE FROM route_pending${where}`, args)).rowCount ?? 0;
      return { deliveries, pending };
    });
  }

  async close(): Promise<void> {
    // Let go of the writer's lock before the connection ends (see PgIndexStore.close).
    await this.lock?.client.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    this.lock?.client.release();
    await this.pool.end();
  }
}
