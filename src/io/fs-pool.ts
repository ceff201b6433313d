import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ops, type FsOps } from './beneath-ops.js';
import { addon } from './native.js';
import type { FsFailure, FsOp, FsReply, FsRequest } from './fs-protocol.js';
import { fileError } from '../core/errors.js';
import { badTreePath } from '../core/tree.js';

type Pending = { resolve: (value: unknown) => void; reject: (e: Error) => void };

interface Lane {
  worker: Worker;
  inFlight: number;
  /** Ids of this lane's requests not yet answered: a thread that dies fails these, and only these. */
  ids: Set<number>;
  /** Requests waiting for the end of this turn, sent as one message (a message costs ~30 µs). */
  outbox: FsRequest[];
}

/** An errno-style error from a pool thread, shaped like Node's own system errors, its own properties kept. */
function systemError(f: FsFailure): Error {
  return Object.assign(new Error(f.message), f.props, { code: f.code });
}

const WITH_DESCRIPTORS = new Set<keyof FsOps>(['openSource', 'openTemp', 'commit', 'abort']);

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

  get size(): number {
    return this.lanes.length;
  }

  constructor(size = poolSize()) {
    this.grow(size);
  }

  /** Adds threads until there are `size` (a pool's lanes only ever grow, until it is let go). */
  grow(size: number): void {
    while (this.lanes.length < size && !this.closed) {
      const worker = new Worker(new URL('./fs-worker.js', import.meta.url));
      const lane: Lane = { worker, inFlight: 0, ids: new Set(), outbox: [] };
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
    if (reply.ok) p.resolve(reply.value);
    else p.reject(systemError(reply.error));
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

  private send(op: FsOp, args: unknown): Promise<unknown> {
    clearTimeout(this.idle);
    if (this.lanes.length === 0) return Promise.reject(new Error('every I/O thread has stopped'));
    const lane = this.lanes.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    if (lane.inFlight++ === 0) lane.worker.ref();
    const id = this.nextId++;
    lane.ids.add(id);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (lane.outbox.length === 0) setImmediate(() => this.post(lane));
      lane.outbox.push({ id, op, args });
    });
  }

  private post(lane: Lane): void {
    const batch = lane.outbox.splice(0);
    lane.worker.postMessage(batch);
  }

  /**
   * Runs one operation of beneath-ops.ts on a pool thread. Without the native helper, those that
   * hand a descriptor across run here instead: a descriptor Node's fs opened in a worker is closed
   * when that worker ends.
   */
  call<K extends keyof FsOps>(op: K, args: Parameters<FsOps[K]>[0]): Promise<ReturnType<FsOps[K]>> {
    const a = args as { rel?: unknown; from?: unknown; to?: unknown };
    for (const rel of [a.rel, a.from, a.to]) {
      const bad = typeof rel === 'string' ? badTreePath(rel) : undefined;
      if (bad) return Promise.reject(fileError('EINVAL', `${JSON.stringify(rel)} is not a path inside the tree: ${bad}`));
    }
    if (!addon && WITH_DESCRIPTORS.has(op)) return Promise.resolve().then(() => (ops[op] as (a: unknown) => ReturnType<FsOps[K]>)(args));
    return this.send(op, args) as Promise<ReturnType<FsOps[K]>>;
  }

  /**
   * Flushes the whole filesystem that holds the open descriptor `fd` (syncfs). The descriptor must
   * have been opened before the writes it is to cover: since Linux 5.8 syncfs reports write-back
   * errors seen since the descriptor was opened, and none seen before.
   */
  async syncfs(fd: number): Promise<void> {
    await this.send('syncfs', { fd });
  }
}

/**
 * Threads for a local disk: one per core (at least two): a local syscall costs microseconds, and each
 * thread holds its own heap (about 9 MiB). A tree on a network filesystem asks for twice as many:
 * there a syscall waits a round trip, and more of them in flight fill the link.
 */
const LOCAL_LANES = Math.max(2, Math.min(8, availableParallelism()));
const NETWORK_LANES = Math.max(4, Math.min(16, availableParallelism() * 2));
let network = false;

function poolSize(): number {
  return network ? NETWORK_LANES : LOCAL_LANES;
}

let shared: FsPool | undefined;

/** The process's one I/O pool, started on first use. */
export function fsPool(): FsPool {
  if (!shared || shared.closed) shared = new FsPool();
  return shared;
}

/** A tree on a network filesystem is in use: the pool (now and when restarted) has its wider size. */
export function widenForNetwork(): void {
  network = true;
  shared?.grow(NETWORK_LANES);
}

/** How many I/O threads the pool runs now (0 when none is started). */
export function fsPoolLanes(): number {
  return shared && !shared.closed ? shared.size : 0;
}
