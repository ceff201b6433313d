import { join, posix } from 'node:path';
import type { Backlog, BacklogItem, SyncedRow } from '../../core/backlog.js';
import { PIPELINE_DEFAULTS } from '../../core/defaults.js';
import { describeFileError, errnoCode, FerryError } from '../../core/errors.js';
import type { Emit } from '../../core/events.js';
import { mapLimit } from '../../core/map-limit.js';
import type { Target } from '../../core/target.js';
import type { Tree } from '../../core/tree.js';
import { hashEntry } from '../../engine/hash-entry.js';
import { modifyWindow, SETTER_PRECISION_NS } from '../../engine/plan.js';
import { StatsTracker } from '../../engine/stats.js';
import { transferBacklog } from '../../engine/transfer.js';
import type { Delivery, PendingDelivery, RouteStore } from '../../core/route-store.js';
import { openDriveTarget } from '../../targets/drive.js';
import { LocalTree } from '../../targets/local-tree.js';
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
  /** Why delivery stopped before the queue was empty, in a sentence. */
  stopped?: string;
  /** The drive went away (files stay queued: not a failure), filled up, met an error, or ferry was stopped. */
  stoppedBy?: 'away' | 'full' | 'error' | 'interrupted';
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
class DriveBacklog implements Backlog {
  private readonly rows = new Map<number, { row: PendingDelivery; rel: string }>();
  private readonly claimed = new Set<string>();
  private readonly listings = new Map<string, Promise<Set<string> | undefined>>();
  /** What each directory on the way to a name on the drive is, once looked at. */
  private readonly parents = new Map<string, Promise<string | undefined>>();
  private cursor = 0;
  present = 0;
  /** Files failed before the transfer saw them (their place on the drive could not be looked at). */
  failed = 0;

  constructor(
    private readonly store: RouteStore,
    private readonly loc: DriveLocation,
    private readonly source: Tree,
    private readonly target: Target,
    private readonly caps: { toleranceNs: bigint; caseSensitive: boolean },
    private readonly o: DeliverOptions,
    private readonly goneCheck: () => Promise<boolean>,
  ) {}

  /** A name as the drive compares names: folded on a case-insensitive drive (FAT, exFAT, NTFS, SMB). */
  private key(name: string): string {
    return this.caps.caseSensitive ? name : name.toLowerCase();
  }

  async pendingAfter(afterRowid: number, limit: number, kinds?: 'dirs' | 'entries'): Promise<BacklogItem[]> {
    if (kinds === 'dirs') return []; // a drive's queue holds files only
    const out: BacklogItem[] = [];
    // From the last row looked at, not the last handed over: rows skipped here are not looked at twice.
    for (let after = Math.max(afterRowid, this.cursor); out.length === 0; ) {
      const rows = await this.store.pending(this.loc.drive.id, after, Math.min(limit, PAGE));
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.id;
      this.cursor = after;
      // Looking for each one's place on the drive is a stat or two: many at once, in queue order.
      for (const r of await mapLimit(rows, 16, (row) => this.prepare(row))) if (r) out.push(r);
    }
    return out;
  }

  /**
   * The row as the transfer takes it, once the source file is still the one that was classified
   * (same size and mtime): a file changed since is left queued for the next scan to classify again,
   * so it never goes to the drive of its old category. A change after this look is caught by the
   * hash computed while copying (see markSynced).
   */
  private async prepare(row: PendingDelivery): Promise<BacklogItem | undefined> {
    const sourcePath = join(this.source.root, row.path);
    const skip = (reason: 'changed' | 'vanished'): void =>
      this.o.emit({ type: 'file.skip', path: row.path, source: sourcePath, destination: '', size: Number(row.size), reason });
    try {
      const [now, known] = await Promise.all([this.source.stat(row.path), this.store.getFile(row.path)]);
      if (!now) {
        await this.store.removeFiles([row.path]);
        await this.store.dropPending(row.id);
        skip('vanished');
        return undefined;
      }
      if (now.kind !== 'file' || !known || known.hash !== row.hash || now.size !== known.size || now.mtimeNs !== known.mtimeNs) {
        await this.store.staleFiles([row.path]);
        skip('changed');
        return undefined;
      }
      const rel = await this.placeFor(row);
      if (rel === undefined) return undefined;
      this.rows.set(row.id, { row, rel });
      return {
        id: row.id, sourceRel: row.path, destRel: rel, kind: 'file', size: row.size,
        modifiedNs: now.mtimeNs, accessedNs: now.atimeNs, permissions: now.mode & 0o7777, uid: now.uid, gid: now.gid,
      };
    } catch (err) {
      if (err instanceof FerryError) throw err;
      if (await this.goneCheck()) return undefined; // the drive went away: not this file's failure
      // One file's trouble (an unreadable source, a symlink or a loop on the drive) fails that file only.
      const message = describeFileError(err);
      await this.store.pendingFailed(row.id, message);
      this.failed++;
      this.o.emit({ type: 'file.error', path: row.path, source: sourcePath, destination: join(this.target.root, row.path), size: Number(row.size), message, errno: errnoCode(err) });
      return undefined;
    }
  }

  /**
   * The names of a directory of the drive (folded as the drive compares them), read once per
   * delivery: a stat of each missing name costs an error each, and a fresh drive has thousands.
   * Empty when the directory does not exist; undefined when it cannot be listed (then stats decide).
   */
  private list(dir: string): Promise<Set<string> | undefined> {
    let names = this.listings.get(dir);
    if (!names) {
      names = this.target.entries(dir).then(
        (n) => new Set(n.map((e) => this.key(e.rel.slice(e.rel.lastIndexOf('/') + 1)))),
        (err: unknown) => (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR' ? new Set<string>() : undefined),
      );
      this.listings.set(dir, names);
    }
    return names;
  }

  /** Whether a name may be in its directory on the drive (true when the directory cannot be listed). */
  private async listed(rel: string): Promise<boolean> {
    const cut = rel.lastIndexOf('/');
    const names = await this.list(cut < 0 ? '' : rel.slice(0, cut));
    return names === undefined || names.has(this.key(rel.slice(cut + 1)));
  }

  /**
   * Rejects ENOTDIR when a parent of `rel` on the drive is a symlink or a file: a name is never looked
   * up, hashed or written through a link. A parent not listed is not there yet (it will be made as a
   * real directory); one that is, is looked at once.
   */
  private async checkParents(rel: string): Promise<void> {
    const parts = rel.split('/').slice(0, -1);
    for (let i = 0; i < parts.length; i++) {
      const dir = parts.slice(0, i + 1).join('/');
      if (!(await this.listed(dir))) return;
      let kind = this.parents.get(dir);
      if (!kind) {
        kind = this.target.stat(dir).then((e) => e?.kind);
        this.parents.set(dir, kind);
      }
      const k = await kind;
      if (k === undefined) return;
      if (k !== 'dir') {
        throw Object.assign(new Error(`${dir} on the drive is ${k === 'symlink' ? 'a symlink' : 'a file'}, not a directory`), { code: 'ENOTDIR' });
      }
    }
  }

  /**
   * Where the content goes on the drive; undefined when it is there already (then it is recorded).
   * A name is taken over only from ferry's own earlier delivery of the same source file, and only
   * while the drive's file is as ferry left it; a file of the same name that is not that (the user's,
   * one ferry gave another file, one edited on the drive) is kept, and the content goes beside it as
   * "name (2).ext", unless it holds the same bytes already.
   */
  private async placeFor(row: PendingDelivery): Promise<string | undefined> {
    const wanted = row.path; // relative to the target's root: the drive's folder when it has one
    // Parents on the drive must be real directories: a name is never looked up (or hashed) through a link.
    await this.checkParents(wanted);
    for (let n = 1; n < 10_000; n++) {
      const rel = n === 1 ? wanted : alternative(wanted, n);
      // A name another file of this delivery is going to is taken, even before it is written.
      if (this.claimed.has(this.key(rel))) continue;
      this.claimed.add(this.key(rel));
      const there = (await this.listed(rel)) ? await this.target.stat(rel) : undefined;
      if (!there) return rel;
      const earlier = await this.store.deliveryAt(this.loc.drive.id, there.rel);
      const asLeft = (d: Delivery | undefined): boolean => {
        if (!d || there.kind !== 'file' || there.size !== d.size) return false;
        const delta = there.mtimeNs > d.mtimeNs ? there.mtimeNs - d.mtimeNs : d.mtimeNs - there.mtimeNs;
        return delta < this.caps.toleranceNs;
      };
      if (earlier?.sourcePath === row.path && there.rel === rel && asLeft(earlier)) return rel; // the source file changed: replace ferry's copy
      this.claimed.delete(this.key(rel));
      if (there.kind === 'file' && there.size === row.size) {
        const h = await hashEntry(this.target, rel, 'blake3', Number(there.size)).catch(() => undefined);
        if (h?.hash === row.hash) {
          // Recorded as holding the content, but not as ferry's copy of this source file: it is never replaced.
          await this.store.recordDeliveries([{ driveId: this.loc.drive.id, hash: row.hash, path: rel, sourcePath: null, size: row.size, mtimeNs: h.mtimeNs, deliveredNs: BigInt(Date.now()) * 1_000_000n }]);
          this.present++;
          this.o.emit({ type: 'route.present', path: row.path, drive: this.loc.drive.label, destination: join(this.target.root, rel) });
          return undefined;
        }
      }
    }
    throw new FerryError('DEST_UNAVAILABLE', `No free name for ${wanted} on ${this.loc.drive.label}.`);
  }

  async markSynced(files: SyncedRow[]): Promise<void> {
    const now = BigInt(Date.now()) * 1_000_000n;
    const changed: string[] = [];
    const dropped: number[] = [];
    const rows = files.map((f) => {
      const { row, rel } = this.rows.get(f.id)!;
      this.rows.delete(f.id);
      const hash = f.hash ?? row.hash;
      const same = hash === row.hash;
      if (!same) {
        // Changed between the look and the read (a race of milliseconds): the bytes on the drive are
        // recorded as they are, but not as ferry's copy of the file, so they are never replaced; the
        // file is classified again by the next scan and goes where its new content belongs.
        changed.push(row.path);
        dropped.push(row.id);
      }
      return { driveId: this.loc.drive.id, hash, path: rel, sourcePath: same ? row.path : null, size: f.size, mtimeNs: f.modifiedNs, deliveredNs: now };
    });
    await this.store.recordDeliveries(rows);
    if (changed.length > 0) await this.store.staleFiles(changed);
    for (const id of dropped) await this.store.dropPending(id);
  }

  async markFailed(id: number, error: string): Promise<void> {
    const entry = this.rows.get(id);
    this.rows.delete(id);
    // A drive pulled out fails every write: that is the drive going away, not the file failing.
    if (await this.goneCheck()) return;
    if (entry) await this.store.pendingFailed(entry.row.id, error);
  }

  async requeue(id: number): Promise<void> {
    const entry = this.rows.get(id);
    this.rows.delete(id);
    if (entry) await this.store.staleFiles([entry.row.path]); // classified again by the next scan; the row stays queued
  }

  async forget(id: number): Promise<void> {
    const entry = this.rows.get(id);
    this.rows.delete(id);
    if (!entry) return;
    await this.store.removeFiles([entry.row.path]);
    await this.store.dropPending(entry.row.id);
  }
}

/** Each drive's probed time precision and case sensitivity, once per process (probing writes a file). */
const probed = new Map<string, { precisionNs: bigint; caseSensitive: boolean }>();

/**
 * Delivers a drive's queue through the engine's transfer: temp file + rename on the drive, times
 * kept, BLAKE3 computed while reading, the drive flushed (syncfs) before a delivery is recorded.
 * Stops early, leaving the rest queued, when the drive goes away or fills up, or on `signal`.
 */
export async function deliverToDrive(store: RouteStore, loc: DriveLocation, o: DeliverOptions): Promise<DriveResult> {
  const drive = loc.drive;
  const marker = await readMarker(loc.root);
  if (!marker) {
    const pendingLeft = (await store.stats()).find((d) => d.id === drive.id)?.pending ?? 0;
    return { delivered: 0, bytes: 0, present: 0, failed: 0, pendingLeft, stopped: `${drive.label} went away`, stoppedBy: 'away' };
  }
  if (marker.id !== drive.id) {
    throw new FerryError('REFUSED', `${loc.root} now carries the marker of another drive (${marker.label}), not ${drive.label}'s; nothing was written to it.`);
  }
  // The drive pinned by its device now that its marker is there: should it be unmounted mid-delivery,
  // its path becomes a bare mount point on the system disk, and every write there fails instead of landing.
  const target = await openDriveTarget(loc.root, drive.folder, `route:${drive.id}`, drive.label);
  const root = target.root;
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
  const key = `${drive.id}\0${root}`;
  let caps = probed.get(key);
  if (caps === undefined) {
    const c = await target.probe();
    caps = { precisionNs: c.timePrecisionNs, caseSensitive: c.caseSensitive };
    probed.set(key, caps);
  }
  const toleranceNs = modifyWindow({ source: 1n, destination: caps.precisionNs, setter: SETTER_PRECISION_NS });
  const source = new LocalTree(o.source);
  const backlog = new DriveBacklog(store, loc, source, target, { toleranceNs, caseSensitive: caps.caseSensitive }, { ...o, emit }, goneCheck);
  const stats = new StatsTracker(emit);
  const signal = AbortSignal.any([o.signal, gone.signal]);
  const result: DriveResult = { delivered: 0, bytes: 0, present: 0, failed: 0, pendingLeft: 0 };
  const before = (await store.stats()).find((d) => d.id === drive.id);
  stats.beginTransfer(before?.pending ?? 0, Number(before?.pendingBytes ?? 0n));
  stats.start();
  try {
    const t = await transferBacklog({
      backlog,
      source,
      target,
      options: { ...PIPELINE_DEFAULTS, algorithm: 'blake3', bwlimit: o.bwlimit, timeToleranceNs: toleranceNs },
      emit,
      stats,
      signal,
    });
    result.delivered = t.copied;
    result.bytes = t.bytes;
    result.failed = goneReason ? 0 : t.failed + backlog.failed;
    if (t.destinationFull) Object.assign(result, { stopped: `${drive.label} is full`, stoppedBy: 'full' });
  } catch (err) {
    if (!(await goneCheck()) && !o.signal.aborted) throw err;
  } finally {
    stats.stop();
    await target.close(); // nothing stays open on the drive: it can be unmounted
  }
  result.present = backlog.present;
  if (goneReason) Object.assign(result, { stopped: goneReason, stoppedBy: 'away' });
  else if (o.signal.aborted) Object.assign(result, { stopped: 'stopped', stoppedBy: 'interrupted' });
  result.pendingLeft = (await store.stats()).find((d) => d.id === drive.id)?.pending ?? 0;
  return result;
}
