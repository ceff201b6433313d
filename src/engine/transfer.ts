import { describeFileError, errnoCode, FerryError } from '../core/errors.js';
import type { Emit, FileOutcome } from '../core/events.js';
import type { Backlog, BacklogItem, SyncedRow } from '../core/backlog.js';
import type { Target } from '../core/target.js';
import type { Tree } from '../core/tree.js';
import type { Algorithm } from '../core/hash.js';
import { nanosecondTimes } from '../io/native.js';
import { BufferPool, type Block, type FileTask } from './pipeline/block.js';
import { TokenBucket } from './pipeline/limiter.js';
import { BlockQueue } from './pipeline/queue.js';
import { readIntoQueue } from './pipeline/reader.js';
import { Writer } from './pipeline/writer.js';
import type { StatsTracker } from './stats.js';

export interface TransferOptions {
  blockSize: number;
  queueCapacity: number;
  transfers: number;
  algorithm: Algorithm | null;
  bwlimit?: number;
  /** The largest mtime difference that still counts as equal on the destination. */
  timeToleranceNs: bigint;
  /** --partial: keep a stopped file's temp file, and go on from one a stopped run kept. */
  partial?: boolean;
  /**
   * A file whose place on the destination holds a directory that is not empty stays pending
   * (counted in `blocked`) instead of failing: the mirror that runs next may remove that directory.
   */
  deferBlocked?: boolean;
  /** The bucket `bwlimit` is taken from when it is shared beyond this transfer (a job's workers); else its own. */
  limiter?: TokenBucket;
}

export interface TransferContext {
  /** What to copy, and where each row's outcome goes (core/backlog.ts). */
  backlog: Backlog;
  /** The tree every row is read from, without leaving it. */
  source: Tree;
  target: Target;
  options: TransferOptions;
  emit: Emit;
  stats: StatsTracker;
  signal: AbortSignal;
}

export interface TransferResult {
  copied: number;
  bytes: number;
  failed: number;
  changed: number;
  /** Set when the destination filled up: the run stopped taking new files. */
  destinationFull: boolean;
  /** Files left pending because a directory that is not empty stands where they go (see deferBlocked). */
  blocked: number;
}

const PAGE = 512;

/** Under a limit: the bytes read at a time, and the bucket's burst (1/20 s of the rate, 64 KiB to one block). */
export function limitedChunk(bwlimit: number, blockSize: number): number {
  return Math.max(64 * 1024, Math.min(blockSize, Math.floor(bwlimit / 20)));
}
const FULL = new Set(['ENOSPC', 'EDQUOT']);

/** The destination root is no longer the directory the run began with (unmounted, pulled out, replaced). */
const GONE = 'ENXIO';
/**
 * A network share that stopped answering (sshfs or a FUSE server killed, an NFS handle gone stale):
 * every file after this one would fail the same way, so the run stops, the rest stays pending.
 */
const LOST = new Set(['ENOTCONN', 'ESTALE', 'ECONNABORTED', 'ESHUTDOWN']);

/**
 * Collects synced rows and writes them to the Store in one transaction per batch (§3.3). Before a
 * batch is recorded, one `flushAll` of the target (where it has one) makes it safe: the data of
 * small files written without their own flush (`durable: false`), and the renames of every file
 * and symlink in it. A target without `flushAll` only ever writes `durable` files.
 */
class SyncedBatch {
  private rows: SyncedRow[] = [];
  private undurable = false;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** The first failure to flush the target or write the Store; the run stops on it. */
  failure: FerryError | undefined;

  constructor(
    private readonly store: Backlog,
    private readonly target: Target,
    private readonly onFailure: () => void,
  ) {}

  add(row: SyncedRow, durable: boolean): void {
    this.rows.push(row);
    this.undurable ||= !durable;
    if (this.rows.length >= 1024) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), 500);
  }

  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.rows.splice(0);
    const needsFlush = this.undurable;
    this.undurable = false;
    if (rows.length > 0) {
      this.writing = this.writing.then(async () => {
        if (this.failure) return; // after a failure nothing more is recorded: those rows stay pending
        try {
          if (this.target.flushAll) await this.target.flushAll();
          else if (needsFlush) throw new Error('the target wrote files it cannot flush');
        } catch (err) {
          this.fail(new FerryError('DEST_UNAVAILABLE', `Could not flush ${this.target.root} to stable storage (${describeFileError(err)}); the last ${rows.length} file(s) copied stay pending.`, { cause: err }));
          return;
        }
        try {
          await this.store.markSynced(rows);
        } catch (err) {
          this.fail(err instanceof FerryError ? err : new FerryError('CONFIG', `Could not write the database: ${(err as Error).message}; the last ${rows.length} file(s) copied stay pending.`, { cause: err }));
        }
      });
    }
    return this.writing;
  }

  private fail(err: FerryError): void {
    this.failure = err;
    this.onFailure();
  }
}

/** A counting semaphore: at most `n` tasks run at once. */
class Slots {
  private free: number;
  private readonly waiters: Array<() => void> = [];

  constructor(n: number) {
    this.free = n;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiters.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiters.shift();
      if (next) next();
      else this.free++;
    }
  }
}

const NO_NATIVE = "ferry's native helper is not built (`npm rebuild` in ferry's directory builds it): times are kept to the microsecond, not the nanosecond; each directory is checked by path just before it is used instead of being held open (a narrower guard against a tree changed meanwhile); the database lock is a pid file; scans are slower.";
/** Said once per process, by the first transfer that writes without the native helper. */
let saidNoNative = false;

/** Files up to this size go through the pipeline as one block read and written by the I/O pool. */
const WHOLE_FILE_MAX = 1024 * 1024;

/**
 * The transfer phase: takes pending rows from the backlog (never a new scan), streams regular files
 * through reader → bounded queue → writer with `transfers` files in flight, recreates symlinks and
 * directories, and marks each row synced only after its bytes and times are in place.
 */
export async function transferBacklog(ctx: TransferContext): Promise<TransferResult> {
  const { backlog: store, source, target, options, stats } = ctx;
  // Every file.start gets its closing event: one still open when the transfer ends stays pending.
  const open = new Map<string, FileOutcome>();
  const emit: Emit = (e) => {
    if (e.type === 'file.start') open.set(e.path, e);
    else if (e.type === 'file.done' || e.type === 'file.error' || e.type === 'file.skip') open.delete(e.path);
    ctx.emit(e);
  };
  const result: TransferResult = { copied: 0, bytes: 0, failed: 0, changed: 0, destinationFull: false, blocked: 0 };
  let gone: unknown;
  let lost: { side: 'source' | 'destination'; err: unknown } | undefined;
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  // A stop that came before this phase began fires no event: take it now, or the whole backlog runs.
  if (ctx.signal.aborted) onAbort();
  const signal = stop.signal;
  if (!nanosecondTimes && !saidNoNative) {
    saidNoNative = true;
    emit({ type: 'notice', message: NO_NATIVE });
  }

  const pool = new BufferPool(options.queueCapacity + options.transfers + 1, options.blockSize);
  const queue = new BlockQueue<Block>(options.queueCapacity);
  stats.queueCapacity = options.queueCapacity;
  stats.queueUsed = () => queue.length;
  // Under a limit, blocks are read in chunks of at most 1/20 s of the rate (and the bucket's burst is
  // one chunk), so no one-second window sees much more than the limit: a 5 MiB block at 20 MiB/s
  // would land a quarter of a second's budget at once.
  const readSize = options.bwlimit ? limitedChunk(options.bwlimit, options.blockSize) : options.blockSize;
  const limiter = options.bwlimit ? (options.limiter ?? new TokenBucket(options.bwlimit, readSize)) : undefined;
  // A batch that cannot be made safe stops the run: copying on would only add unrecorded files.
  const batch = new SyncedBatch(store, target, () => stop.abort(batch.failure));
  const wholeMax = limiter ? -1 : Math.min(options.blockSize, WHOLE_FILE_MAX);
  // At most `transfers` files stream block by block at once, however many small ones are in flight.
  const streaming = new Slots(options.transfers);
  // Roots joined with a relative path by concatenation: path.join normalises, and costs per file.
  const sourceBase = source.root.endsWith('/') ? source.root : `${source.root}/`;
  const destBase = target.root.endsWith('/') ? target.root : `${target.root}/`;
  const sourcePath = (r: BacklogItem): string => sourceBase + r.sourceRel;
  const destPath = (r: BacklogItem): string => destBase + r.destRel;
  const outcome = (r: BacklogItem): FileOutcome => ({
    path: r.destRel,
    source: sourcePath(r),
    destination: destPath(r),
    size: Number(r.size),
  });

  const records = new Map<number, BacklogItem>();
  const failures: Array<Promise<void>> = [];
  let storeFailure: unknown;
  const fail = async (r: BacklogItem, id: number, err: unknown, side: 'source' | 'destination'): Promise<void> => {
    if (LOST.has(errnoCode(err) ?? '')) {
      lost ??= { side, err };
      stop.abort(err);
      stats.fileFinished(id, 'skipped', Number(r.size));
      return;
    }
    if (errnoCode(err) === GONE) {
      // Not this file's failure: nothing more can land there. Everything not copied stays pending.
      gone ??= err;
      stop.abort(err);
      stats.fileFinished(id, 'skipped', Number(r.size));
      return;
    }
    if (options.deferBlocked && errnoCode(err) === 'EISDIR' && (err as { notEmpty?: boolean }).notEmpty) {
      result.blocked++;
      stats.fileFinished(id, 'skipped', Number(r.size));
      return;
    }
    if (FULL.has(errnoCode(err) ?? '')) {
      // Out of space: the file stays pending for the next run, and no new file is started.
      result.destinationFull = true;
      stop.abort(err);
      stats.fileFinished(id, 'skipped', Number(r.size));
      return;
    }
    const message = describeFileError(err);
    result.failed++;
    stats.fileFinished(id, 'failed', Number(r.size));
    await store.markFailed(r.id, message);
    emit({ type: 'file.error', ...outcome(r), message, errno: errnoCode(err) });
  };

  const writer = new Writer({
    target,
    pool,
    timeToleranceNs: options.timeToleranceNs,
    flushEachBlock: limiter !== undefined,
    partial: options.partial === true,
    limiter,
    signal,
    onBytes: (task, n) => stats.bytesWritten(task.id, n),
    onCommitted: (task, block, entry, durable) => {
      const r = records.get(task.id)!;
      records.delete(task.id);
      result.copied++;
      result.bytes += Number(entry.size);
      stats.fileFinished(task.id, 'done', task.size);
      batch.add({
        id: r.id,
        hash: block.fileHash,
        algorithm: block.fileHash ? options.algorithm : null,
        size: entry.size,
        modifiedNs: block.timestamps.mtimeNs,
      }, durable);
      emit({ type: 'file.done', ...outcome(r), size: task.size, hash: block.fileHash, algorithm: block.fileHash ? options.algorithm : null });
    },
    onFailed: (task, err) => {
      const r = records.get(task.id);
      if (!r) return; // the reader already settled this file (changed or vanished while read)
      records.delete(task.id);
      // Handled now, not when the lanes end: a Store that cannot record the failure stops the run.
      failures.push(
        fail(r, task.id, err, 'destination').catch((e: unknown) => {
          storeFailure ??= e;
          stop.abort(e);
        }),
      );
    },
  });
  const writing = writer.run(queue);

  let cursor = 0;
  let page: BacklogItem[] = [];
  let exhausted = false;
  let fetching: Promise<void> | undefined;
  const next = async (): Promise<BacklogItem | undefined> => {
    while (page.length === 0 && !exhausted) {
      fetching ??= store.pendingAfter(cursor, PAGE, 'entries').then((rows) => {
        page = rows;
        if (rows.length === 0) exhausted = true;
        else cursor = rows[rows.length - 1]!.id;
        fetching = undefined;
      });
      await fetching;
    }
    return page.shift();
  };

  const copyOne = async (r: BacklogItem): Promise<void> => {
    const task: FileTask = {
      id: r.id,
      rel: r.destRel,
      sourcePath: sourcePath(r),
      sourceRel: r.sourceRel,
      destinationPath: destPath(r),
      destinationRel: r.destRel,
      size: Number(r.size),
      kept: 0,
      cancelled: false,
    };
    if (options.partial && task.size > wholeMax && target.partialSize) task.kept = await target.partialSize(r.destRel).catch(() => 0);
    records.set(task.id, r);
    emit({ type: 'file.start', ...outcome(r) });
    const read = await readIntoQueue(task, {
      source,
      pool,
      queue,
      blockSize: readSize,
      algorithm: options.algorithm,
      limiter,
      signal,
      wholeFileMax: wholeMax,
      limitStreaming: (read) => streaming.run(read),
      onOpen: (t) => stats.fileOpened(t.id, t.rel, t.size),
    });
    if (read.kind === 'queued' || read.kind === 'stopped') return;
    records.delete(task.id);
    if (read.kind === 'failed') {
      await fail(r, task.id, read.error, 'source');
      return;
    }
    stats.fileFinished(task.id, 'skipped', Number(r.size));
    if (read.kind === 'changed') {
      result.changed++;
      await store.requeue(r.id, read.entry);
      emit({ type: 'file.skip', ...outcome(r), reason: 'changed' });
    } else {
      await store.forget(r.id);
      emit({ type: 'file.skip', ...outcome(r), reason: 'vanished' });
    }
  };

  const makeOther = async (r: BacklogItem): Promise<void> => {
    const attrs = { mode: r.permissions, uid: r.uid, gid: r.gid };
    let side: 'source' | 'destination' = 'source';
    try {
      if (r.kind === 'dir') {
        side = 'destination';
        await target.mkdir(r.destRel, attrs);
      } else {
        const link = await source.readlink(r.sourceRel);
        side = 'destination';
        await target.symlink(r.destRel, link, { atimeNs: r.accessedNs, mtimeNs: r.modifiedNs }, attrs);
        stats.fileFinished(r.id, 'done', 0);
        result.copied++;
      }
      batch.add({ id: r.id, hash: null, algorithm: null, size: r.size, modifiedNs: r.modifiedNs }, true);
    } catch (err) {
      if ((errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') && r.kind === 'symlink') {
        await store.forget(r.id);
        return;
      }
      await fail(r, r.id, err, side);
    }
  };

  const lane = async (): Promise<void> => {
    for (;;) {
      if (signal.aborted) return;
      const r = await next();
      if (!r) return;
      if (r.kind !== 'file') await makeOther(r);
      else if (Number(r.size) <= wholeMax) await copyOne(r);
      else await streaming.run(() => copyOne(r));
    }
  };

  // Small files hold no pool buffer (each is one block of its own bytes, at most WHOLE_FILE_MAX), so
  // more of them can be in flight: what bounds small-file copies is the round trips, not memory.
  const lanes = limiter ? options.transfers : options.transfers * 8;
  try {
    // Directories first, one at a time in scan order (a parent before its children): each is made
    // with its own permission bits before any file goes into it.
    for (let after = 0; !signal.aborted; ) {
      const dirs = await store.pendingAfter(after, PAGE, 'dirs');
      if (dirs.length === 0) break;
      after = dirs[dirs.length - 1]!.id;
      for (const d of dirs) {
        if (signal.aborted) break;
        await makeOther(d);
      }
    }
    await Promise.all(Array.from({ length: lanes }, lane));
  } finally {
    queue.close();
    await writing;
    await Promise.all(failures);
    await batch.flush();
    ctx.signal.removeEventListener('abort', onAbort);
    for (const o of open.values()) ctx.emit({ type: 'file.skip', path: o.path, source: o.source, destination: o.destination, size: o.size, reason: 'pending' });
  }
  if (batch.failure) throw batch.failure;
  if (storeFailure) throw storeFailure;
  if (lost) {
    const root = lost.side === 'source' ? source.root : target.root;
    throw new FerryError(lost.side === 'source' ? 'SOURCE_UNAVAILABLE' : 'DEST_UNAVAILABLE',
      `The ${lost.side} ${root} stopped answering (${describeFileError(lost.err)}); the files not copied stay pending.`, {
        hint: 'Mount it again, then run the same command: ferry resumes where it left off.',
        cause: lost.err,
      });
  }
  if (gone) {
    throw new FerryError('DEST_UNAVAILABLE', `The destination ${target.root} is no longer the directory this run began with (unmounted, pulled out, or replaced); the files not copied stay pending.`, { cause: gone });
  }
  return result;
}
