import { lstat, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { FerryError } from '../../core/errors.js';
import type { Emit } from '../../core/events.js';
import { hashFile } from '../../io/hash-file.js';
import { nanosecondTimes } from '../../io/native.js';
import { modifyWindow } from '../../engine/plan.js';
import { StatsTracker } from '../../engine/stats.js';
import { transferBacklog, type BacklogStore } from '../../engine/transfer.js';
import type { FileRecord, SyncedFile } from '../../store/store.js';
import type { PendingDelivery, RouteStore } from '../../store/route-store.js';
import { LocalTarget } from '../../targets/local.js';
import { readMarker, type DriveLocation } from './drives.js';

export interface DeliverOptions {
  source: string;
  bwlimit?: number;
  emit: Emit;
  signal: AbortSignal;
}

export interface DriveResult {
  delivered: number;
  bytes: number;
  /** Already on the drive with the same content (recorded, not copied). */
  present: number;
  failed: number;
  pendingLeft: number;
  /** Why delivery stopped before the queue was empty: the drive went away, filled up, or ferry was stopped. */
  stopped?: string;
}

const PAGE = 256;

/** `name (2).ext`, `name (3).ext`…: a free name beside a file ferry did not put there. */
function alternative(rel: string, n: number): string {
  const dir = posix.dirname(rel);
  const base = posix.basename(rel);
  const dot = base.lastIndexOf('.');
  const name = dot > 0 ? `${base.slice(0, dot)} (${n})${base.slice(dot)}` : `${base} (${n})`;
  return dir === '.' ? name : `${dir}/${name}`;
}

/**
 * The drive's queue as the engine's transfer sees a backlog: each pending content becomes a file to
 * copy from the source to its place on the drive, and each outcome lands back in the route Store.
 * A content already on the drive (same bytes under the destination name) is recorded, not copied;
 * a name taken by a file ferry did not deliver gets a free alternative.
 */
class DriveBacklog implements BacklogStore {
  private readonly rows = new Map<string, { row: PendingDelivery; rel: string }>();
  present = 0;

  constructor(
    private readonly store: RouteStore,
    private readonly loc: DriveLocation,
    private readonly target: LocalTarget,
    private readonly o: DeliverOptions,
    private readonly goneCheck: () => Promise<boolean>,
  ) {}

  async pendingAfter(afterRowid: number, limit: number): Promise<Array<FileRecord & { rowid: number }>> {
    const out: Array<FileRecord & { rowid: number }> = [];
    for (let after = afterRowid; out.length === 0; ) {
      const rows = await this.store.pending(this.loc.drive.id, after, Math.min(limit, PAGE));
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.id;
      for (const row of rows) {
        const r = await this.prepare(row);
        if (r) out.push(r);
      }
    }
    return out;
  }

  private async prepare(row: PendingDelivery): Promise<(FileRecord & { rowid: number }) | undefined> {
    const sourcePath = join(this.o.source, row.path);
    const s = await lstat(sourcePath, { bigint: true }).catch(() => undefined);
    if (!s?.isFile()) {
      await this.forget(sourcePath, row);
      return undefined;
    }
    const rel = await this.placeFor(row);
    if (rel === undefined) return undefined;
    this.rows.set(sourcePath, { row, rel });
    return {
      rowid: row.id, sourcePath, destPath: join(this.target.root, rel), rel, kind: 'file', size: s.size,
      createdNs: s.birthtimeNs, changedNs: s.ctimeNs, modifiedNs: s.mtimeNs, accessedNs: s.atimeNs, permissions: Number(s.mode & 0o7777n),
      hash: null, algorithm: null, status: 'pending', error: null, attempts: row.attempts,
    };
  }

  /** Where the content goes on the drive; undefined when it is there already (then it is recorded). */
  private async placeFor(row: PendingDelivery): Promise<string | undefined> {
    const wanted = this.loc.drive.folder ? `${this.loc.drive.folder}/${row.path}` : row.path;
    for (let n = 1; n < 10_000; n++) {
      const rel = n === 1 ? wanted : alternative(wanted, n);
      const there = await this.target.stat(rel);
      if (!there) return rel;
      if (await this.store.deliveryAt(this.loc.drive.id, rel)) return rel; // ferry's own earlier delivery: replace it
      if (there.kind === 'file' && there.size === row.size) {
        const h = await hashFile(join(this.target.root, rel), 'blake3', Number(there.size)).catch(() => undefined);
        if (h?.hash === row.hash) {
          await this.store.recordDeliveries([{ driveId: this.loc.drive.id, hash: row.hash, path: rel, sourcePath: row.path, size: row.size, deliveredNs: BigInt(Date.now()) * 1_000_000n }]);
          this.present++;
          this.o.emit({ type: 'route.present', path: row.path, drive: this.loc.drive.label, destination: join(this.target.root, rel) });
          return undefined;
        }
      }
    }
    throw new FerryError('DEST_UNAVAILABLE', `No free name for ${wanted} on ${this.loc.drive.label}.`);
  }

  async markSynced(files: SyncedFile[]): Promise<void> {
    const now = BigInt(Date.now()) * 1_000_000n;
    const changed: string[] = [];
    const rows = files.map((f) => {
      const { row, rel } = this.rows.get(f.sourcePath)!;
      this.rows.delete(f.sourcePath);
      const hash = f.hash ?? row.hash;
      if (hash !== row.hash) changed.push(row.path); // the file changed after it was queued: classify it again
      return { driveId: this.loc.drive.id, hash, path: rel, sourcePath: row.path, size: f.size, deliveredNs: now };
    });
    await this.store.recordDeliveries(rows);
    if (changed.length > 0) await this.store.removeFiles(changed);
  }

  async markFailed(sourcePath: string, error: string): Promise<void> {
    const entry = this.rows.get(sourcePath);
    this.rows.delete(sourcePath);
    // A drive pulled out fails every write: that is the drive going away, not the file failing.
    if (await this.goneCheck()) return;
    if (entry) await this.store.pendingFailed(entry.row.id, error);
  }

  async requeue(sourcePath: string): Promise<void> {
    const entry = this.rows.get(sourcePath);
    this.rows.delete(sourcePath);
    if (entry) await this.store.removeFiles([entry.row.path]); // classified again by the next scan; the row stays queued
  }

  async forget(sourcePath: string, row = this.rows.get(sourcePath)?.row): Promise<void> {
    this.rows.delete(sourcePath);
    if (!row) return;
    await this.store.removeFiles([row.path]);
    await this.store.dropPending(row.id);
  }
}

const precision = new Map<string, bigint>();

/**
 * Delivers a drive's queue through the engine's transfer: temp file + rename on the drive, times
 * kept, BLAKE3 computed while reading, the drive flushed (syncfs) before a delivery is recorded.
 * Stops early, leaving the rest queued, when the drive goes away or fills up, or on `signal`.
 */
export async function deliverToDrive(store: RouteStore, loc: DriveLocation, o: DeliverOptions): Promise<DriveResult> {
  const drive = loc.drive;
  const marker = await readMarker(loc.root);
  if (marker?.id !== drive.id) {
    throw new FerryError('REFUSED', `${loc.root} no longer carries the marker of ${drive.label}; nothing was written to it.`);
  }
  const root = drive.folder ? join(loc.root, drive.folder) : loc.root;
  // The drive's device, read now that its marker is there: should it be unmounted mid-delivery, its
  // path becomes a bare mount point on the system disk, and every write there fails instead of landing.
  const device = (await stat(loc.root, { bigint: true })).dev;
  const target = new LocalTarget(root, `route:${drive.id}`, { device });
  const gone = new AbortController();
  let goneReason: string | undefined;
  const goneCheck = async (): Promise<boolean> => {
    if (goneReason) return true;
    if ((await readMarker(loc.root))?.id === drive.id) return false;
    goneReason = `${drive.label} went away`;
    gone.abort(new FerryError('DEST_UNAVAILABLE', `${goneReason}.`));
    return true;
  };
  // Once the drive has gone, the writes that fail are that, not files failing: they stay queued, unreported.
  const emit: Emit = (e) => {
    if (!(goneReason && e.type === 'file.error')) o.emit(e);
  };
  const backlog = new DriveBacklog(store, loc, target, { ...o, emit }, goneCheck);
  const key = `${drive.id}\0${root}`;
  let caps = precision.get(key);
  if (caps === undefined) {
    if (drive.folder) await target.mkdir('');
    caps = (await target.probe()).timePrecisionNs;
    precision.set(key, caps);
  }
  const stats = new StatsTracker(emit);
  const signal = AbortSignal.any([o.signal, gone.signal]);
  const result: DriveResult = { delivered: 0, bytes: 0, present: 0, failed: 0, pendingLeft: 0 };
  const before = (await store.stats()).find((d) => d.id === drive.id);
  stats.beginTransfer(before?.pending ?? 0, Number(before?.pendingBytes ?? 0n));
  stats.start();
  try {
    const t = await transferBacklog({
      store: backlog,
      target,
      options: {
        blockSize: 5 * 1024 * 1024, queueCapacity: 20, transfers: 4, algorithm: 'blake3', bwlimit: o.bwlimit,
        timeToleranceNs: modifyWindow({ source: 1n, destination: caps, setter: nanosecondTimes ? 1n : 1000n }),
      },
      emit,
      stats,
      signal,
    });
    result.delivered = t.copied;
    result.bytes = t.bytes;
    result.failed = goneReason ? 0 : t.failed;
    if (t.destinationFull) result.stopped = `${drive.label} is full`;
  } catch (err) {
    if (!(await goneCheck()) && !o.signal.aborted) throw err;
  } finally {
    stats.stop();
    await target.close(); // nothing stays open on the drive: it can be unmounted
  }
  result.present = backlog.present;
  if (goneReason) result.stopped = goneReason;
  else if (o.signal.aborted) result.stopped = 'stopped';
  result.pendingLeft = (await store.stats()).find((d) => d.id === drive.id)?.pending ?? 0;
  return result;
}
