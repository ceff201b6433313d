import { Worker } from 'node:worker_threads';
import type { FileEntry } from '../core/entry.js';
import { entryAt } from '../io/list-dir.js';
import type { WalkMessage, WalkRequest } from './scan-worker.js';

export interface WalkError {
  rel: string;
  code: string;
  message: string;
}

export interface WalkOptions {
  batchSize?: number;
  signal?: AbortSignal;
}

/**
 * Walks `root` without following symlinks, yielding batches of entries (files, directories,
 * symlinks; the root itself excluded) and the errors met on the way. The walk runs in a worker
 * thread with sync syscalls; it pauses while the consumer is behind. Order is depth-first, unsorted.
 */
export async function* walkTree(
  root: string,
  options: WalkOptions = {},
): AsyncGenerator<{ entries: FileEntry[]; dirs: number; errors: WalkError[] }> {
  const flow = new SharedArrayBuffer(8);
  const counters = new Int32Array(flow);
  const request: WalkRequest = { root, batchSize: options.batchSize ?? 1000, flow, maxUnread: 4 };
  const worker = new Worker(new URL('./scan-worker.js', import.meta.url), { workerData: request });
  const inbox: WalkMessage[] = [];
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  let ended = false;
  worker.on('message', (m: WalkMessage) => {
    inbox.push(m);
    wake?.();
  });
  worker.on('error', (err) => {
    failure = err;
    wake?.();
  });
  worker.on('exit', () => {
    ended = true;
    wake?.();
  });
  try {
    let errors: WalkError[] = [];
    for (;;) {
      if (options.signal?.aborted) return;
      const m = inbox.shift();
      if (!m) {
        if (failure) throw failure;
        if (ended) throw new Error(`the walk of ${root} stopped unexpectedly`);
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      if (m.type === 'end') {
        if (errors.length > 0) yield { entries: [], dirs: 0, errors };
        return;
      }
      if (m.type === 'error') {
        errors.push({ rel: m.rel, code: m.code, message: m.message });
        continue;
      }
      Atomics.add(counters, 1, 1);
      Atomics.notify(counters, 1);
      const rels = m.count === 0 ? [] : m.rels.split('\0');
      yield { entries: rels.map((rel, i) => entryAt(rel, m.fields, i)), dirs: m.dirs, errors };
      errors = [];
    }
  } finally {
    await worker.terminate();
  }
}
