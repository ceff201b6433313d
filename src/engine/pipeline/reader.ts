import type { FileEntry } from '../../core/entry.js';
import { errnoCode } from '../../core/errors.js';
import { createHasher, type Algorithm } from '../../core/hash.js';
import type { ReadHandle, Tree } from '../../core/tree.js';
import type { Block, BufferPool, FileTask } from './block.js';
import type { TokenBucket } from './limiter.js';
import type { BlockQueue } from './queue.js';

export interface ReaderContext {
  /** The tree the files are read from (never by a path of its own). */
  source: Tree;
  pool: BufferPool;
  queue: BlockQueue<Block>;
  blockSize: number;
  algorithm: Algorithm | null;
  limiter?: TokenBucket;
  signal: AbortSignal;
  /** Called once the file is open, with its size at that moment. */
  onOpen(task: FileTask): void;
  /**
   * Files up to this size are read whole (and hashed) by the I/O pool in one call, as one block;
   * 0 turns that off (a rate limit needs the streaming path, block by block).
   */
  wholeFileMax: number;
  /** Runs a streaming read within the limit on files streamed at once (--transfers). */
  limitStreaming<T>(read: () => Promise<T>): Promise<T>;
}

export type ReadOutcome =
  | { kind: 'queued' }
  /** `entry` is the fresh stat, or undefined when the path is no longer a file ferry can open. */
  | { kind: 'changed'; entry: FileEntry | undefined }
  | { kind: 'vanished' }
  | { kind: 'failed'; error: unknown }
  | { kind: 'stopped' };

const EMPTY = Buffer.alloc(0);

/**
 * A block is read (and written) in syscalls of at most this size: copying through user space costs
 * this VM about twice the kernel time at 5 MiB a call as at 256 KiB (docs/benchmarks.md).
 */
export const SYSCALL_MAX = 256 * 1024;


/** Not a file of the source any more: gone, or a directory on its way is no longer one. */
const vanished = (code: string | undefined): boolean => code === 'ENOENT' || code === 'ENOTDIR';

/**
 * Reads one source file into the queue as blocks (§2.4), hashing as it goes. The file's stream of
 * blocks always ends with either `isLastBlock` or an `abandon` block, so the writer never keeps a
 * half-written file. A file whose size or mtime changed while it was read is abandoned and
 * reported `changed` (the caller requeues it); it is never committed with a stale hash.
 */
export async function readIntoQueue(task: FileTask, ctx: ReaderContext): Promise<ReadOutcome> {
  if (task.size <= ctx.wholeFileMax) {
    const whole = await readWhole(task, ctx);
    if (whole) return whole;
    // It grew past the limit since the scan: stream it, within the limit on streaming files.
    return ctx.limitStreaming(() => streamIntoQueue(task, ctx));
  }
  return streamIntoQueue(task, ctx);
}

async function streamIntoQueue(task: FileTask, ctx: ReaderContext): Promise<ReadOutcome> {
  let fh: ReadHandle;
  try {
    fh = await ctx.source.openRead(task.sourceRel);
  } catch (err) {
    if (vanished(errnoCode(err))) return { kind: 'vanished' };
    if (errnoCode(err) === 'ELOOP') return { kind: 'changed', entry: undefined }; // now a symlink
    return { kind: 'failed', error: err };
  }
  let pushed = false;
  const abandon = async (reason: NonNullable<Block['abandon']>, template?: Block): Promise<void> => {
    if (!pushed || !template) return;
    await ctx.queue.push({ ...template, data: EMPTY, buffer: undefined, isLastBlock: false, fileHash: null, abandon: reason });
  };
  let template: Block | undefined;
  try {
    const before = await fh.stat();
    if (before.kind !== 'file') return { kind: 'changed', entry: { ...before, rel: task.sourceRel } };
    const size = Number(before.size);
    task.size = size;
    ctx.onOpen(task);
    const hasher = ctx.algorithm ? createHasher(ctx.algorithm) : undefined;
    const base: Block = {
      file: task,
      data: EMPTY,
      buffer: undefined,
      offset: 0,
      destinationPath: task.destinationPath,
      timestamps: { atimeNs: before.atimeNs, mtimeNs: before.mtimeNs, ctimeNs: before.ctimeNs },
      permissions: { mode: before.mode, uid: before.uid, gid: before.gid },
      isLastBlock: false,
      fileHash: null,
    };
    template = base;
    let offset = 0;
    do {
      if (ctx.signal.aborted || task.cancelled) {
        await abandon('interrupted', base);
        return { kind: 'stopped' };
      }
      const buffer = await ctx.pool.acquire();
      let n = 0;
      try {
        const want = Math.min(ctx.blockSize, size - offset);
        while (n < want) {
          const bytesRead = await fh.read(buffer, n, Math.min(SYSCALL_MAX, want - n), offset + n);
          if (bytesRead === 0) break;
          n += bytesRead;
        }
        const after = n < want || offset + n >= size ? await fh.stat() : undefined;
        if (after && (n < want || after.size !== before.size || after.mtimeNs !== before.mtimeNs)) {
          ctx.pool.release(buffer);
          await abandon('changed', base);
          return { kind: 'changed', entry: { ...after, rel: task.sourceRel } };
        }
        const data = buffer.subarray(0, n);
        hasher?.update(data);
        // Blocks a kept temp file already holds (--partial) are compared there, not sent: no limit.
        if (offset + n > task.kept) await ctx.limiter?.take(n, ctx.signal);
      } catch (err) {
        ctx.pool.release(buffer);
        if (ctx.signal.aborted) {
          await abandon('interrupted', base);
          return { kind: 'stopped' };
        }
        throw err;
      }
      const isLastBlock = offset + n >= size;
      await ctx.queue.push({
        ...base,
        data: buffer.subarray(0, n),
        buffer,
        offset,
        isLastBlock,
        fileHash: isLastBlock && hasher ? hasher.digest() : null,
      });
      pushed = true;
      offset += n;
    } while (offset < size);
    return { kind: 'queued' };
  } catch (err) {
    await abandon('interrupted', template);
    return vanished(errnoCode(err)) ? { kind: 'vanished' } : { kind: 'failed', error: err };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * The small-file path: one pool call opens, reads, re-checks and hashes the file; it becomes one
 * block. Resolves undefined when the file has grown past the limit (the caller streams it instead).
 */
async function readWhole(task: FileTask, ctx: ReaderContext): Promise<ReadOutcome | undefined> {
  let r;
  try {
    r = await ctx.source.readWhole(task.sourceRel, ctx.wholeFileMax, ctx.algorithm);
  } catch (err) {
    if (vanished(errnoCode(err))) return { kind: 'vanished' };
    if (errnoCode(err) === 'ELOOP') return { kind: 'changed', entry: undefined };
    return { kind: 'failed', error: err };
  }
  if (r.kind === 'large') return undefined;
  if (r.kind === 'changed') return { kind: 'changed', entry: r.entry };
  task.size = r.data.length;
  ctx.onOpen(task);
  if (ctx.signal.aborted || task.cancelled) return { kind: 'stopped' };
  const e = r.entry;
  await ctx.queue.push({
    file: task,
    data: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.length),
    buffer: undefined,
    offset: 0,
    destinationPath: task.destinationPath,
    timestamps: { atimeNs: e.atimeNs, mtimeNs: e.mtimeNs, ctimeNs: e.ctimeNs },
    permissions: { mode: e.mode, uid: e.uid, gid: e.gid },
    isLastBlock: true,
    fileHash: r.hash,
  });
  return { kind: 'queued' };
}
