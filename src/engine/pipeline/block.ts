/** The source file a block belongs to, shared by the reader and the writer. */
export interface FileTask {
  id: number;
  rel: string;
  sourcePath: string;
  /** The file's path in the source tree (reads never leave it). */
  sourceRel: string;
  destinationPath: string;
  /** The destination path relative to the target's root. */
  destinationRel: string;
  size: number;
  /** --partial: bytes of a kept temp file; the blocks below are compared with it, not written (nor rate-limited). */
  kept: number;
  /** Set by the writer when it gave up on this file, so the reader stops reading it. */
  cancelled: boolean;
}

/**
 * One slot of the FIFO, with the seed's fields (§2.3). `data` is a view of a pooled buffer,
 * returned to the pool once written. `abandon` tells the writer to drop the file (it changed
 * while read, or the run was interrupted) instead of committing it.
 */
export interface Block {
  file: FileTask;
  data: Buffer;
  /** The pooled buffer `data` views; the writer releases it. Undefined for empty blocks. */
  buffer: Buffer | undefined;
  offset: number;
  destinationPath: string;
  timestamps: { atimeNs: bigint; mtimeNs: bigint; ctimeNs: bigint };
  permissions: { mode: number; uid: number; gid: number };
  isLastBlock: boolean;
  fileHash: string | null;
  abandon?: 'changed' | 'interrupted' | 'vanished';
}

/**
 * A fixed set of equal buffers. `acquire` waits while all are in use, which is what bounds the
 * memory of the pipeline: count × size bytes, allocated once.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly waiters: Array<(b: Buffer) => void> = [];

  constructor(
    readonly count: number,
    readonly size: number,
  ) {
    for (let i = 0; i < count; i++) this.free.push(Buffer.allocUnsafeSlow(size));
  }

  get inUse(): number {
    return this.count - this.free.length;
  }

  acquire(): Promise<Buffer> {
    const b = this.free.pop();
    if (b) return Promise.resolve(b);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(b: Buffer): void {
    const w = this.waiters.shift();
    if (w) w(b);
    else this.free.push(b);
  }
}
