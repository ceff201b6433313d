import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { PgIndexStore, SqliteIndexStore, type IndexStore } from '../dist/index.js';
import { freshPgDatabase } from './helpers/postgres.js';
import { tempDir } from './helpers/tree.js';

/** One contract, two engines: every IndexStore method behaves the same on SQLite and PostgreSQL. */
export const INDEX_ENGINES: Array<[string, () => Promise<IndexStore>]> = [
  ['SQLite', async () => SqliteIndexStore.open(join(tempDir(), 'index.db'))],
  ['PostgreSQL', async () => PgIndexStore.open(await freshPgDatabase())],
];

const opened: IndexStore[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

const file = (filePath: string, fileSize = 1, hash: string | null = 'h'): { filePath: string; fileSize: number; modTimeNs: bigint; contentHash: string | null } =>
  ({ filePath, fileSize, modTimeNs: 1_700_000_000_123_456_789n, contentHash: hash });

describe.each(INDEX_ENGINES)('the index Store on %s', (_, make) => {
  const store = async (): Promise<IndexStore> => {
    const s = await make();
    opened.push(s);
    await s.addRoot({ id: 'r', path: '/data/r', device: 2049n, inode: 1234567n });
    return s;
  };

  it('keeps roots with their identity; re-adding re-points; removing drops the records', async () => {
    const s = await store();
    await s.addRoot({ id: 'b', path: '/data/b', device: null, inode: null });
    expect((await s.roots()).map((r) => [r.id, r.path, r.device, r.inode])).toEqual([
      ['b', '/data/b', null, null],
      ['r', '/data/r', 2049n, 1234567n],
    ]);
    await s.addRoot({ id: 'b', path: '/data/b2', device: 1n, inode: 2n });
    expect((await s.root('b'))?.path).toBe('/data/b2');
    await s.putRecords('b', 0, [file('x')], []);
    await s.removeRoot('b');
    expect(await s.root('b')).toBeUndefined();
    expect(await s.countRecords('b')).toBe(0);
  });

  it('puts records in one batch, telling added from updated, and keeps nanosecond mtimes exactly', async () => {
    const s = await store();
    const g = await s.nextGeneration('r');
    expect(g).toBe(1);
    expect(await s.putRecords('r', g, [file('a.jpg', 10), file('b/c.jpg', 20)], [])).toEqual({ added: 2, updated: 0 });
    expect(await s.putRecords('r', g, [file('a.jpg', 11, 'h2'), file('d.jpg')], [])).toEqual({ added: 1, updated: 1 });
    const a = await s.getRecord('r', 'a.jpg');
    expect(a).toMatchObject({ repositoryId: 'r', filePath: 'a.jpg', fileSize: 11, modTimeNs: 1_700_000_000_123_456_789n, contentHash: 'h2', scanGeneration: 1 });
    expect((await s.recordsFor('r', ['a.jpg', 'nope', 'd.jpg'])).size).toBe(2);
    expect(await s.countRecords('r')).toBe(3);
  });

  it('removes orphans by generation: touched records stay, the rest go', async () => {
    const s = await store();
    await s.putRecords('r', await s.nextGeneration('r'), [file('keep'), file('touch'), file('gone')], []);
    const g2 = await s.nextGeneration('r');
    expect(await s.currentGeneration('r')).toBe(g2);
    await s.putRecords('r', g2, [file('keep', 5)], ['touch']);
    expect(await s.removeOrphans('r', g2)).toBe(1);
    expect((await s.listRecords('r')).map((x) => x.filePath)).toEqual(['keep', 'touch']);
  });

  it('removes a path and everything below it, but not a sibling that shares its prefix', async () => {
    const s = await store();
    await s.putRecords('r', 0, [file('a'), file('a/b'), file('a/c/d'), file('ab'), file('a-b')], []);
    expect(await s.removeRecords('r', ['a'])).toBe(3);
    expect((await s.listRecords('r')).map((x) => x.filePath)).toEqual(['a-b', 'ab']);
  });

  it('lists records in byte order, in pages', async () => {
    const s = await store();
    await s.putRecords('r', 0, ['b', 'A', 'a', 'B', 'é', 'a/z'].map((p) => file(p)), []);
    expect((await s.listRecords('r')).map((x) => x.filePath)).toEqual(['A', 'B', 'a', 'a/z', 'b', 'é']);
    expect((await s.listRecords('r', { afterPath: 'a', limit: 2 })).map((x) => x.filePath)).toEqual(['a/z', 'b']);
  });

  it('records operations with their counts, newest first', async () => {
    const s = await store();
    const op = await s.startOperation('r', 'startup');
    expect((await s.operations('r', 5))[0]).toMatchObject({ id: op, operationType: 'startup', status: 'running', endTime: null });
    await s.finishOperation(op, 'completed', { filesScanned: 3, filesAdded: 2, filesUpdated: 1, filesRemoved: 0 });
    const op2 = await s.startOperation('r', 'realtime');
    await s.finishOperation(op2, 'failed', { filesScanned: 1, filesAdded: 0, filesUpdated: 0, filesRemoved: 0 }, 'disk gone');
    const ops = await s.operations('r', 5);
    expect(ops.map((o) => [o.operationType, o.status, o.errorMessage])).toEqual([
      ['realtime', 'failed', 'disk gone'],
      ['startup', 'completed', null],
    ]);
    expect(ops[1]).toMatchObject({ filesScanned: 3, filesAdded: 2, filesUpdated: 1, filesRemoved: 0 });
    expect(ops[1]!.durationMs).toBeGreaterThanOrEqual(0);
    expect(await s.operations('r', 1)).toHaveLength(1);
  });
});

describe('the index Store on PostgreSQL: one writer, and connections that drop', () => {
  it('refuses a second writer, lets a reader in, and the reader cannot write', async () => {
    const url = await freshPgDatabase();
    const writer = await PgIndexStore.open(url);
    opened.push(writer);
    await expect(PgIndexStore.open(url)).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    await writer.addRoot({ id: 'r', path: '/r', device: null, inode: null });
    const reader = await PgIndexStore.open(url, { readOnly: true });
    opened.push(reader);
    expect((await reader.roots()).map((r) => r.id)).toEqual(['r']);
    await expect(reader.removeRoot('r')).rejects.toThrow(/cannot be written: opened read-only/);
  });

  it('a connection the server drops is not a crash: pooled queries reconnect, and writes stop once the lock is lost', async () => {
    const url = await freshPgDatabase();
    const store = await PgIndexStore.open(url);
    opened.push(store);
    await store.addRoot({ id: 'r', path: '/r', device: null, inode: null });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      // As a server restart or an idle timeout would: every other connection to this database goes.
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    } finally {
      await admin.end();
    }
    await expect.poll(async () => store.countRecords('r').then(() => 'ok', (e: Error) => e.message), { timeout: 10_000 }).toBe('ok');
    await expect(store.putRecords('r', 0, [{ filePath: 'a', fileSize: 1, modTimeNs: 1n, contentHash: null }], [])).rejects.toThrow(/cannot be written/);
  });
});

describe.each([
  ['SQLite', async () => join(tempDir(), 'index.db'), (at: string, readOnly: boolean) => Promise.resolve(SqliteIndexStore.open(at, { readOnly }))],
  ['PostgreSQL', async () => freshPgDatabase(), (at: string, readOnly: boolean) => PgIndexStore.open(at, { readOnly })],
] as const)('the index Store on %s: identity, watcher, writer', (_, where, open) => {
  it('keeps a root\'s identity and the pid watching it, and a reader sees whether a writer holds the index', async () => {
    const at = await where();
    const writer = await open(at, false);
    await writer.addRoot({ id: 'r', path: '/data/r', device: 1n, inode: 2n, identity: '{"fs":"a"}' });
    await writer.setRootIdentity('r', '{"fs":"b"}');
    await writer.setWatchedBy('r', 4242);
    const reader = await open(at, true);
    try {
      expect(await reader.root('r')).toMatchObject({ identity: '{"fs":"b"}', watchedBy: 4242 });
      expect(await reader.writerActive()).toBe(true);
      await writer.setWatchedBy('r', null);
      expect((await reader.root('r'))?.watchedBy).toBeNull();
      await writer.close();
      expect(await reader.writerActive()).toBe(false);
    } finally {
      await reader.close();
    }
  });
});
