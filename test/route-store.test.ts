import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openRouteStore, storeExists } from '../dist/store/open.js';
import { PgRouteStore } from '../dist/store/postgres/pg-route-store.js';
import type { Delivery, PendingDelivery, RouteFile, RouteStore } from '../dist/core/route-store.js';
import { SqliteRouteStore } from '../dist/store/sqlite/sqlite-route-store.js';
import { freshPgDatabase } from './helpers/postgres.js';
import { tempDir } from './helpers/tree.js';

/** One contract, two engines: every RouteStore method behaves the same on SQLite and PostgreSQL. */
const ENGINES: Array<[string, () => Promise<string>, (location: string, options?: { readOnly?: boolean }) => Promise<RouteStore>]> = [
  ['SQLite', async () => join(tempDir(), 'route.db'), async (location, options) => SqliteRouteStore.open(location, options)],
  ['PostgreSQL', freshPgDatabase, (location, options) => PgRouteStore.open(location, options)],
];

const opened: RouteStore[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

const BIG = 2n ** 40n + 7n; // a size past 32 bits: it must come back as the same bigint from either engine
const MTIME = 1_700_000_000_123_456_789n;
const file = (path: string, hash: string, category = 'images', size = 10n, mime = 'image/png'): RouteFile => ({ path, size, mtimeNs: MTIME, hash, mime, category });
const delivery = (driveId: string, hash: string, path: string, o: Partial<Delivery> = {}): Delivery => ({
  driveId, hash, path, sourcePath: path, size: 10n, mtimeNs: MTIME, deliveredNs: 5_000_000_000n, ...o,
});
const DRIVES = [
  { id: 'img-1', label: 'Photos', category: 'images' },
  { id: 'img-2', label: 'Backup', category: 'images' },
  { id: 'aud-1', label: 'Music', category: 'audio' },
];
const byDrive = (rows: PendingDelivery[]): Array<[string, string, string]> =>
  rows.map((r): [string, string, string] => [r.driveId, r.hash, r.path]).sort((a, b) => (a[0] + a[1] < b[0] + b[1] ? -1 : 1));

describe.each(ENGINES)('the route Store on %s', (_, fresh, open) => {
  const store = async (location?: string, options?: { readOnly?: boolean }): Promise<RouteStore> => {
    const s = await open(location ?? (await fresh()), options);
    opened.push(s);
    return s;
  };
  /** A store bound to /src with the three drives. */
  const ready = async (): Promise<RouteStore> => {
    const s = await store();
    await s.bindSource('/src');
    await s.syncDrives(DRIVES);
    return s;
  };

  it('keeps meta values, the bound source among them', async () => {
    const s = await store();
    expect(await s.meta('rules')).toBeUndefined();
    await s.setMeta('rules', 'one');
    await s.setMeta('rules', 'two');
    expect(await s.meta('rules')).toBe('two');
    await s.bindSource('/src');
    expect(await s.meta('source')).toBe('/src');
  });

  it('binds one source: the same one keeps everything, another forgets its files and queue but not what the drives hold', async () => {
    const s = await ready();
    await s.putFiles([file('a.png', 'h1'), file('b.png', 'h2')], 1n);
    expect(await s.refreshQueue(1n)).toBe(4);
    await s.recordDeliveries([delivery('img-1', 'h1', 'a.png')]);
    await s.bindSource('/src');
    expect([...(await s.knownFiles()).keys()].sort()).toEqual(['a.png', 'b.png']);
    expect(await s.pending(null, 0, 10)).toHaveLength(3);

    await s.bindSource('/other');
    expect(await s.meta('source')).toBe('/other');
    expect((await s.knownFiles()).size).toBe(0);
    expect(await s.pending(null, 0, 10)).toEqual([]);
    expect(await s.deliveries('img-1', 'h1')).toMatchObject({ path: 'a.png', sourcePath: null });
  });

  it('puts and reads files with their exact sizes and times; a later put of a path replaces it', async () => {
    const s = await ready();
    await s.putFiles([file('a.png', 'h1', 'images', BIG), file('b.png', 'old'), file('b.png', 'h2')], 7n);
    expect(await s.getFile('a.png')).toEqual({ path: 'a.png', size: BIG, mtimeNs: MTIME, hash: 'h1', mime: 'image/png', category: 'images' });
    expect((await s.getFile('b.png'))?.hash).toBe('h2');
    expect(await s.getFile('missing')).toBeUndefined();
    await s.putFiles([{ ...file('a.png', 'h3'), mtimeNs: MTIME + 1n }], 8n);
    expect(await s.knownFiles()).toEqual(new Map([['a.png', { size: 10n, mtimeNs: MTIME + 1n }], ['b.png', { size: 10n, mtimeNs: MTIME }]]));
    await s.putFiles([], 9n);
    expect((await s.knownFiles()).size).toBe(2);
  });

  it('lists the paths of one content in byte order', async () => {
    const s = await ready();
    await s.putFiles([file('b.png', 'h'), file('B.png', 'h'), file('a.png', 'h'), file('c.png', 'other')], 1n);
    expect(await s.pathsWithHash('h')).toEqual(['B.png', 'a.png', 'b.png']);
    expect(await s.pathsWithHash('none')).toEqual([]);
  });

  it('forgets files that left, and everything below a directory when told to; their deliveries stay, untied', async () => {
    const s = await ready();
    await s.putFiles([file('d', 'h0'), file('d/x.png', 'h1'), file('d/e/y.png', 'h2'), file('d0.png', 'h3'), file('dz.png', 'h4'), file('top.png', 'h5')], 1n);
    await s.recordDeliveries([delivery('img-1', 'h1', 'd/x.png'), delivery('img-1', 'h3', 'd0.png'), delivery('img-1', 'h5', 'top.png')]);
    expect(await s.removeFiles(['top.png', 'nothing.png'])).toBe(1);
    expect((await s.deliveries('img-1', 'h5'))?.sourcePath).toBeNull();
    expect(await s.removeFiles(['d'], { below: true })).toBe(3);
    expect([...(await s.knownFiles()).keys()].sort()).toEqual(['d0.png', 'dz.png']);
    expect((await s.deliveries('img-1', 'h1'))?.sourcePath).toBeNull();
    expect((await s.deliveries('img-1', 'h3'))?.sourcePath).toBe('d0.png');
    expect(await s.removeFiles([])).toBe(0);
    expect(await s.removeFiles(['d0.png', 'dz.png'], { below: false })).toBe(2);
  });

  it('marks files stale so the next scan looks at them again', async () => {
    const s = await ready();
    await s.putFiles([file('a.png', 'h1'), file('b.png', 'h2')], 1n);
    await s.staleFiles(['a.png', 'missing.png']);
    await s.staleFiles([]);
    const known = await s.knownFiles();
    expect(known.get('a.png')).toEqual({ size: 10n, mtimeNs: -1n });
    expect(known.get('b.png')).toEqual({ size: 10n, mtimeNs: MTIME });
  });

  it('recategorizes known files by their recorded type, name and size, and counts the changes', async () => {
    const s = await ready();
    await s.putFiles([file('a.png', 'h1', 'images', BIG), file('b.raw', 'h2', 'images', 3n, 'application/octet-stream'), file('c.mp3', 'h3', 'audio', 10n, 'audio/mpeg')], 1n);
    const seen: Array<[string, number, string]> = [];
    const n = await s.recategorize((path, size, mime) => {
      seen.push([path, size, mime]);
      return path.endsWith('.raw') ? 'raw' : mime.startsWith('image/') ? 'images' : 'audio';
    });
    expect(n).toBe(1);
    expect(seen.sort()).toEqual([['a.png', Number(BIG), 'image/png'], ['b.raw', 3, 'application/octet-stream'], ['c.mp3', 10, 'audio/mpeg']]);
    expect((await s.getFile('b.raw'))?.category).toBe('raw');
    expect(await s.recategorize((path) => (path === 'a.png' ? 'x' : path === 'b.raw' ? 'raw' : 'audio'))).toBe(1);
    expect((await s.getFile('a.png'))?.category).toBe('x');
  });

  it('syncs the drive table with the configuration: edited drives updated, missing ones inactive with their history', async () => {
    const s = await ready();
    expect((await s.stats()).map((d) => [d.id, d.label, d.category])).toEqual([
      ['img-2', 'Backup', 'images'], ['aud-1', 'Music', 'audio'], ['img-1', 'Photos', 'images'],
    ]);
    await s.putFiles([file('a.png', 'h1')], 1n);
    await s.recordDeliveries([delivery('img-2', 'h1', 'a.png')]);
    await s.syncDrives([{ id: 'img-1', label: 'Pictures', category: 'audio' }]);
    expect((await s.stats()).map((d) => [d.id, d.label, d.category])).toEqual([['img-1', 'Pictures', 'audio']]);
    expect(await s.refreshQueue(1n)).toBe(0); // no active drive takes images
    await s.syncDrives(DRIVES);
    expect((await s.stats()).find((d) => d.id === 'img-2')).toMatchObject({ delivered: 1, deliveredBytes: 10n });
  });

  it('queues each content once per drive of its category, whatever its names, and hands each new row over', async () => {
    const s = await ready();
    await s.putFiles([file('b/copy.png', 'h1', 'images', BIG), file('a.png', 'h1', 'images', BIG), file('song.mp3', 'h2', 'audio'), file('x.txt', 'h3', 'documents')], 1n);
    const handed: PendingDelivery[] = [];
    expect(await s.refreshQueue(42n, (r) => handed.push(r))).toBe(3);
    expect(byDrive(handed)).toEqual([['aud-1', 'h2', 'song.mp3'], ['img-1', 'h1', 'a.png'], ['img-2', 'h1', 'a.png']]);
    expect(handed.find((r) => r.driveId === 'img-1')).toMatchObject({ size: BIG, queuedNs: 42n, attempts: 0, lastError: null });
    const all = await s.pending(null, 0, 10);
    expect(all.map((r) => r.id)).toEqual([...handed.map((r) => r.id)].sort((a, b) => a - b));
    expect(new Set(all.map((r) => r.id)).size).toBe(3);
    expect(await s.refreshQueue(43n)).toBe(0);

    expect((await s.pending('img-1', 0, 10)).map((r) => r.hash)).toEqual(['h1']);
    const [first, ...rest] = all;
    expect(await s.pending(null, first!.id, 10)).toEqual(rest);
    expect(await s.pending(null, 0, 1)).toEqual([first]);
    expect(await s.queued('img-2', 'h1')).toEqual(all.find((r) => r.driveId === 'img-2'));
    expect(await s.queued('img-2', 'h2')).toBeUndefined();
  });

  it('points queued rows at a path that still carries their content, and drops rows no file or drive needs', async () => {
    const s = await ready();
    await s.putFiles([file('a.png', 'h1'), file('b.png', 'h1', 'images', 10n), file('song.mp3', 'h2', 'audio')], 1n);
    await s.refreshQueue(1n);
    await s.removeFiles(['a.png']);
    expect(await s.refreshQueue(2n)).toBe(0);
    expect(byDrive(await s.pending(null, 0, 10))).toEqual([['aud-1', 'h2', 'song.mp3'], ['img-1', 'h1', 'b.png'], ['img-2', 'h1', 'b.png']]);
    await s.removeFiles(['b.png']);
    await s.syncDrives(DRIVES.filter((d) => d.id !== 'aud-1'));
    await s.refreshQueue(3n);
    expect(await s.pending(null, 0, 10)).toEqual([]);
  });

  it('records deliveries: the content leaves the queue and is not queued again; another content at the same path replaces it', async () => {
    const s = await ready();
    await s.putFiles([file('a.png', 'h1'), file('b.png', 'h2')], 1n);
    await s.refreshQueue(1n);
    const first = delivery('img-1', 'h1', 'a.png', { size: BIG, mtimeNs: MTIME + 5n, deliveredNs: 2n ** 62n });
    await s.recordDeliveries([first]);
    expect(await s.queued('img-1', 'h1')).toBeUndefined();
    expect(await s.queued('img-2', 'h1')).toBeDefined();
    expect(await s.deliveries('img-1', 'h1')).toEqual(first);
    expect(await s.deliveryAt('img-1', 'a.png')).toEqual(first);
    expect(await s.deliveryAt('img-1', 'b.png')).toBeUndefined();
    expect(await s.refreshQueue(2n)).toBe(0);

    // The same content under another path keeps its first row; at its own path it is updated.
    await s.recordDeliveries([delivery('img-1', 'h1', 'elsewhere.png')]);
    expect((await s.deliveries('img-1', 'h1'))?.path).toBe('a.png');
    await s.recordDeliveries([{ ...first, mtimeNs: MTIME + 9n, sourcePath: null }]);
    expect(await s.deliveries('img-1', 'h1')).toEqual({ ...first, mtimeNs: MTIME + 9n, sourcePath: null });

    // Another content written over a.png on that drive: the old one is no longer there.
    await s.recordDeliveries([delivery('img-1', 'h2', 'a.png'), delivery('img-2', 'h2', 'b.png')]);
    expect(await s.deliveries('img-1', 'h1')).toBeUndefined();
    expect((await s.deliveryAt('img-1', 'a.png'))?.hash).toBe('h2');
    expect((await s.deliveriesOf('h2')).map((d) => [d.driveId, d.path])).toEqual([['img-1', 'a.png'], ['img-2', 'b.png']]);
    expect(await s.deliveriesOf('none')).toEqual([]);
    expect(byDrive(await s.pending(null, 0, 10))).toEqual([['img-2', 'h1', 'a.png']]);
    await s.recordDeliveries([]);
  });

  it('reports the files looked at since a time whose content a drive has, or awaits, under another name', async () => {
    const s = await ready();
    await s.putFiles([file('a.png', 'h1'), file('song.mp3', 'h2', 'audio')], 10n);
    await s.putFiles([file('copy.png', 'h1')], 20n);
    await s.refreshQueue(1n);
    expect(await s.duplicates(10n)).toEqual([
      { path: 'copy.png', driveId: 'img-1', sameAs: 'a.png', queued: true },
      { path: 'copy.png', driveId: 'img-2', sameAs: 'a.png', queued: true },
    ]);
    await s.recordDeliveries([delivery('img-1', 'h1', 'a.png')]);
    expect(await s.duplicates(20n)).toEqual([
      { path: 'copy.png', driveId: 'img-1', sameAs: 'a.png', queued: false },
      { path: 'copy.png', driveId: 'img-2', sameAs: 'a.png', queued: true },
    ]);
    expect(await s.duplicates(21n)).toEqual([]);
    // Once a.png left the source, what the drive has is nobody's: every file of that content is a duplicate of it.
    await s.removeFiles(['a.png']);
    await s.putFiles([file('a.png', 'h1')], 30n);
    expect((await s.duplicates(30n)).filter((d) => d.driveId === 'img-1')).toEqual([{ path: 'a.png', driveId: 'img-1', sameAs: 'a.png', queued: false }]);
  });

  it('counts attempts, drops rows, notes where drives were seen, and sums each drive in stats', async () => {
    const s = await ready();
    await s.putFiles([file('a.png', 'h1', 'images', BIG), file('b.png', 'h2', 'images', 5n), file('song.mp3', 'h3', 'audio', 3n)], 1n);
    await s.refreshQueue(1n);
    await s.recordDeliveries([delivery('img-1', 'h1', 'a.png', { size: BIG })]);
    const row = (await s.queued('img-1', 'h2'))!;
    await s.pendingFailed(row.id, 'the drive is full');
    await s.pendingFailed(row.id, 'still full');
    expect(await s.queued('img-1', 'h2')).toMatchObject({ attempts: 2, lastError: 'still full' });
    await s.driveSeen('img-1', '/media/photos', 2n ** 61n);
    const stats = await s.stats();
    expect(stats.find((d) => d.id === 'img-1')).toEqual({
      id: 'img-1', label: 'Photos', category: 'images', delivered: 1, deliveredBytes: BIG, pending: 1, pendingBytes: 5n, failing: 1,
      lastSeenNs: 2n ** 61n, lastLocation: '/media/photos',
    });
    expect(stats.find((d) => d.id === 'img-2')).toMatchObject({ delivered: 0, deliveredBytes: 0n, pending: 2, pendingBytes: BIG + 5n, failing: 0, lastSeenNs: null, lastLocation: null });
    await s.dropPending(row.id);
    expect(await s.queued('img-1', 'h2')).toBeUndefined();
    expect((await s.stats()).find((d) => d.id === 'img-1')).toMatchObject({ pending: 0, failing: 0 });
  });

  it('clears one drive\'s deliveries and queue, or every drive\'s', async () => {
    const s = await ready();
    await s.putFiles([file('a.png', 'h1'), file('b.png', 'h2'), file('song.mp3', 'h3', 'audio')], 1n);
    await s.refreshQueue(1n);
    await s.recordDeliveries([delivery('img-1', 'h1', 'a.png'), delivery('aud-1', 'h3', 'song.mp3')]);
    expect(await s.clear('img-1')).toEqual({ deliveries: 1, pending: 1 });
    expect(await s.deliveries('img-1', 'h1')).toBeUndefined();
    expect(await s.deliveries('aud-1', 'h3')).toBeDefined();
    expect(await s.clear('nobody')).toEqual({ deliveries: 0, pending: 0 });
    expect(await s.clear(null)).toEqual({ deliveries: 1, pending: 2 });
    expect(await s.pending(null, 0, 10)).toEqual([]);
    expect(await s.refreshQueue(2n)).toBe(5); // what was cleared is queued again
  });

  it('has one writer at a time; a read-only store sees its commits and cannot write', async () => {
    const location = await fresh();
    const writer = await open(location);
    try {
      await writer.bindSource('/src');
      await writer.putFiles([file('a.png', 'h1')], 1n);
      await expect(open(location)).rejects.toMatchObject({ code: 'STORE_LOCKED' });
      const reader = await store(location, { readOnly: true });
      expect(await reader.getFile('a.png')).toMatchObject({ hash: 'h1' });
      expect(await reader.meta('source')).toBe('/src');
      await expect(reader.setMeta('k', 'v')).rejects.toThrow();
      await expect(reader.putFiles([file('b.png', 'h2')], 1n)).rejects.toThrow();
      expect(await reader.getFile('b.png')).toBeUndefined();
    } finally {
      await writer.close();
    }
    const next = await store(location);
    expect((await next.getFile('a.png'))?.hash).toBe('h1');
  });
});

describe('openRouteStore', () => {
  it('opens PostgreSQL for a postgres:// or postgresql:// URL and SQLite for a path, and names the database without its password', async () => {
    const url = await freshPgDatabase();
    const pg = await openRouteStore(url);
    opened.push(pg);
    expect(pg).toBeInstanceOf(PgRouteStore);
    expect(pg.location).not.toContain(':ferry@');
    const pg2 = await openRouteStore(url.replace(/^postgres:/, 'postgresql:'), { readOnly: true });
    opened.push(pg2);
    expect(pg2).toBeInstanceOf(PgRouteStore);
    const path = join(tempDir(), 'route.db');
    expect(storeExists(path)).toBe(false);
    const lite = await openRouteStore(path);
    opened.push(lite);
    expect(lite).toBeInstanceOf(SqliteRouteStore);
    expect(lite.location).toBe(path);
    expect(storeExists(path)).toBe(true);
    expect(storeExists(url)).toBe(true);
  });
});
