import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Algorithm } from '../core/hash.js';
import type { FsReply, FsRequest } from './fs-protocol.js';

type Pending = { resolve: (r: FsReply) => void; reject: (e: Error) => void };
type Body<R> = R extends FsRequest ? Omit<R, 'id'> : never;

interface Lane {
  worker: Worker;
  inFlight: number;
  /** Ids of this lane's requests not yet answered: a thread that dies fails these, and only these. */
  ids: Set<number>;
  /** Requests waiting for the end of this turn, sent as one message (a message costs ~30 µs). */
  outbox: FsRequest[];
  transfer: ArrayBuffer[];
}

/** An errno-style error from a pool thread, shaped like Node's own system errors. */
function systemError(r: Extract<FsReply, { kind: 'error' }>): Error {
  return Object.assign(new Error(r.message), { code: r.code });
}

/** How long the shared pool may sit idle before its threads are let go (a long-running watcher). */
const IDLE_MS = 5000;

/**
 * A few threads that run whole-file syscalls synchronously (fs-worker.ts). Requests go to the
 * least busy thread. Threads keep the process alive only while they have work, so a finished run
 * exits without having to close the pool; a pool idle for a few seconds ends its threads (each
 * holds its own heap), and the next request starts a new one.
 */
export class FsPool {
  private readonly lanes: Lane[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idle: NodeJS.Timeout | undefined;
  closed = false;

  constructor(size = Math.max(2, Math.min(8, availableParallelism() * 2))) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./fs-worker.js', import.meta.url));
      const lane: Lane = { worker, inFlight: 0, ids: new Set(), outbox: [], transfer: [] };
      worker.on('message', (replies: FsReply[]) => {
        for (const reply of replies) this.settle(lane, reply);
      });
      worker.on('error', (err) => this.retire(lane, err));
      worker.on('exit', (code) => this.retire(lane, new Error(`an I/O thread stopped (exit code ${code})`)));
      worker.unref();
      this.lanes.push(lane);
    }
  }

  private settle(lane: Lane, reply: FsReply): void {
    if (--lane.inFlight === 0) lane.worker.unref();
    lane.ids.delete(reply.id);
    const p = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.armIdle();
    if (!p) return;
    if (reply.kind === 'error') p.reject(systemError(reply));
    else p.resolve(reply);
  }

  private armIdle(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      if (this.pending.size > 0) return;
      this.closed = true;
      if (shared === this) shared = undefined;
      for (const lane of this.lanes.splice(0)) {
        lane.worker.removeAllListeners('exit');
        void lane.worker.terminate();
      }
    }, IDLE_MS);
    this.idle.unref();
  }

  /** A thread died: its unanswered requests fail, and it takes no more. */
  private retire(lane: Lane, err: Error): void {
    const i = this.lanes.indexOf(lane);
    if (i < 0) return;
    this.lanes.splice(i, 1);
    for (const id of lane.ids) {
      this.pending.get(id)?.reject(err);
      this.pending.delete(id);
    }
    lane.ids.clear();
  }

  private send(body: Body<FsRequest>, transfer: ArrayBuffer[] = []): Promise<FsReply> {
    clearTimeout(this.idle);
    if (this.lanes.length === 0) return Promise.reject(new Error('every I/O thread has stopped'));
    const lane = this.lanes.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    if (lane.inFlight++ === 0) lane.worker.ref();
    const id = this.nextId++;
    lane.ids.add(id);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (lane.outbox.length === 0) setImmediate(() => this.post(lane));
      lane.outbox.push({ ...body, id } as FsRequest);
      lane.transfer.push(...transfer);
    });
  }

  private post(lane: Lane): void {
    const batch = lane.outbox.splice(0);
    lane.worker.postMessage(batch, lane.transfer.splice(0));
  }

  /**
   * Reads a whole file of at most `maxSize` bytes (opened as the reader opens sources) and hashes
   * it. Resolves `large` when it is bigger, `changed` when it moved while read or is not a file.
   */
  read(path: string, rel: string, algorithm: Algorithm | null, maxSize: number, hashOnly = false): Promise<Extract<FsReply, { kind: 'read' | 'large' | 'changed' }>> {
    return this.send({ op: 'read', path, rel, algorithm, maxSize, hashOnly }) as Promise<Extract<FsReply, { kind: 'read' | 'large' | 'changed' }>>;
  }

  /**
   * Writes `data` to `temp`, renames it over `final`, sets the times and re-stats; checks that the
   * result is exactly what was written. Not flushed: call `syncfs` before recording it as safe.
   */
  async write(o: Omit<Extract<FsRequest, { op: 'write' }>, 'id' | 'op'>): Promise<Extract<FsReply, { kind: 'written' }>> {
    return (await this.send({ op: 'write', ...o })) as Extract<FsReply, { kind: 'written' }>;
  }

  /**
   * Flushes the whole filesystem that holds the open descriptor `fd` (syncfs). The descriptor must
   * have been opened before the writes it is to cover: since Linux 5.8 syncfs reports write-back
   * errors seen since the descriptor was opened, and none seen before.
   */
  async syncfs(fd: number): Promise<void> {
    await this.send({ op: 'syncfs', fd });
  }
}

let shared: FsPool | undefined;

/** The process's one I/O pool, started on first use. */
export function fsPool(): FsPool {
  if (!shared || shared.closed) shared = new FsPool();
  return shared;
}
