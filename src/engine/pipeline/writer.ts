import type { FileEntry } from '../../core/entry.js';
import type { EntryAttrs, Target, WriteHandle } from '../../core/target.js';
import type { Block, BufferPool, FileTask } from './block.js';
import type { TokenBucket } from './limiter.js';
import type { BlockQueue } from './queue.js';

export interface WriterOptions {
  target: Target;
  pool: BufferPool;
  /** The largest mtime difference that still counts as "the time held" on this target. */
  timeToleranceNs: bigint;
  /** fdatasync after every block, so a rate limit is seen on the wire, not just in the page cache. */
  flushEachBlock: boolean;
  /**
   * --partial: a file stopped mid-way keeps its temp file, and a file whose temp file a stopped run
   * kept goes on from it: each block below the kept size is compared with the bytes there and only
   * written from the first that differs.
   */
  partial: boolean;
  /** The run's --bwlimit: the writer takes its share for kept blocks it must write after all (the reader did not). */
  limiter?: TokenBucket;
  signal?: AbortSignal;
  onBytes(task: FileTask, bytes: number): void;
  /** `durable` is false for whole-file writes: the target must `flushAll` before they are recorded. */
  onCommitted(task: FileTask, block: Block, entry: FileEntry, durable: boolean): void;
  onFailed(task: FileTask, error: unknown): void;
}

interface OpenFile {
  chain: Promise<WriteHandle | undefined>;
  /** --partial: a block differed from the kept temp file; everything from there on is written. */
  diverged: boolean;
}

const attrsOf = (b: Block): EntryAttrs => ({ mode: b.permissions.mode, uid: b.permissions.uid, gid: b.permissions.gid });

/** Whether the kept temp file holds exactly this block's bytes at its offset. */
async function sameAsKept(handle: WriteHandle, block: Block): Promise<boolean> {
  const there = Buffer.allocUnsafe(block.data.length);
  let n = 0;
  while (n < there.length) {
    const got = await handle.readKept(there.subarray(n), block.offset + n);
    if (got === 0) return false;
    n += got;
  }
  return there.equals(block.data);
}

/** Thrown when the destination does not keep the modification time ferry set. */
export class MtimeNotKeptError extends Error {
  readonly code = 'EMTIME';
}

/**
 * The consumer (§2.5). Blocks of one file are applied in order on that file's own promise chain,
 * so several files are written at once while each file's blocks stay ordered. A file is committed
 * (flush, rename, times, re-stat) on its last block; any error aborts it and removes the temp file.
 */
export class Writer {
  private readonly open = new Map<number, OpenFile>();

  constructor(private readonly o: WriterOptions) {}

  /** Consumes the queue until it is closed and drained, then waits for every file to settle. */
  async run(queue: BlockQueue<Block>): Promise<void> {
    for (;;) {
      const block = await queue.pop();
      if (!block) break;
      this.accept(block);
    }
    await Promise.all([...this.open.values()].map((f) => f.chain));
  }

  private accept(block: Block): void {
    const id = block.file.id;
    let file = this.open.get(id);
    if (!file) {
      if (block.abandon) {
        this.release(block);
        return;
      }
      // Only the reader's whole small files (their own bytes, not a pooled block): a single-block
      // file from the streaming reader keeps its own fdatasync, and its 5 MiB buffer is not cloned.
      const { writeWhole, flushAll } = this.o.target;
      if (block.offset === 0 && block.isLastBlock && !block.buffer && writeWhole && flushAll && !this.o.flushEachBlock) {
        this.open.set(id, { chain: this.writeWholeFile(block).then(() => undefined), diverged: false });
        return;
      }
      file = { chain: this.start(block), diverged: false };
      this.open.set(id, file);
    }
    const current = file;
    current.chain = current.chain.then(async (handle) => {
      try {
        if (!handle) return undefined;
        if (block.abandon) {
          // A stop keeps the bytes written so far for a later run (--partial); a changed file does not.
          await handle.abort({ keep: this.o.partial && block.abandon === 'interrupted' });
          return undefined;
        }
        if (!current.diverged && block.offset + block.data.length <= handle.kept && (await sameAsKept(handle, block))) {
          handle.extend(block.offset + block.data.length);
        } else {
          if (block.offset < handle.kept) current.diverged = true;
          // The reader lets kept blocks through unlimited: one that differs is sent now, within the limit.
          if (block.offset + block.data.length <= block.file.kept) await this.o.limiter?.take(block.data.length, this.o.signal);
          await handle.write(block.data, block.offset);
        }
        this.o.onBytes(block.file, block.data.length);
        if (this.o.flushEachBlock && !block.isLastBlock) await handle.flush();
        if (block.isLastBlock) {
          const entry = await this.commit(handle, block);
          this.o.onCommitted(block.file, block, entry, true);
        }
        return handle;
      } catch (err) {
        block.file.cancelled = true;
        if (this.o.signal?.aborted) {
          // Stopped while waiting its turn under the limit: not this file's failure (it stays pending).
          await handle?.abort({ keep: this.o.partial });
          return undefined;
        }
        await handle?.abort();
        this.o.onFailed(block.file, err);
        return undefined;
      } finally {
        this.release(block);
        if (block.isLastBlock || block.abandon) this.open.delete(id);
      }
    });
  }

  /** A file that is one block: one call writes, renames, sets times and re-stats it. */
  private async writeWholeFile(block: Block): Promise<void> {
    const task = block.file;
    const times = { atimeNs: block.timestamps.atimeNs, mtimeNs: block.timestamps.mtimeNs };
    try {
      let entry = await this.o.target.writeWhole!(task.destinationRel, block.data, times, attrsOf(block));
      this.o.onBytes(task, block.data.length);
      if (!this.held(entry.mtimeNs, times.mtimeNs)) entry = await this.retryTimes(task, times, entry);
      this.o.onCommitted(task, block, entry, false);
    } catch (err) {
      task.cancelled = true;
      this.o.onFailed(task, err);
    } finally {
      this.release(block);
      this.open.delete(task.id);
    }
  }

  private async start(block: Block): Promise<WriteHandle | undefined> {
    const task = block.file;
    try {
      return await this.o.target.openWrite(task.destinationRel, attrsOf(block), { keepPartial: this.o.partial && task.kept > 0 });
    } catch (err) {
      task.cancelled = true;
      this.o.onFailed(task, err);
      return undefined;
    }
  }

  private async commit(handle: WriteHandle, block: Block): Promise<FileEntry> {
    const times = { atimeNs: block.timestamps.atimeNs, mtimeNs: block.timestamps.mtimeNs };
    const entry = await handle.commit(times);
    if (this.held(entry.mtimeNs, times.mtimeNs)) return entry;
    return this.retryTimes(block.file, times, entry);
  }

  /** Some servers apply a late flush's mtime after ours: set it once more, then check again. */
  private async retryTimes(task: FileTask, times: { atimeNs: bigint; mtimeNs: bigint }, first: FileEntry): Promise<FileEntry> {
    await this.o.target.setTimes(task.destinationRel, times);
    const entry = (await this.o.target.stat(task.destinationRel)) ?? first;
    if (this.held(entry.mtimeNs, times.mtimeNs)) return entry;
    throw new MtimeNotKeptError(
      `the destination did not keep the modification time (set ${times.mtimeNs} ns, read back ${entry.mtimeNs} ns)`,
    );
  }

  private held(got: bigint, wanted: bigint): boolean {
    const diff = got > wanted ? got - wanted : wanted - got;
    return diff < this.o.timeToleranceNs;
  }

  private release(block: Block): void {
    if (block.buffer) this.o.pool.release(block.buffer);
  }
}
