import type { FileEntry } from '../core/entry.js';
import type { FileTimes, WriteHandle } from '../core/target.js';
import type { Place } from '../io/beneath.js';
import type { Attrs, Effects, WritePolicy } from '../io/beneath-ops.js';
import { datasyncFd, readAt, writeAt } from '../io/fd.js';
import { fsPool } from '../io/fs-pool.js';

/** Writes go out in syscalls of at most this size (see SYSCALL_MAX in the reader). */
const WRITE_MAX = 256 * 1024;

export interface HandleState {
  place: Place;
  rel: string;
  temp: string;
  fd: number;
  kept: number;
  attrs: Attrs;
  policy: WritePolicy;
  report: (e: Effects) => void;
  done: () => void;
}

/** A streamed file: writes from the main thread on its descriptor, the commit and abort on the I/O threads. */
export class LocalWriteHandle implements WriteHandle {
  private closed = false;
  private end = 0;

  constructor(private readonly s: HandleState) {}

  get kept(): number {
    return this.s.kept;
  }

  async readKept(into: Uint8Array, offset: number): Promise<number> {
    return readAt(this.s.fd, into, 0, into.length, offset);
  }

  async write(data: Uint8Array, offset: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      done += await writeAt(this.s.fd, data, done, Math.min(WRITE_MAX, data.length - done), offset + done);
    }
    this.end = Math.max(this.end, offset + data.length);
  }

  async flush(): Promise<void> {
    await datasyncFd(this.s.fd);
  }

  /** Marks bytes up to `end` as the file's, without writing them (they were found kept and equal). */
  extend(end: number): void {
    this.end = Math.max(this.end, end);
  }

  async commit(times: FileTimes): Promise<FileEntry> {
    return this.commitAs(this.s.rel, times);
  }

  /**
   * Commits under another name in the same directory (a server keeps an upload that lost a
   * conflict beside the name it was sent for). Rejects EINVAL for a name elsewhere.
   */
  async commitAs(rel: string, times: FileTimes): Promise<FileEntry> {
    const { place, temp, fd, attrs, policy } = this.s;
    const parent = (r: string): string => (r.includes('/') ? r.slice(0, r.lastIndexOf('/')) : '');
    if (parent(rel) !== parent(this.s.rel)) throw Object.assign(new Error(`${rel} is not beside ${this.s.rel}`), { code: 'EINVAL' });
    this.closed = true;
    try {
      const r = await fsPool().call('commit', { place, rel, temp, fd, end: this.end, times, attrs, resumed: this.s.kept > 0, policy });
      this.s.report(r.effects);
      return r.entry;
    } finally {
      this.s.done();
    }
  }

  async abort(options: { keep?: boolean } = {}): Promise<void> {
    const { place, rel, temp } = this.s;
    const fd = this.closed ? undefined : this.s.fd;
    this.closed = true;
    await fsPool().call('abort', { place, rel, temp, fd, keep: options.keep === true }).catch(() => undefined);
    this.s.done();
  }
}
