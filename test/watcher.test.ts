import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteIndexStore, SyncManager, Watcher, type FerryEvent, type SyncEvent } from '../dist/index.js';
import { loadConfig } from '../dist/faces/route/config.js';
import { Router } from '../dist/faces/route/router.js';
import { runRouter } from '../dist/faces/route/run.js';
import { routeWorld } from './helpers/route.js';
import { tempDir, tempTree } from './helpers/tree.js';

type Report = (err: Error | null, events: Array<{ path: string }>) => void;

/** A watcher backend that reports only what the test says, as @parcel/watcher would (an overflow is an error). */
function fakeBackend(): { subscribe: (dir: string, fn: Report) => Promise<{ unsubscribe: () => Promise<void> }>; report: (err: Error | null, paths: string[]) => void; subscribed: () => boolean } {
  let fn: Report | undefined;
  return {
    subscribe: async (_dir, f) => {
      fn = f;
      return { unsubscribe: async () => void (fn = undefined) };
    },
    report: (err, paths) => fn?.(err, paths.map((path) => ({ path }))),
    subscribed: () => fn !== undefined,
  };
}

const closing: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

describe('the shared watcher (engine/watcher.ts)', () => {
  it('hands over each settled path once, relative, with a change event; skips ferry\'s own files and paths outside the root', async () => {
    const root = tempTree({ 'a.jpg': 'a', 'state/index.db': '' });
    const backend = fakeBackend();
    const settled: string[][] = [];
    const events: FerryEvent[] = [];
    const w = new Watcher(
      { root, debounceMs: 30, maxDeferMs: 300, subscribe: backend.subscribe, ownFiles: [join(root, 'state/index.db'), join(root, 'state/index.db-wal')], emit: (e) => events.push(e) },
      { settled: (paths) => settled.push(paths), lost: () => undefined },
    );
    closing.push(() => w.close());
    await w.subscribe();
    expect(w.watching).toBe(true);
    backend.report(null, [join(root, 'a.jpg'), join(root, 'a.jpg'), join(root, 'sub/b.jpg'), join(root, 'state/index.db-wal'), root, join(dirname(root), 'elsewhere')]);
    await expect.poll(() => settled.flat().sort()).toEqual(['a.jpg', 'sub/b.jpg']);
    expect(settled).toHaveLength(1);
    expect(events).toEqual([
      { type: 'change', root, path: 'a.jpg' },
      { type: 'change', root, path: 'sub/b.jpg' },
    ]);
  });

  it('a backend error is `lost` (walk the tree); close returns what had not settled, and later adds are ignored', async () => {
    const root = tempDir();
    const backend = fakeBackend();
    const lost: string[] = [];
    const settled: string[] = [];
    const w = new Watcher({ root, debounceMs: 10_000, maxDeferMs: 10_000, subscribe: backend.subscribe }, { settled: (p) => settled.push(...p), lost: (err) => lost.push(err.message) });
    await w.subscribe();
    backend.report(new Error('Events were dropped'), []);
    expect(lost).toEqual(['Events were dropped']);
    backend.report(null, [join(root, 'slow.bin')]);
    expect(await w.close()).toEqual(['slow.bin']);
    expect(w.watching).toBe(false);
    expect(backend.subscribed()).toBe(false);
    w.add('late.bin');
    expect(w.drain()).toEqual([]);
    expect(settled).toEqual([]);
  });
});

describe('watch and route stand on the same watcher', () => {
  it('ferry watch: a change reported by the backend is a change event and a realtime operation; an overflow reconciles', async () => {
    const root = tempTree({ 'a.jpg': 'a' });
    const backend = fakeBackend();
    const store = SqliteIndexStore.open(join(tempDir(), 'index.db'));
    const events: SyncEvent[] = [];
    const m = new SyncManager(store, { debounceMs: 30, subscribe: backend.subscribe as never }, (e) => events.push(e));
    closing.push(() => store.close(), () => m.stop());
    await m.start();
    await m.addRoot('photos', root);
    writeFileSync(join(root, 'new.jpg'), 'new');
    backend.report(null, [join(root, 'new.jpg')]);
    await expect.poll(async () => (await m.getFile('photos', 'new.jpg'))?.fileSize).toBe(3);
    expect(events).toContainEqual({ type: 'change', root, path: 'new.jpg' });
    expect(events.find((e) => e.type === 'operation' && e.operation.operationType === 'realtime')).toBeDefined();
    writeFileSync(join(root, 'missed.jpg'), 'never reported');
    backend.report(new Error('overflow'), []);
    await expect.poll(async () => (await m.getFile('photos', 'missed.jpg'))?.fileSize).toBe(14);
    expect(events.some((e) => e.type === 'warning' && /watcher .* failed \(overflow\); reconciling/.test(e.message))).toBe(true);
  });

  it('ferry route run: a settled path is considered and queued (with its change event); an overflow walks the source', async () => {
    const w = routeWorld();
    await w.dirDrive('Docs', 'documents');
    const config = loadConfig(w.config);
    const backend = fakeBackend();
    const events: FerryEvent[] = [];
    const emit = (e: FerryEvent): void => void events.push(e);
    const stop = new AbortController();
    const router = await Router.open(config, { emit, signal: stop.signal });
    const running = runRouter(router, { emit, signal: stop.signal, subscribe: backend.subscribe });
    closing.push(async () => {
      stop.abort();
      await running;
      await router.close();
    });
    await expect.poll(() => events.some((e) => e.type === 'drive.online')).toBe(true);
    await expect.poll(() => backend.subscribed()).toBe(true);
    mkdirSync(join(w.source, 'new'));
    writeFileSync(join(w.source, 'new/notes.md'), '# hello\n');
    backend.report(null, [join(w.source, 'new/notes.md')]);
    await expect.poll(() => events.some((e) => e.type === 'file.done' && e.path === 'new/notes.md'), { timeout: 10_000 }).toBe(true);
    // The start walk may find the file before the watcher's debounce settles, so the change is waited for.
    await expect.poll(() => events.some((e) => e.type === 'change' && e.root === config.source && e.path === 'new/notes.md'), { timeout: 10_000 }).toBe(true);
    writeFileSync(join(w.source, 'missed.md'), '# never reported\n');
    backend.report(new Error('overflow'), []);
    await expect.poll(() => events.some((e) => e.type === 'file.done' && e.path === 'missed.md'), { timeout: 10_000 }).toBe(true);
    expect(events.some((e) => e.type === 'notice' && /the watcher failed .*walking the source instead/.test(e.message))).toBe(true);
  });
});

describe('layers', () => {
  it('no face imports another face, io, or report', () => {
    const faces = fileURLToPath(new URL('../src/faces/', import.meta.url));
    const bad: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts')) {
          const face = relative(faces, p).split('/')[0];
          for (const [, spec] of readFileSync(p, 'utf8').matchAll(/^(?:import|export)\b[^;]*?from '([^']+)'/gms)) {
            const to = relative(faces, join(dirname(p), spec!));
            const other = !to.startsWith('..') && to.split('/')[0] !== face;
            if (other || /^\.\.\/(io|report)\//.test(to)) bad.push(`${relative(faces, p)} → ${spec}`);
          }
        }
      }
    };
    walk(faces);
    expect(bad).toEqual([]);
  });
});
