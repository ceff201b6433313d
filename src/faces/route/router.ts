import { createHash } from 'node:crypto';
import { relative, sep } from 'node:path';
import { describeFileError, errnoCode, FerryError } from '../../core/errors.js';
import type { Emit } from '../../core/events.js';
import { mapLimit } from '../../core/map-limit.js';
import { LocalTree } from '../../targets/local-tree.js';
import { hashEntry } from '../../engine/hash-entry.js';
import type { RouteFile, RouteStore } from '../../core/route-store.js';
import { openRouteStore } from '../../store/open.js';
import { categorize, detectBytes, detectIn, extensionOf, type Detection } from './classify.js';
import type { RouteConfig } from './config.js';
import { deliverToDrive, type DriveResult } from './deliver.js';
import { DriveLocator, type DriveLocation } from './drives.js';
import { readMountTable } from '../../engine/volumes.js';
import { routeFilter } from './route-filter.js';

export { PARTIAL_PATTERNS } from './route-filter.js';

export interface ScanSummary {
  files: number;
  classified: number;
  removed: number;
  errors: number;
  queued: number;
}

export interface RouterOptions {
  emit: Emit;
  signal: AbortSignal;
  /** Opens the Store read-only: status and listings beside a running `ferry route run`. */
  readOnly?: boolean;
}

/**
 * What the categories of the known files were decided by: the rules, and the classifier's own
 * tables (bump CLASSIFIER when detection changes: then every file is read and classified again).
 */
const CLASSIFIER = '1';

/**
 * A change of rules gives every known file the category the new rules say (from its recorded type:
 * no file is read again); a change of the classifier makes the next scan classify every file anew.
 * The queue follows at the next scan, as it follows any change.
 */
async function followRules(store: RouteStore, config: RouteConfig, emit: Emit): Promise<void> {
  const rules = createHash('sha256').update(JSON.stringify(config.rules)).digest('hex');
  if ((await store.meta('classifier')) !== CLASSIFIER) {
    const known = [...(await store.knownFiles()).keys()];
    if (known.length > 0) await store.staleFiles(known);
    await store.setMeta('classifier', CLASSIFIER);
  } else if ((await store.meta('rules')) !== rules) {
    const n = await store.recategorize((path, size, mime) =>
      categorize({ mime, by: 'magic', extension: extensionOf(path) }, path, size, config.rules).category);
    if (n > 0) emit({ type: 'notice', message: `the rules changed: ${n} file(s) classified before now go to another category` });
  }
  await store.setMeta('rules', rules);
}

/** Files up to this size are read once, whole, for their hash and their type. */
const WHOLE = 1024 * 1024;
/** Files classified per chunk of a scan. */
const CHUNK = 2000;

const posixRel = (root: string, p: string): string => relative(root, p).split(sep).join('/');

/**
 * The route face: classifies the source's files by content, queues each content for the drives of
 * its category that do not have it, and delivers queues to the drives that are here.
 */
export class Router {
  readonly online = new Map<string, DriveLocation>();
  private readonly locator: DriveLocator;
  private readonly keep: (rel: string) => boolean;
  private readonly refused = new Set<string>();
  /** The source tree, read only through its contract. */
  private readonly source: LocalTree;

  private constructor(
    readonly config: RouteConfig,
    readonly store: RouteStore,
    private readonly o: RouterOptions,
  ) {
    this.locator = new DriveLocator(config.drives, config.source);
    this.source = new LocalTree(config.source);
    const skip = routeFilter(config);
    this.keep = (rel) => skip(rel) === undefined;
  }

  static async open(config: RouteConfig, o: RouterOptions): Promise<Router> {
    const store = await openRouteStore(config.database, { readOnly: o.readOnly });
    try {
      if (!o.readOnly) {
        await store.bindSource(config.source);
        await store.syncDrives(config.drives.map((d) => ({ id: d.id, label: d.label, category: d.category })));
        await followRules(store, config, o.emit);
      }
    } catch (err) {
      await store.close();
      throw err;
    }
    return new Router(config, store, o);
  }

  close(): Promise<void> {
    return this.store.close();
  }

  /** Rejects SOURCE_UNAVAILABLE when the source is missing or not a directory. */
  async checkSource(): Promise<void> {
    const s = await this.source.stat('').catch(() => undefined);
    if (s?.kind !== 'dir') {
      throw new FerryError('SOURCE_UNAVAILABLE', `The source ${this.config.source} is missing or not a directory; nothing was changed.`, {
        hint: `Check \`source\` in ${this.config.file}.`,
      });
    }
  }

  /**
   * Classifies and hashes one file; undefined when it could not be read (reported) or changed while
   * read. A file of at most 1 MiB is read once, on the I/O threads, for both.
   */
  private async look(rel: string, size: bigint): Promise<RouteFile | undefined> {
    try {
      let hashed: { hash: string; size: number; mtimeNs: bigint } | undefined;
      let detection: Detection | undefined;
      if (size <= BigInt(WHOLE)) {
        const r = await this.source.readWhole(rel, WHOLE, 'blake3');
        if (r.kind === 'changed') return undefined; // changing now: the next event or scan sees it settled
        if (r.kind === 'read') {
          hashed = { hash: r.hash!, size: Number(r.entry.size), mtimeNs: r.entry.mtimeNs };
          detection = await detectBytes(r.data, rel);
        }
      }
      hashed ??= await hashEntry(this.source, rel, 'blake3', Number(size));
      if (!hashed) return undefined;
      detection ??= await detectIn(this.source, rel);
      const c = categorize(detection, rel, hashed.size, this.config.rules);
      this.o.emit({ type: 'route.classified', path: rel, size: hashed.size, mime: detection.mime, category: c.category, by: detection.by });
      return { path: rel, size: BigInt(hashed.size), mtimeNs: hashed.mtimeNs, hash: hashed.hash, mime: detection.mime, category: c.category };
    } catch (err) {
      this.o.emit({ type: 'route.error', path: rel, message: describeFileError(err) });
      return undefined;
    }
  }

  private async lookAll(items: Array<{ rel: string; size: bigint }>, lookedNs: bigint): Promise<RouteFile[]> {
    // Many at once: small files go to the I/O threads in batches, so what bounds them is round trips.
    const files = (await mapLimit(items, 16, (i) => this.look(i.rel, i.size))).filter((f): f is RouteFile => f !== undefined);
    await this.store.putFiles(files, lookedNs);
    return files;
  }

  /** A full walk of the source: new and changed files are classified, vanished ones forgotten, then the queue is refreshed. */
  async scan(): Promise<ScanSummary> {
    await this.checkSource();
    const known = await this.store.knownFiles();
    const started = BigInt(Date.now()) * 1_000_000n;
    const changed: Array<{ rel: string; size: bigint }> = [];
    const summary: ScanSummary = { files: 0, classified: 0, removed: 0, errors: 0, queued: 0 };
    // Classified in chunks while the walk goes on: memory stays bounded, and the work done is kept.
    const look = async (): Promise<void> => {
      summary.classified += (await this.lookAll(changed.splice(0), started)).length;
    };
    for await (const batch of this.source.list({ signal: this.o.signal })) {
      for (const e of batch.errors) {
        summary.errors++;
        this.o.emit({ type: 'scan.error', side: 'source', path: e.rel, message: e.message });
      }
      for (const e of batch.entries) {
        if (e.kind !== 'file' || !this.keep(e.rel)) continue;
        summary.files++;
        const k = known.get(e.rel);
        known.delete(e.rel); // what is left at the end was not seen
        if (!k || k.size !== e.size || k.mtimeNs !== e.mtimeNs) changed.push({ rel: e.rel, size: e.size });
      }
      if (changed.length >= CHUNK) await look();
    }
    // A walk that was stopped (Ctrl-C) has not seen the rest: forget nothing, queue nothing.
    if (this.o.signal.aborted) throw new FerryError('INTERRUPTED', 'Interrupted during the scan; the next run goes on from what it classified.');
    await look();
    // A walk that met errors may have missed files: forget nothing after one.
    if (summary.errors === 0) {
      const gone = [...known.keys()];
      summary.removed = await this.store.removeFiles(gone);
    }
    summary.queued = await this.queue(started);
    return summary;
  }

  /** The watcher's paths (absolute): files looked at again, new directories walked, vanished paths forgotten. */
  async consider(paths: string[]): Promise<number> {
    await this.checkSource();
    const items: Array<{ rel: string; size: bigint; mtimeNs: bigint }> = [];
    const gone: string[] = [];
    for (const p of paths) {
      const rel = posixRel(this.config.source, p);
      if (rel === '' || rel.startsWith('..')) continue;
      let s;
      try {
        s = await this.source.stat(rel);
      } catch (err) {
        this.o.emit({ type: 'route.error', path: rel, message: describeFileError(err) }); // unreadable is not gone
        continue;
      }
      if (!s) gone.push(rel);
      else if (s.kind === 'file' && this.keep(rel)) items.push({ rel, size: s.size, mtimeNs: s.mtimeNs });
      else if (s.kind === 'dir') {
        for await (const batch of this.source.list({ signal: this.o.signal, under: rel })) {
          for (const e of batch.entries) {
            if (e.kind === 'file' && this.keep(e.rel)) items.push({ rel: e.rel, size: e.size, mtimeNs: e.mtimeNs });
          }
        }
      }
    }
    if (gone.length > 0) await this.store.removeFiles(gone, { below: true });
    // One look per path (a new directory and the files in it both come as events), none for a file as it was.
    const unique = new Map(items.map((i) => [i.rel, i]));
    const fresh: typeof items = [];
    for (const i of unique.values()) {
      const known = await this.store.getFile(i.rel);
      if (!known || known.size !== i.size || known.mtimeNs !== i.mtimeNs) fresh.push(i);
    }
    const started = BigInt(Date.now()) * 1_000_000n;
    await this.lookAll(fresh, started);
    return this.queue(started);
  }

  /** Refreshes the queue; reports what was queued, and which files classified since `lookedNs` carry a content a drive has or awaits under another name. */
  private async queue(lookedNs: bigint): Promise<number> {
    const drives = new Map(this.config.drives.map((d) => [d.id, d]));
    const queued = await this.store.refreshQueue(BigInt(Date.now()) * 1_000_000n, (q) => {
      const d = drives.get(q.driveId);
      this.o.emit({ type: 'route.queued', path: q.path, drive: d?.label ?? q.driveId, category: d?.category ?? '', size: Number(q.size) });
    });
    for (const d of await this.store.duplicates(lookedNs)) {
      this.o.emit({ type: 'route.duplicate', path: d.path, drive: drives.get(d.driveId)?.label ?? d.driveId, sameAs: d.sameAs, queued: d.queued });
    }
    return queued;
  }

  /** Reads the mount table and finds the registered drives that are here; reports drives that came, went, or are refused. */
  async locate(): Promise<Map<string, DriveLocation>> {
    const { online, refused } = await this.locator.locate(readMountTable());
    const now = BigInt(Date.now()) * 1_000_000n;
    for (const [id, loc] of online) {
      if (!this.online.has(id) || this.online.get(id)!.root !== loc.root) this.o.emit({ type: 'drive.online', drive: loc.drive.label, location: loc.root });
      if (!this.o.readOnly) await this.store.driveSeen(id, loc.root, now);
    }
    for (const [id, loc] of this.online) {
      if (!online.has(id)) this.o.emit({ type: 'drive.offline', drive: loc.drive.label, reason: 'its marker is no longer mounted' });
    }
    this.online.clear();
    for (const [id, loc] of online) this.online.set(id, loc);
    const now_ = new Set<string>();
    for (const r of refused) {
      const key = `${r.drive.id}\0${r.location}\0${r.reason}`;
      now_.add(key);
      if (!this.refused.has(key)) this.o.emit({ type: 'drive.refused', drive: r.drive.label, location: r.location, reason: r.reason });
    }
    this.refused.clear();
    for (const k of now_) this.refused.add(k);
    return this.online;
  }

  /** Delivers the queues of the drives that are here (or of `only`); a drive's failure is reported and the others go on. */
  async deliver(only?: string[]): Promise<Map<string, DriveResult>> {
    await this.checkSource(); // an unmounted source share must not look like files that left it
    const results = new Map<string, DriveResult>();
    const pending = new Map((await this.store.stats()).map((s) => [s.id, s.pending]));
    for (const [id, loc] of this.online) {
      if (this.o.signal.aborted) break;
      if (only && !only.includes(id)) continue;
      if (!pending.get(id)) continue;
      let r: DriveResult;
      try {
        r = await deliverToDrive(this.store, loc, { source: this.config.source, bwlimit: this.config.bwlimit, emit: this.o.emit, signal: this.o.signal });
      } catch (err) {
        // One drive's trouble (refused, unwritable, a filesystem error) stops that drive, not the others.
        if (err instanceof FerryError ? err.code === 'CONFIG' || err.code === 'STORE_LOCKED' : errnoCode(err) === undefined) throw err;
        const stopped = err instanceof FerryError ? err.message : `${loc.drive.label}: ${describeFileError(err)}`;
        r = { delivered: 0, bytes: 0, present: 0, failed: 0, pendingLeft: pending.get(id) ?? 0, stopped, stoppedBy: 'error' };
      }
      results.set(loc.drive.label, r);
      this.o.emit({ type: 'drive.done', drive: loc.drive.label, delivered: r.delivered + r.present, bytes: r.bytes, failed: r.failed, pendingLeft: r.pendingLeft, stopped: r.stopped, stoppedBy: r.stoppedBy });
      if (r.stoppedBy === 'away') {
        this.online.delete(id);
        this.o.emit({ type: 'drive.offline', drive: loc.drive.label, reason: r.stopped ?? 'it went away' });
      }
    }
    return results;
  }
}
