import { Worker } from 'node:worker_threads';
import type { ListBatch, ListError, ListOptions } from '../core/tree.js';
import { entryAt } from './list-dir.js';
import type { WalkMessage, WalkRequest } from './walk-worker.js';

export type { ListBatch as WalkBatch, ListError as WalkError, ListOptions as WalkOptions } from '../core/tree.js';

/**
 * Walks `root` without following symlinks, yielding batches of entries (files, directories,
 * symlinks; the root itself excluded) and the errors met on the way. The walk runs in a worker
 * thread with sync syscalls; it pauses while the consumer is behind. Order is depth-first, unsorted.
 * A directory whose listing digest equals `known`'s is reported as kept instead of entry by entry.
 */
export async function* walkTree(root: string, options: ListOptions = {}): AsyncGenerator<ListBatch> {
  const flow = new SharedArrayBuffer(8);
  const counters = new Int32Array(flow);
  const request: WalkRequest = {
    root, batchSize: options.batchSize ?? 1000, flow, maxUnread: 4, known: options.known ?? new Map(), volatileName: options.volatileName,
  };
  const worker = new Worker(new URL('./walk-worker.js', import.meta.url), { workerData: request });
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
    let errors: ListError[] = [];
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
        yield { entries: [], dirs: 0, errors, digests: [], kept: [], keptFiles: 0, keptBytes: 0, mounts: [], granularityNs: m.granularityNs };
        return;
      }
      if (m.type === 'error') {
        errors.push({ rel: m.rel, code: m.code, message: m.message });
        continue;
      }
      Atomics.add(counters, 1, 1);
      Atomics.notify(counters, 1);
      const rels = m.count === 0 ? [] : m.rels.split('\0');
      yield {
        entries: rels.map((rel, i) => entryAt(rel, m.fields, i)), dirs: m.dirs, errors,
        digests: m.digests, kept: m.kept, keptFiles: m.keptFiles, keptBytes: m.keptBytes, mounts: m.mounts,
      };
      errors = [];
    }
  } finally {
    await worker.terminate();
  }
}
