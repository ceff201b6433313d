import { join } from 'node:path';
import { describeFileError, FerryError } from '../../core/errors.js';
import type { Emit } from '../../core/events.js';
import type { Subscribe } from '../../core/watcher.js';
import { Watcher } from '../../engine/watcher.js';
import type { Router } from './router.js';

export interface RunOptions {
  emit: Emit;
  signal: AbortSignal;
  /** The watcher backend (replaceable in tests); @parcel/watcher's by default. */
  subscribe?: Subscribe;
}

/**
 * `ferry route run`: watches the source (changes settle for the debounce, then are classified and
 * queued), polls the mount table for drives coming and going (a drive that arrives gets its queue
 * delivered), and walks the whole source on start and every `rescan_every`. One piece of work runs
 * at a time. Resolves when `signal` aborts; rejects only on an error no later work could get past.
 */
export async function runRouter(router: Router, o: RunOptions): Promise<void> {
  const { config } = router;
  // A source missing at the start is bad input (exit 3); one that goes later is reported and waited for.
  await router.checkSource();
  let chain: Promise<void> = Promise.resolve();
  let fatal: unknown;
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const waiting = new Set<string>();
  /** Queues a piece of work; a poll or rescan already waiting its turn is not queued twice. */
  const enqueue = (what: string, work: () => Promise<unknown>): void => {
    if (what !== 'changes' && waiting.has(what)) return;
    waiting.add(what);
    chain = chain.then(async () => {
      waiting.delete(what);
      if (o.signal.aborted || fatal) return;
      try {
        await work();
      } catch (err) {
        if (o.signal.aborted) return;
        if (err instanceof FerryError && err.code !== 'CONFIG' && err.code !== 'STORE_LOCKED') {
          o.emit({ type: 'notice', message: `${what}: ${err.message}` });
        } else {
          fatal = err;
          stop();
        }
      }
    });
  };
  const deliverArrived = async (): Promise<void> => {
    const before = new Set(router.online.keys());
    await router.locate();
    const arrived = [...router.online.keys()].filter((id) => !before.has(id));
    if (arrived.length > 0) await router.deliver(arrived);
  };

  enqueue('start', async () => {
    await router.locate();
    await router.scan();
    await router.deliver();
  });
  const watcher = new Watcher(
    { root: config.source, debounceMs: config.debounceMs, maxDeferMs: Math.max(10 * config.debounceMs, 1000), subscribe: o.subscribe, emit: o.emit },
    {
      settled: (paths) =>
        enqueue('changes', async () => {
          if ((await router.consider(paths.map((p) => join(config.source, p)))) > 0) await router.deliver();
        }),
      lost: (err) => {
        o.emit({ type: 'notice', message: `the watcher failed (${describeFileError(err)}); walking the source instead` });
        enqueue('rescan', () => router.scan().then(() => router.deliver()));
      },
    },
  );
  try {
    await watcher.subscribe();
  } catch (err) {
    o.emit({ type: 'notice', message: `cannot watch ${config.source} (${describeFileError(err)}); it is walked every ${config.rescanEveryMs / 1000}s instead` });
  }
  const poll = setInterval(() => enqueue('drives', deliverArrived), config.mountPollMs);
  const rescan = setInterval(() => enqueue('rescan', () => router.scan().then(() => router.deliver())), Math.min(config.rescanEveryMs, 2 ** 31 - 1));
  const onAbort = (): void => stop();
  o.signal.addEventListener('abort', onAbort, { once: true });
  if (o.signal.aborted) stop();
  try {
    await stopped;
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    clearInterval(poll);
    clearInterval(rescan);
    await watcher.close();
    await chain;
  }
  if (fatal) throw fatal;
}
