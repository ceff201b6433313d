import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FerryError, openServerStore, PgServerStore, SqliteServerStore, type RecordWrite, type ServerStore, type UploadSession,
} from '../dist/index.js';
import { freshPgDatabase } from './helpers/postgres.js';
import { tempDir } from './helpers/tree.js';

type Open = (location: string, options?: { lock?: boolean }) => Promise<ServerStore>;

/** One contract, two engines: every ServerStore method behaves the same on SQLite and PostgreSQL. */
const ENGINES: Array<[string, () => Promise<string>, Open]> = [
  ['SQLite', async () => join(tempDir(), 'serve.db'), async (location, options) => SqliteServerStore.open(location, options)],
  ['PostgreSQL', freshPgDatabase, (location, options) => PgServerStore.open(location, options)],
];

const opened: ServerStore[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

const MTIME = 1_700_000_000_123_456_789n;
const sha = (c: string): string => c.repeat(64).slice(0, 64);
const write = (path: string, content = 'a', o: Partial<RecordWrite> = {}): RecordWrite => ({
  path, size: 10n, mtimeNs: MTIME, sha256: sha(content), clientId: 'laptop', ...o,
});
const upload = (id: string, o: Partial<UploadSession> = {}): UploadSession => ({
  id, path: 'big.iso', size: 2n ** 53n + 1n, sha256: null, mtimeNs: MTIME, baseSha256: null, clientId: 'laptop', received: 0n,
  createdMs: 1_000, expiresMs: 5_000, ...o,
});

describe.each(ENGINES)('the server Store on %s', (_, fresh, open) => {
  const store = async (location?: string, options?: { lock?: boolean }): Promise<ServerStore> => {
    const s = await open(location ?? (await fresh()), options);
    opened.push(s);
    return s;
  };

  it('numbers every change by one from 1, with no gap, across CREATE, UPDATE, DELETE and MOVE', async () => {
    const s = await store();
    expect(await s.sequence()).toBe(0);
    const before = Date.now();
    const changes = [
      await s.recordWrite(write('a.txt')),
      await s.recordWrite(write('a.txt', 'b', { size: 11n, clientId: null })),
      await s.recordMove('a.txt', 'b.txt', 'phone'),
      await s.recordDelete('b.txt', 'phone'),
    ];
    expect(changes.map((c) => [c?.seq, c?.op, c?.path, c?.from, c?.clientId])).toEqual([
      [1, 'CREATE', 'a.txt', null, 'laptop'],
      [2, 'UPDATE', 'a.txt', null, null],
      [3, 'MOVE', 'b.txt', 'a.txt', 'phone'],
      [4, 'DELETE', 'b.txt', null, 'phone'],
    ]);
    expect(await s.sequence()).toBe(4);
    expect(await s.changesSince(0, 100)).toEqual(changes);
    for (const c of changes) {
      expect(c!.timeMs).toBeGreaterThanOrEqual(before);
      expect(c!.timeMs).toBeLessThanOrEqual(Date.now());
    }
    expect(changes[3]).toMatchObject({ size: 11n, mtimeNs: MTIME, sha256: sha('b') }); // the content that was deleted
    expect(await s.getFile('b.txt')).toEqual({ path: 'b.txt', size: 11n, mtimeNs: MTIME, sha256: sha('b'), seq: 4, deleted: true, clientId: 'phone' });
  });

  it('records a write over a tombstone as a CREATE, and the row is live again', async () => {
    const s = await store();
    await s.recordWrite(write('a.txt'));
    await s.recordDelete('a.txt', null);
    const again = await s.recordWrite(write('a.txt', 'c', { clientId: 'phone' }));
    expect(again).toMatchObject({ seq: 3, op: 'CREATE', sha256: sha('c') });
    expect(await s.getFile('a.txt')).toMatchObject({ seq: 3, deleted: false, sha256: sha('c'), clientId: 'phone' });
    expect((await s.recordWrite(write('a.txt', 'd')))?.op).toBe('UPDATE');
  });

  it('deletes nothing, and uses no sequence, for a path with no live row', async () => {
    const s = await store();
    expect(await s.recordDelete('missing', 'laptop')).toBeUndefined();
    await s.recordWrite(write('a.txt'));
    await s.recordDelete('a.txt', 'laptop');
    expect(await s.recordDelete('a.txt', 'laptop')).toBeUndefined();
    expect(await s.sequence()).toBe(2);
    expect((await s.recordWrite(write('next'))).seq).toBe(3);
    expect((await s.getFile('a.txt'))?.seq).toBe(2);
  });

  it('moves nothing onto a live row, nor from a path with no live row; onto a tombstone it moves', async () => {
    const s = await store();
    await s.recordWrite(write('a.txt', 'a'));
    await s.recordWrite(write('b.txt', 'b'));
    const rows = await s.listFiles({ deleted: true });
    expect(await s.recordMove('a.txt', 'b.txt', 'phone')).toBeUndefined();
    expect(await s.recordMove('a.txt', 'a.txt', 'phone')).toBeUndefined();
    expect(await s.recordMove('missing', 'c.txt', 'phone')).toBeUndefined();
    expect(await s.listFiles({ deleted: true })).toEqual(rows);
    expect(await s.sequence()).toBe(2);

    await s.recordDelete('b.txt', null);
    expect(await s.recordMove('b.txt', 'c.txt', null)).toBeUndefined(); // b.txt is a tombstone now
    expect(await s.recordMove('a.txt', 'b.txt', 'phone')).toMatchObject({ seq: 4, op: 'MOVE', path: 'b.txt', from: 'a.txt' });
  });

  it('moves the content with the name: size, mtime and hash at the new path, a tombstone of them at the old', async () => {
    const s = await store();
    const big = 2n ** 53n + 3n;
    await s.recordWrite(write('dir/a.bin', 'f', { size: big, mtimeNs: MTIME + 7n }));
    const move = await s.recordMove('dir/a.bin', 'other/a.bin', 'phone');
    expect(move).toMatchObject({ seq: 2, op: 'MOVE', path: 'other/a.bin', from: 'dir/a.bin', size: big, mtimeNs: MTIME + 7n, sha256: sha('f'), clientId: 'phone' });
    expect(await s.getFile('other/a.bin')).toEqual({ path: 'other/a.bin', size: big, mtimeNs: MTIME + 7n, sha256: sha('f'), seq: 2, deleted: false, clientId: 'phone' });
    expect(await s.getFile('dir/a.bin')).toEqual({ path: 'dir/a.bin', size: big, mtimeNs: MTIME + 7n, sha256: sha('f'), seq: 2, deleted: true, clientId: 'phone' });
  });

  it('lists the files in byte order, tombstones only when asked', async () => {
    const s = await store();
    for (const p of ['b.txt', 'a.txt', 'B.txt', 'gone.txt']) await s.recordWrite(write(p));
    await s.recordDelete('gone.txt', null);
    expect((await s.listFiles()).map((f) => f.path)).toEqual(['B.txt', 'a.txt', 'b.txt']);
    expect((await s.listFiles({ deleted: false })).map((f) => f.path)).toEqual(['B.txt', 'a.txt', 'b.txt']);
    const all = await s.listFiles({ deleted: true });
    expect(all.map((f) => [f.path, f.deleted])).toEqual([['B.txt', false], ['a.txt', false], ['b.txt', false], ['gone.txt', true]]);
    expect(await s.getFile('missing')).toBeUndefined();
  });

  it('lists what a directory holds at every depth: not its neighbours, not tombstones, and % or _ in a name are only characters', async () => {
    const s = await store();
    const paths = ['a', 'a/x', 'a/b/y', 'a/gone', 'ab/z', 'a0', 'a.txt', 'a-b/q', 'a%/p', 'a_/u', 'a%b/v', 'aXb/w', 'b/a/x'];
    for (const p of paths) await s.recordWrite(write(p));
    await s.recordDelete('a/gone', null);
    expect((await s.listUnder('a')).map((f) => f.path)).toEqual(['a/b/y', 'a/x']);
    expect((await s.listUnder('a/')).map((f) => f.path)).toEqual(['a/b/y', 'a/x']);
    expect((await s.listUnder('a/b')).map((f) => f.path)).toEqual(['a/b/y']);
    expect((await s.listUnder('a%')).map((f) => f.path)).toEqual(['a%/p']);
    expect((await s.listUnder('a_')).map((f) => f.path)).toEqual(['a_/u']);
    expect((await s.listUnder('a%b')).map((f) => f.path)).toEqual(['a%b/v']);
    expect(await s.listUnder('a/x')).toEqual([]);
    expect(await s.listUnder('nothing')).toEqual([]);
    expect((await s.listUnder('')).map((f) => f.path)).toEqual((await s.listFiles()).map((f) => f.path)); // the root holds everything
  });

  it('hands the change log over in pages: above a sequence, in order, at most a limit', async () => {
    const s = await store();
    for (let i = 0; i < 7; i++) await s.recordWrite(write(`f${i}`));
    expect((await s.changesSince(0, 3)).map((c) => c.seq)).toEqual([1, 2, 3]);
    expect((await s.changesSince(3, 3)).map((c) => c.seq)).toEqual([4, 5, 6]);
    expect((await s.changesSince(6, 3)).map((c) => [c.seq, c.path])).toEqual([[7, 'f6']]);
    expect(await s.changesSince(7, 3)).toEqual([]);
    expect(await s.changesSince(100, 3)).toEqual([]);
  });

  it('keeps 64-bit times and sizes past 2^53 exactly', async () => {
    const s = await store();
    const cases: Array<[string, bigint, bigint]> = [
      ['max', 2n ** 63n - 1n, 2n ** 53n + 1n],
      ['min', -(2n ** 63n), 2n ** 62n + 12_345n],
      ['near', 2n ** 63n - 2n, 2n ** 63n - 1n],
    ];
    for (const [path, mtimeNs, size] of cases) {
      const c = await s.recordWrite(write(path, 'e', { mtimeNs, size }));
      expect(c).toMatchObject({ mtimeNs, size });
      expect(await s.getFile(path)).toMatchObject({ mtimeNs, size });
    }
    expect((await s.changesSince(0, 10)).map((c) => [c.path, c.mtimeNs, c.size])).toEqual(cases);
    expect((await s.listFiles()).map((f) => [f.path, f.mtimeNs, f.size])).toEqual([...cases].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    await s.recordMove('max', 'moved', null);
    expect(await s.getFile('moved')).toMatchObject({ mtimeNs: 2n ** 63n - 1n, size: 2n ** 53n + 1n });
  });

  it('registers clients, updates their name and platform, and notes when each was heard from and what it has seen', async () => {
    const s = await store();
    const before = Date.now();
    const laptop = await s.registerClient({ clientId: 'c-laptop', name: 'Laptop', platform: 'linux' });
    expect(laptop).toMatchObject({ clientId: 'c-laptop', name: 'Laptop', platform: 'linux', lastSeq: 0 });
    expect(laptop.registeredMs).toBeGreaterThanOrEqual(before);
    expect(laptop.lastSeenMs).toBe(laptop.registeredMs);
    await s.registerClient({ clientId: 'b-phone', name: 'Phone', platform: null });
    expect(await s.getClient('c-laptop')).toEqual(laptop);
    expect(await s.getClient('nobody')).toBeUndefined();

    await s.touchClient('c-laptop', 42);
    await new Promise((r) => setTimeout(r, 5));
    const renamed = await s.registerClient({ clientId: 'c-laptop', name: 'Work laptop', platform: 'darwin' });
    expect(renamed).toMatchObject({ clientId: 'c-laptop', name: 'Work laptop', platform: 'darwin', registeredMs: laptop.registeredMs, lastSeq: 42 });
    expect(renamed.lastSeenMs).toBeGreaterThan(laptop.registeredMs);

    await new Promise((r) => setTimeout(r, 5));
    await s.touchClient('c-laptop');
    const touched = (await s.getClient('c-laptop'))!;
    expect(touched.lastSeq).toBe(42); // without lastSeq it keeps the one it had
    expect(touched.lastSeenMs).toBeGreaterThan(renamed.lastSeenMs);
    await s.touchClient('nobody', 3); // unknown: nothing to note
    expect((await s.listClients()).map((c) => [c.clientId, c.name, c.lastSeq])).toEqual([['b-phone', 'Phone', 0], ['c-laptop', 'Work laptop', 42]]);
  });

  it('keeps API keys by their hash; a name is taken once; revoking says whether there was one', async () => {
    const s = await store();
    const before = Date.now();
    await s.addKey('laptop', sha('1'));
    await s.addKey('backup', sha('2'));
    const dup = s.addKey('laptop', sha('3'));
    await expect(dup).rejects.toBeInstanceOf(FerryError);
    await expect(dup).rejects.toMatchObject({ code: 'CONFIG', message: expect.stringContaining('laptop') });
    const keys = await s.listKeys();
    expect(keys.map((k) => [k.name, k.hash])).toEqual([['backup', sha('2')], ['laptop', sha('1')]]);
    for (const k of keys) expect(k.createdMs).toBeGreaterThanOrEqual(before);
    expect(await s.revokeKey('laptop')).toBe(true);
    expect(await s.revokeKey('laptop')).toBe(false);
    expect(await s.revokeKey('never')).toBe(false);
    expect((await s.listKeys()).map((k) => k.name)).toEqual(['backup']);
    await s.addKey('laptop', sha('4')); // the name is free again
    expect((await s.listKeys()).find((k) => k.name === 'laptop')?.hash).toBe(sha('4'));
  });

  it('records conflicts in the order they happened', async () => {
    const s = await store();
    expect(await s.listConflicts()).toEqual([]);
    const first = { path: 'notes.txt', copy: 'notes (conflict laptop 2024-01-02).txt', sha256: sha('a'), clientId: 'laptop', timeMs: 2_000 };
    const second = { path: 'a.txt', copy: 'a (conflict server).txt', sha256: sha('b'), clientId: null, timeMs: 1_000 };
    await s.recordConflict(first);
    await s.recordConflict(second);
    expect(await s.listConflicts()).toEqual([first, second]);
  });

  it('keeps upload sessions: created, read, advanced, removed, and found once expired', async () => {
    const s = await store();
    const a = upload('u-a', { sha256: sha('a'), baseSha256: sha('b'), mtimeNs: 2n ** 63n - 1n });
    const b = upload('u-b', { path: 'x/y.bin', size: 5n, clientId: null, expiresMs: 3_000 });
    await s.createUpload(a);
    await s.createUpload(b);
    expect(await s.getUpload('u-a')).toEqual(a);
    expect(await s.getUpload('u-b')).toEqual(b);
    expect(await s.getUpload('none')).toBeUndefined();

    await s.updateUpload('u-a', 2n ** 53n, 9_000);
    expect(await s.getUpload('u-a')).toEqual({ ...a, received: 2n ** 53n, expiresMs: 9_000 });
    await s.updateUpload('none', 1n, 1); // nothing to advance

    expect(await s.expiredUploads(2_999)).toEqual([]);
    expect((await s.expiredUploads(3_000)).map((u) => u.id)).toEqual(['u-b']); // at its expiry it has expired
    expect((await s.expiredUploads(10_000)).map((u) => u.id)).toEqual(['u-b', 'u-a']);
    await s.deleteUpload('u-b');
    await s.deleteUpload('u-b');
    expect(await s.getUpload('u-b')).toBeUndefined();
    expect(await s.expiredUploads(10_000)).toEqual([{ ...a, received: 2n ** 53n, expiresMs: 9_000 }]);
  });

  it('gives concurrent writes distinct consecutive sequences, and one path written at once by many is created once', async () => {
    const s = await store();
    const changes = await Promise.all(Array.from({ length: 50 }, (_, i) => s.recordWrite(write(`f${i}`))));
    expect(changes.map((c) => c.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(changes.every((c) => c.op === 'CREATE')).toBe(true);

    const same = await Promise.all(Array.from({ length: 20 }, (_, i) => s.recordWrite(write('same.txt', String(i % 10)))));
    expect(same.filter((c) => c.op === 'CREATE')).toHaveLength(1);
    expect(same.map((c) => c.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 51));
    const mixed = await Promise.all([
      s.recordDelete('f0', null), s.recordMove('f1', 'g1', null), s.recordWrite(write('f2', 'z')), s.recordDelete('f0', null),
    ]);
    expect(mixed.filter((c) => c === undefined)).toHaveLength(1); // f0 is deleted once
    expect(await s.sequence()).toBe(73);
    const log = await s.changesSince(0, 1000);
    expect(log.map((c) => c.seq)).toEqual(Array.from({ length: 73 }, (_, i) => i + 1));
    expect((await s.getFile('same.txt'))?.seq).toBe(Math.max(...same.map((c) => c.seq)));
  });

  it('keeps everything across a close and a reopen', async () => {
    const location = await fresh();
    const first = await open(location);
    await first.recordWrite(write('a.txt'));
    await first.recordMove('a.txt', 'b.txt', 'laptop');
    await first.registerClient({ clientId: 'c1', name: 'Laptop', platform: 'linux' });
    await first.touchClient('c1', 2);
    await first.addKey('k', sha('1'));
    await first.recordConflict({ path: 'b.txt', copy: 'b (conflict).txt', sha256: sha('a'), clientId: 'c1', timeMs: 1 });
    await first.createUpload(upload('u1'));
    await first.close();

    const again = await store(location);
    expect(await again.sequence()).toBe(2);
    expect((await again.listFiles({ deleted: true })).map((f) => [f.path, f.deleted])).toEqual([['a.txt', true], ['b.txt', false]]);
    expect((await again.changesSince(0, 10)).map((c) => c.op)).toEqual(['CREATE', 'MOVE']);
    expect(await again.getClient('c1')).toMatchObject({ name: 'Laptop', lastSeq: 2 });
    expect((await again.listKeys()).map((k) => k.name)).toEqual(['k']);
    expect(await again.listConflicts()).toHaveLength(1);
    expect(await again.getUpload('u1')).toEqual(upload('u1'));
    expect((await again.recordWrite(write('c.txt'))).seq).toBe(3);
  });

  it('has one locked writer; an open without the lock works beside it, and each sees what the other wrote', async () => {
    const location = await fresh();
    const server = await store(location);
    await expect(open(location)).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    await expect(open(location, { lock: true })).rejects.toMatchObject({ code: 'STORE_LOCKED' });

    await server.addKey('first', sha('1'));
    const keys = await store(location, { lock: false });
    expect((await keys.listKeys()).map((k) => k.name)).toEqual(['first']);
    await keys.addKey('second', sha('2'));
    await expect(keys.addKey('first', sha('3'))).rejects.toMatchObject({ code: 'CONFIG' });
    expect((await server.listKeys()).map((k) => k.name)).toEqual(['first', 'second']);
    expect(await keys.revokeKey('first')).toBe(true);
    expect((await server.listKeys()).map((k) => k.name)).toEqual(['second']);

    // Changes from both take one sequence between them.
    await server.recordWrite(write('a.txt'));
    expect((await keys.recordWrite(write('b.txt'))).seq).toBe(2);
    expect((await server.recordWrite(write('c.txt'))).seq).toBe(3);
    const second = await store(location, { lock: false });
    expect(await second.sequence()).toBe(3);
  });

  it('can be opened without the lock before the server ever ran, and the server opens it after', async () => {
    const location = await fresh();
    const keys = await open(location, { lock: false });
    await keys.addKey('first', sha('1'));
    await keys.close();
    const server = await store(location);
    expect((await server.listKeys()).map((k) => k.name)).toEqual(['first']);
    expect(await server.sequence()).toBe(0);
  });
});

describe('the server Store on SQLite, refusing what is not its own', () => {
  it('refuses a database with tables of its own, with or without the lock', async () => {
    const path = join(tempDir(), 'other.db');
    const db = new Database(path);
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY)');
    db.close();
    expect(() => SqliteServerStore.open(path)).toThrow(expect.objectContaining({ code: 'CONFIG', message: expect.stringContaining('not a ferry database') }));
    expect(() => SqliteServerStore.open(path, { lock: false })).toThrow(expect.objectContaining({ code: 'CONFIG', message: expect.stringContaining('not a ferry database') }));
    const check = new Database(path, { readonly: true });
    expect(check.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all()).toEqual(['notes']);
    check.close();
  });
});

describe('openServerStore', () => {
  it('opens PostgreSQL for a postgres:// or postgresql:// URL and SQLite for a path, and names the database without its password', async () => {
    const url = await freshPgDatabase();
    const pg = await openServerStore(url);
    opened.push(pg);
    expect(pg).toBeInstanceOf(PgServerStore);
    expect(pg.location).not.toContain(':ferry@');
    const pg2 = await openServerStore(url.replace(/^postgres:/, 'postgresql:'), { lock: false });
    opened.push(pg2);
    expect(pg2).toBeInstanceOf(PgServerStore);
    const path = join(tempDir(), 'serve.db');
    const lite = await openServerStore(path);
    opened.push(lite);
    expect(lite).toBeInstanceOf(SqliteServerStore);
    expect(lite.location).toBe(path);
    await expect(openServerStore(path)).rejects.toMatchObject({ code: 'STORE_LOCKED' });
  });
});
