import type Database from 'better-sqlite3';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Delivery, DriveStats, PendingDelivery, RouteDriveRow, RouteFile, RouteStore } from '../../core/route-store.js';
import { openDatabase } from './open.js';

const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), 'route-migrations');

type PendingRow = [bigint, string, string, string, bigint, bigint, bigint, string | null];
const PENDING_COLUMNS = 'id, drive_id, hash, path, size, queued_ns, attempts, last_error';
const toPending = ([id, driveId, hash, path, size, queuedNs, attempts, lastError]: PendingRow): PendingDelivery => ({
  id: Number(id), driveId, hash, path, size, queuedNs, attempts: Number(attempts), lastError,
});

type DeliveryRow = [string, string, string, string | null, bigint, bigint, bigint];
const DELIVERY_COLUMNS = 'drive_id, hash, path, source_path, size, mtime_ns, delivered_ns';
const toDelivery = ([driveId, hash, path, sourcePath, size, mtimeNs, deliveredNs]: DeliveryRow): Delivery => ({ driveId, hash, path, sourcePath, size, mtimeNs, deliveredNs });

/** `ferry route`'s state in one SQLite file (WAL), one process at a time. */
export class SqliteRouteStore implements RouteStore {
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(
    readonly location: string,
    private readonly db: Database.Database,
    private readonly release: () => void,
  ) {}

  /** Prepares each statement once (preparing costs more than running the small ones). */
  private sql(text: string): Database.Statement {
    let s = this.statements.get(text);
    if (!s) {
      s = this.db.prepare(text);
      this.statements.set(text, s);
    }
    return s;
  }

  /** `readOnly` takes no lock (status and listings while `ferry route run` works) and cannot write. */
  static open(path: string, options: { readOnly?: boolean } = {}): SqliteRouteStore {
    const { db, release } = openDatabase(path, MIGRATIONS, 'route_files', 'Point `database` in the configuration at a new file, or at the one an earlier `ferry route` wrote.',
      options.readOnly === true);
    return new SqliteRouteStore(path, db, release);
  }

  async bindSource(source: string): Promise<void> {
    this.db.transaction(() => {
      const row = this.db.prepare(`SELECT value FROM route_meta WHERE key = 'source'`).pluck().get() as string | undefined;
      if (row === source) return;
      if (row !== undefined) {
        // Another source: its files are other files, whatever their names; what the drives hold stays recorded.
        this.db.exec('DELETE FROM route_files; DELETE FROM route_pending; UPDATE route_deliveries SET source_path = NULL;');
      }
      this.db.prepare(`INSERT INTO route_meta (key, value) VALUES ('source', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(source);
    })();
  }

  async meta(key: string): Promise<string | undefined> {
    return this.db.prepare('SELECT value FROM route_meta WHERE key = ?').pluck().get(key) as string | undefined;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.db.prepare('INSERT INTO route_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  async recategorize(categorize: (path: string, size: number, mime: string) => string): Promise<number> {
    const set = this.db.prepare('UPDATE route_files SET category = ? WHERE path = ?');
    return this.db.transaction(() => {
      let n = 0;
      const rows = this.db.prepare('SELECT path, size, mime, category FROM route_files').raw(true).all() as Array<[string, bigint, string, string]>;
      for (const [path, size, mime, category] of rows) {
        const now = categorize(path, Number(size), mime);
        if (now === category) continue;
        set.run(now, path);
        n++;
      }
      return n;
    })();
  }

  async syncDrives(drives: RouteDriveRow[]): Promise<void> {
    const upsert = this.db.prepare(`INSERT INTO route_drives (id, label, category, active) VALUES (?, ?, ?, 1)
      ON CONFLICT (id) DO UPDATE SET label = excluded.label, category = excluded.category, active = 1`);
    this.db.transaction(() => {
      this.db.exec('UPDATE route_drives SET active = 0');
      for (const d of drives) upsert.run(d.id, d.label, d.category);
    })();
  }

  async knownFiles(): Promise<Map<string, { size: bigint; mtimeNs: bigint }>> {
    const map = new Map<string, { size: bigint; mtimeNs: bigint }>();
    for (const [path, size, mtimeNs] of this.db.prepare('SELECT path, size, mtime_ns FROM route_files').raw(true).iterate() as Iterable<[string, bigint, bigint]>) {
      map.set(path, { size, mtimeNs });
    }
    return map;
  }

  async getFile(path: string): Promise<RouteFile | undefined> {
    const r = this.sql('SELECT path, size, mtime_ns, hash, mime, category FROM route_files WHERE path = ?').raw(true).get(path) as
      | [string, bigint, bigint, string, string, string]
      | undefined;
    return r && { path: r[0], size: r[1], mtimeNs: r[2], hash: r[3], mime: r[4], category: r[5] };
  }

  async pathsWithHash(hash: string): Promise<string[]> {
    return this.db.prepare('SELECT path FROM route_files WHERE hash = ? ORDER BY path').pluck().all(hash) as string[];
  }

  async putFiles(files: RouteFile[], lookedNs: bigint): Promise<void> {
    const put = this.sql(`INSERT INTO route_files (path, size, mtime_ns, hash, mime, category, looked_ns) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, hash = excluded.hash, mime = excluded.mime,
        category = excluded.category, looked_ns = excluded.looked_ns`);
    this.db.transaction(() => {
      for (const f of files) put.run(f.path, f.size, f.mtimeNs, f.hash, f.mime, f.category, lookedNs);
    })();
  }

  async removeFiles(paths: string[], options: { below?: boolean } = {}): Promise<number> {
    const one = this.sql('DELETE FROM route_files WHERE path = ?');
    const untie = this.sql('UPDATE route_deliveries SET source_path = NULL WHERE source_path = ?');
    // Everything under `p/`: the range [p/, p0) holds exactly the paths that start with "p/" ("0" follows "/").
    const below = this.sql('DELETE FROM route_files WHERE path >= ? AND path < ?');
    const untieBelow = this.sql('UPDATE route_deliveries SET source_path = NULL WHERE source_path >= ? AND source_path < ?');
    let n = 0;
    this.db.transaction(() => {
      for (const p of paths) {
        n += one.run(p).changes;
        untie.run(p);
        if (options.below) {
          n += below.run(`${p}/`, `${p}0`).changes;
          untieBelow.run(`${p}/`, `${p}0`);
        }
      }
    })();
    return n;
  }

  async staleFiles(paths: string[]): Promise<void> {
    const stale = this.sql('UPDATE route_files SET mtime_ns = -1 WHERE path = ?');
    this.db.transaction(() => {
      for (const p of paths) stale.run(p);
    })();
  }

  async refreshQueue(nowNs: bigint, onQueued?: (row: PendingDelivery) => void): Promise<number> {
    return this.db.transaction(() => {
      this.db.exec(`DELETE FROM route_pending WHERE NOT EXISTS (
        SELECT 1 FROM route_files f JOIN route_drives d ON d.id = route_pending.drive_id AND d.active = 1 AND d.category = f.category
        WHERE f.hash = route_pending.hash)`);
      this.db.exec(`DELETE FROM route_pending WHERE EXISTS (
        SELECT 1 FROM route_deliveries x WHERE x.drive_id = route_pending.drive_id AND x.hash = route_pending.hash)`);
      this.db.exec(`UPDATE route_pending SET
          path = (SELECT min(f.path) FROM route_files f WHERE f.hash = route_pending.hash),
          size = (SELECT f.size FROM route_files f WHERE f.hash = route_pending.hash ORDER BY f.path LIMIT 1)
        WHERE NOT EXISTS (SELECT 1 FROM route_files f WHERE f.hash = route_pending.hash AND f.path = route_pending.path)`);
      const insert = this.db
        .prepare(`INSERT INTO route_pending (drive_id, hash, path, size, queued_ns)
          SELECT d.id, f.hash, min(f.path), min(f.size), ? FROM route_files f
          JOIN route_drives d ON d.category = f.category AND d.active = 1
          WHERE NOT EXISTS (SELECT 1 FROM route_deliveries x WHERE x.drive_id = d.id AND x.hash = f.hash)
            AND NOT EXISTS (SELECT 1 FROM route_pending p WHERE p.drive_id = d.id AND p.hash = f.hash)
          GROUP BY d.id, f.hash
          RETURNING ${PENDING_COLUMNS}`)
        .raw(true);
      let n = 0;
      for (const row of insert.iterate(nowNs) as Iterable<PendingRow>) {
        n++;
        onQueued?.(toPending(row));
      }
      return n;
    })();
  }

  async pending(driveId: string | null, afterId: number, limit: number): Promise<PendingDelivery[]> {
    const rows = (
      driveId === null
        ? this.sql(`SELECT ${PENDING_COLUMNS} FROM route_pending WHERE id > ? ORDER BY id LIMIT ?`).raw(true).all(afterId, limit)
        : this.sql(`SELECT ${PENDING_COLUMNS} FROM route_pending WHERE drive_id = ? AND id > ? ORDER BY id LIMIT ?`).raw(true).all(driveId, afterId, limit)
    ) as PendingRow[];
    return rows.map(toPending);
  }

  async queued(driveId: string, hash: string): Promise<PendingDelivery | undefined> {
    const r = this.sql(`SELECT ${PENDING_COLUMNS} FROM route_pending WHERE drive_id = ? AND hash = ?`).raw(true).get(driveId, hash) as PendingRow | undefined;
    return r && toPending(r);
  }

  async deliveries(driveId: string, hash: string): Promise<Delivery | undefined> {
    const r = this.sql(`SELECT ${DELIVERY_COLUMNS} FROM route_deliveries WHERE drive_id = ? AND hash = ?`).raw(true).get(driveId, hash) as DeliveryRow | undefined;
    return r && toDelivery(r);
  }

  async recentDeliveries(limit: number): Promise<Delivery[]> {
    return (this.sql(`SELECT ${DELIVERY_COLUMNS} FROM route_deliveries ORDER BY delivered_ns DESC LIMIT ?`).raw(true).all(limit) as DeliveryRow[]).map(toDelivery);
  }

  async deliveryAt(driveId: string, path: string): Promise<Delivery | undefined> {
    const r = this.sql(`SELECT ${DELIVERY_COLUMNS} FROM route_deliveries WHERE drive_id = ? AND path = ?`).raw(true).get(driveId, path) as DeliveryRow | undefined;
    return r && toDelivery(r);
  }

  async deliveriesOf(hash: string): Promise<Delivery[]> {
    return (this.db.prepare(`SELECT ${DELIVERY_COLUMNS} FROM route_deliveries WHERE hash = ? ORDER BY drive_id`).raw(true).all(hash) as DeliveryRow[]).map(toDelivery);
  }

  async duplicates(lookedNs: bigint): Promise<Array<{ path: string; driveId: string; sameAs: string; queued: boolean }>> {
    const rows = this.sql(`SELECT f.path, d.id, coalesce(x.path, p.path), x.hash IS NULL
        FROM route_files f
        JOIN route_drives d ON d.category = f.category AND d.active = 1
        LEFT JOIN route_deliveries x ON x.drive_id = d.id AND x.hash = f.hash
        LEFT JOIN route_pending p ON p.drive_id = d.id AND p.hash = f.hash
        WHERE f.looked_ns >= ?
          AND (CASE WHEN x.hash IS NOT NULL THEN coalesce(x.source_path, '') ELSE p.path END) <> f.path
        ORDER BY f.path, d.id`)
      .raw(true)
      .all(lookedNs) as Array<[string, string, string, bigint]>;
    return rows.map(([path, driveId, sameAs, queued]) => ({ path, driveId, sameAs, queued: queued === 1n }));
  }

  async recordDeliveries(rows: Delivery[]): Promise<void> {
    const replaced = this.sql('DELETE FROM route_deliveries WHERE drive_id = ? AND path = ? AND hash <> ?');
    const put = this.sql(`INSERT INTO route_deliveries (${DELIVERY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (drive_id, hash) DO UPDATE SET source_path = excluded.source_path, size = excluded.size,
        mtime_ns = excluded.mtime_ns, delivered_ns = excluded.delivered_ns
      WHERE route_deliveries.path = excluded.path`);
    const done = this.sql('DELETE FROM route_pending WHERE drive_id = ? AND hash = ?');
    this.db.transaction(() => {
      for (const r of rows) {
        replaced.run(r.driveId, r.path, r.hash);
        put.run(r.driveId, r.hash, r.path, r.sourcePath, r.size, r.mtimeNs, r.deliveredNs);
        done.run(r.driveId, r.hash);
      }
    })();
  }

  async pendingFailed(id: number, error: string): Promise<void> {
    this.db.prepare('UPDATE route_pending SET attempts = attempts + 1, last_error = ? WHERE id = ?').run(error, id);
  }

  async dropPending(id: number): Promise<void> {
    this.db.prepare('DELETE FROM route_pending WHERE id = ?').run(id);
  }

  async driveSeen(driveId: string, location: string, nowNs: bigint): Promise<void> {
    this.db.prepare('UPDATE route_drives SET last_seen_ns = ?, last_location = ? WHERE id = ?').run(nowNs, location, driveId);
  }

  async stats(): Promise<DriveStats[]> {
    const rows = this.db
      .prepare(`SELECT d.id, d.label, d.category,
          (SELECT count(*) FROM route_deliveries x WHERE x.drive_id = d.id),
          (SELECT coalesce(sum(size), 0) FROM route_deliveries x WHERE x.drive_id = d.id),
          (SELECT count(*) FROM route_pending p WHERE p.drive_id = d.id),
          (SELECT coalesce(sum(size), 0) FROM route_pending p WHERE p.drive_id = d.id),
          (SELECT count(*) FROM route_pending p WHERE p.drive_id = d.id AND p.last_error IS NOT NULL),
          d.last_seen_ns, d.last_location
        FROM route_drives d WHERE d.active = 1 ORDER BY d.label`)
      .raw(true)
      .all() as Array<[string, string, string, bigint, bigint, bigint, bigint, bigint, bigint | null, string | null]>;
    return rows.map(([id, label, category, delivered, deliveredBytes, pending, pendingBytes, failing, lastSeenNs, lastLocation]) => ({
      id, label, category, delivered: Number(delivered), deliveredBytes, pending: Number(pending), pendingBytes, failing: Number(failing), lastSeenNs, lastLocation,
    }));
  }

  async clear(driveId: string | null): Promise<{ deliveries: number; pending: number }> {
    return this.db.transaction(() => {
      const where = driveId === null ? '' : ' WHERE drive_id = ?';
      const args = driveId === null ? [] : [driveId];
      const deliveries = this.db.prepare(`DELETE FROM route_deliveries${where}`).run(...args).changes;
      const pending = this.db.prepare(`DELETE FROM route_pending${where}`).run(...args).changes;
      return { deliveries, pending };
    })();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
    this.release();
  }
}
