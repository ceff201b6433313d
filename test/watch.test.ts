import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PgIndexStore, SqliteIndexStore, SyncManager, type IndexStore, type SyncEvent } from '../dist/index.js';
import { canMount, tmpfs } from './helpers/mounts.js';
import { freshPgDatabase } from './helpers/postgres.js';
import { tempDir, tempTree } from './helpers/tree.js';

/** Each engine makes a new database and returns how to open it (again, for a restart). */
const ENGINES: Array<[string, () => Promise<() => Promise<IndexStore>>]> = [
  ['SQLite', async () => {
    const db = join(tempDir(), 'index.db');
    return async () => SqliteIndexStore.open(db);
  }],
  ['PostgreSQL', async () => {
    const url = await freshPgDatabase();
    return () => PgIndexStore.open(url);
  }],
];

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const open: Array<{ manager: SyncManager; store: IndexStore }> = [];

afterEach(async () => {
  for (const { manager: m, store } of open.splice(0)) {
    await m.stop();
    await store.close();
  }
});

const paths = async (m: SyncManager): Promise<string[]> => (await m.listFiles('photos')).map((r) => r.filePath);

describe.each(ENGINES)('ferry watch on %s', (_, engine) => {
  let reopen: () => Promise<IndexStore>;

  async function manager(root: string, config: Record<string, unknown> = {}): Promise<{ manager: SyncManager; store: IndexStore; events: SyncEvent[] }> {
    reopen = await engine();
    const store = await reopen();
    const events: SyncEvent[] = [];
    const m = new SyncManager(store, { debounceMs: 100, ...config }, (e) => events.push(e));
    open.push({ manager: m, store });
    await m.start();
    await m.addRoot('photos', root);
    return { manager: m, store, events };
  }

  describe('ferry watch: the startup sync', () => {
    it('records every file with its size, mtime and sha256, leaves out the seed\'s filtered names, and writes a startup operation', async () => {
      const root = tempTree({ 'a.jpg': 'aaa', 'sub/b.jpg': 'bb', '.hidden': 'x', 'c.tmp': 'x', 'd~': 'x', 'Thumbs.db': 'x', 'e.bak': 'x', '.git/config': 'x' });
      const { manager: m } = await manager(root);
      expect(await paths(m)).toEqual(['a.jpg', 'sub/b.jpg']);
      const rec = await m.getFile('photos', 'a.jpg');
      expect(rec).toMatchObject({ fileSize: 3, contentHash: sha256('aaa') });
      const status = await m.status('photos');
      expect(status).toMatchObject({ totalFiles: 2, isWatching: true });
      expect(status.lastSyncOperation).toMatchObject({ operationType: 'startup', status: 'completed', filesScanned: 2, filesAdded: 2 });
    });
  });

  describe('ferry watch: realtime', () => {
    it('sees a file created, modified, renamed and deleted, each as a realtime operation', async () => {
      const root = tempTree({ 'keep.jpg': 'k' });
      const { manager: m } = await manager(root);
      writeFileSync(join(root, 'new.jpg'), 'first');
      await expect.poll(async () => (await m.getFile('photos', 'new.jpg'))?.contentHash, { timeout: 10_000 }).toBe(sha256('first'));
      writeFileSync(join(root, 'new.jpg'), 'second version');
      await expect.poll(async () => (await m.getFile('photos', 'new.jpg'))?.contentHash, { timeout: 10_000 }).toBe(sha256('second version'));
      renameSync(join(root, 'new.jpg'), join(root, 'renamed.jpg'));
      await expect.poll(() => paths(m), { timeout: 10_000 }).toEqual(['keep.jpg', 'renamed.jpg']);
      unlinkSync(join(root, 'renamed.jpg'));
      await expect.poll(() => paths(m), { timeout: 10_000 }).toEqual(['keep.jpg']);
      const ops = await m.operations('photos', 50);
      expect(ops.filter((o) => o.operationType === 'realtime').length).toBeGreaterThan(0);
      expect(ops.filter((o) => o.status === 'failed').map((o) => o.errorMessage)).toEqual([]); // the newest may still be running
    });

    it('sees files inside a new nested directory, and a directory removed with everything in it', async () => {
      const root = tempTree({ 'x.jpg': 'x' });
      const { manager: m } = await manager(root);
      mkdirSync(join(root, 'a/b/c'), { recursive: true });
      writeFileSync(join(root, 'a/b/c/deep.jpg'), 'deep');
      writeFileSync(join(root, 'a/top.jpg'), 'top');
      await expect.poll(() => paths(m), { timeout: 10_000 }).toEqual(['a/b/c/deep.jpg', 'a/top.jpg', 'x.jpg']);
      rmSync(join(root, 'a'), { recursive: true });
      await expect.poll(() => paths(m), { timeout: 10_000 }).toEqual(['x.jpg']);
    });

    it('records a burst of 1,000 files', async () => {
      const root = tempTree({});
      const { manager: m } = await manager(root);
      for (let i = 0; i < 1000; i++) writeFileSync(join(root, `burst-${i}.jpg`), `file ${i}`);
      await expect.poll(async () => (await m.status('photos')).totalFiles, { timeout: 30_000 }).toBe(1000);
      expect((await m.getFile('photos', 'burst-999.jpg'))?.contentHash).toBe(sha256('file 999'));
    });

    it('an editor-style save (write a temp file, rename it over the original) leaves one record with the new content', async () => {
      const root = tempTree({ 'doc.txt': 'old' });
      const { manager: m } = await manager(root);
      writeFileSync(join(root, '.doc.txt.swp'), 'new content');
      renameSync(join(root, '.doc.txt.swp'), join(root, 'doc.txt'));
      // inotify may report this as the temp file alone: the directory is checked whole all the same.
      await expect.poll(async () => (await m.getFile('photos', 'doc.txt'))?.contentHash, { timeout: 10_000 }).toBe(sha256('new content'));
      expect(await paths(m)).toEqual(['doc.txt']);
    });
  });

  describe('ferry watch: review regressions', () => {
    it('a directory copied in with its files is recorded once per file (the directory and its files are both reported)', async () => {
      const root = tempTree({});
      const { manager: m } = await manager(root);
      const staging = tempTree(Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`f${i}.jpg`, `photo ${i}`])));
      renameSync(staging, join(root, 'album'));
      await expect.poll(async () => (await m.status('photos')).totalFiles, { timeout: 15_000 }).toBe(200);
      const ops = await m.operations('photos', 50);
      expect(ops.filter((o) => o.status === 'failed').map((o) => o.errorMessage)).toEqual([]); // the newest may still be running
      expect(ops.filter((o) => o.operationType === 'realtime').reduce((n, o) => n + o.filesAdded + o.filesUpdated, 0)).toBe(200);
    });

    it('a file replaced by a directory (and one by a symlink) leaves no record of the old file', async () => {
      const root = tempTree({ 'x': 'was a file', 'y': 'also a file', 'keep.jpg': 'k' });
      const { manager: m } = await manager(root);
      unlinkSync(join(root, 'x'));
      mkdirSync(join(root, 'x'));
      writeFileSync(join(root, 'x', 'inner.jpg'), 'inner');
      unlinkSync(join(root, 'y'));
      symlinkSync('keep.jpg', join(root, 'y'));
      await expect.poll(() => paths(m), { timeout: 10_000 }).toEqual(['keep.jpg', 'x/inner.jpg']);
    });
  });

  describe('ferry watch: reconciliation', () => {
    it('finds at startup what changed while ferry was stopped', async () => {
      const root = tempTree({ 'a.jpg': 'a', 'b.jpg': 'b' });
      const first = await manager(root);
      await first.manager.stop();
      await first.store.close();
      open.length = 0;
      writeFileSync(join(root, 'a.jpg'), 'a changed');
      unlinkSync(join(root, 'b.jpg'));
      writeFileSync(join(root, 'c.jpg'), 'c');
      const store = await reopen();
      const m = new SyncManager(store, { debounceMs: 100 });
      open.push({ manager: m, store });
      await m.start();
      expect(await paths(m)).toEqual(['a.jpg', 'c.jpg']);
      expect((await m.getFile('photos', 'a.jpg'))?.contentHash).toBe(sha256('a changed'));
      const [op] = await m.operations('photos', 1);
      expect(op).toMatchObject({ operationType: 'startup', filesAdded: 1, filesUpdated: 1, filesRemoved: 1, status: 'completed' });
    });

    it('a root that turns empty (an unmounted share) keeps its records: the operation fails and says why', async () => {
      const root = tempTree({ 'a.jpg': 'a', 'b.jpg': 'b' });
      const { manager: m, events } = await manager(root);
      await m.stop();
      rmSync(join(root, 'a.jpg'));
      rmSync(join(root, 'b.jpg'));
      const r = await m.reconcile('photos');
      expect(r.status).toBe('failed');
      expect(r.error).toMatch(/is empty while the index holds files for it/);
      expect(await paths(m)).toEqual(['a.jpg', 'b.jpg']);
      expect(events.some((e) => e.type === 'warning' && /unmounted/.test(e.message))).toBe(true);
    });

    it('a root renamed away and made again on the same filesystem is followed, with a warning', async () => {
      const parent = tempDir();
      const root = join(parent, 'photos');
      mkdirSync(root);
      writeFileSync(join(root, 'a.jpg'), 'a');
      const { manager: m } = await manager(root);
      await m.stop();
      renameSync(root, join(parent, 'photos.old'));
      mkdirSync(root);
      writeFileSync(join(root, 'other.jpg'), 'other');
      const r = await m.reconcile('photos');
      expect(r.status).toBe('completed');
      expect(r.notices.join()).toMatch(/is another directory than the one indexed before/);
      expect(await paths(m)).toEqual(['other.jpg']);
    });

    it.skipIf(!canMount)('a root on another filesystem than it was added on (a tmpfs swapped for another) keeps its records', async () => {
      const root = tmpfs(1024);
      writeFileSync(join(root, 'a.jpg'), 'a');
      const { manager: m } = await manager(root);
      await m.stop();
      execFileSync('umount', [root]);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', root]);
      writeFileSync(join(root, 'other.jpg'), 'other');
      const r = await m.reconcile('photos');
      expect(r.status).toBe('failed');
      expect(r.error).toMatch(/on another filesystem than the one it was added on/);
      expect(await paths(m)).toEqual(['a.jpg']);
    });

    it('honours gitignore-style patterns from the configuration', async () => {
      const root = tempTree({ 'a.jpg': 'a', 'raw/b.cr2': 'b', 'c.log': 'c' });
      const { manager: m } = await manager(root, { ignore: ['raw/', '*.log'] });
      expect(await paths(m)).toEqual(['a.jpg']);
    });
  });
});

describe('ferry watch: when the watcher fails', () => {
  it('a watcher error (an overflowed event queue) is a warning, and a reconciliation finds what the watcher missed', async () => {
    // Simulated: inotify's queue cannot be made to overflow on demand here, so the watcher backend
    // is replaced by one that reports nothing, then an error, as @parcel/watcher does on overflow.
    let report: ((err: Error | null, events: Array<{ path: string; type: 'create' | 'update' | 'delete' }>) => void) | undefined;
    const subscribe = async (_dir: string, fn: typeof report): Promise<{ unsubscribe: () => Promise<void> }> => {
      report = fn;
      return { unsubscribe: async () => undefined };
    };
    const root = tempTree({ 'a.jpg': 'a' });
    const store = SqliteIndexStore.open(join(tempDir(), 'index.db'));
    const events: SyncEvent[] = [];
    const m = new SyncManager(store, { subscribe: subscribe as never }, (e) => events.push(e));
    open.push({ manager: m, store });
    await m.start();
    await m.addRoot('photos', root);
    writeFileSync(join(root, 'missed.jpg'), 'the watcher never said');
    report!(new Error('Events were dropped by the FSEvents client. File system must be re-scanned.'), []);
    await expect.poll(() => paths(m), { timeout: 10_000 }).toEqual(['a.jpg', 'missed.jpg']);
    expect(events.some((e) => e.type === 'warning' && /watcher .* failed .*reconciling/.test(e.message))).toBe(true);
    expect((await m.operations('photos', 1))[0]).toMatchObject({ operationType: 'reconciliation', status: 'completed', filesAdded: 1 });
  });
});
