import type { FileEntry } from '../../core/entry.js';
import type { Target, WriteHandle } from '../../core/target.js';
import type { Block, BufferPool, FileTask } from './block.js';
import type { BlockQueue } from './queue.js';

export interface WriterOptions {
  target: Target;
  pool: BufferPool;
  /** The largest mtime difference that still counts as "the time held" on this target. */
  timeToleranceNs: bigint;
  /** fdatasync after every block, so a rate limit is seen on the wire, not just in the page cache. */
  flushEachBlock: boolean;
  onBytes(task: FileTask, bytes: number): void;
  /** `durable` is false for whole-file writes: the target must `flushAll` before they are recorded. */
  onCommitted(task: FileTask, block: Block, entry: FileEntry, durable: boolean): void;
  onFailed(task: FileTask, error: unknown): void;
}

interface OpenFile {
  chain: Promise<WriteHandle | undefined>;
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
        this.open.set(id, { chain: this.writeWholeFile(block).then(() => undefined) });
        return;
      }
      file = { chain: this.start(block.file) };
      this.open.set(id, file);
    }
    const current = file;
    current.chain = current.chain.then(async (handle) => {
      try {
        if (!handle) return undefined;
        if (block.abandon) {
          await handle.abort();
          return undefined;
        }
        await handle.write(block.data, block.offset);
        this.o.onBytes(block.file, block.data.length);
        if (this.o.flushEachBlock && !block.isLastBlock) await handle.flush();
        if (block.isLastBlock) {
          const entry = await this.commit(handle, block);
          this.o.onCommitted(block.file, block, entry, true);
        }
        return handle;
      } catch (err) {
        block.file.cancelled = true;
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
      let entry = await this.o.target.writeWhole!(task.destinationRel, block.data, times);
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

  private async start(task: FileTask): Promise<WriteHandle | undefined> {
    try {
      return await this.o.target.openWrite(task.destinationRel);
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
