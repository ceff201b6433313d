import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PgStore, SqliteStore, type FileEntry, type Store } from '../dist/index.js';
import { freshPgDatabase } from './helpers/postgres.js';
import { tempDir } from './helpers/tree.js';

/** One contract, two engines: the copy Store behaves the same on SQLite and PostgreSQL. */
const ENGINES: Array<[string, () => Promise<Store>]> = [
  ['SQLite', async () => SqliteStore.open(join(tempDir(), 'job.db'))],
  ['PostgreSQL', async () => PgStore.open(await freshPgDatabase())],
];

const opened: Store[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

const entry = (rel: string, kind: FileEntry['kind'] = 'file', size = 3n, mtimeNs = 1_700_000_000_123_456_789n): FileEntry => ({
  rel, kind, size, mtimeNs, atimeNs: mtimeNs, ctimeNs: mtimeNs, birthtimeNs: 0n, mode: 0o100644, uid: 0, gid: 0,
});
const unchanged = { source: false, destination: false };

describe.each(ENGINES)('the copy Store on %s', (_, make) => {
  const store = async (): Promise<Store> => {
    const s = await make();
    opened.push(s);
    await s.bindJob('/src', '/dst');
    return s;
  };

  it('binds one SOURCE → DESTINATION pair and refuses another', async () => {
    const s = await store();
    const again = await s.bindJob('/src', '/dst');
    expect(again).toMatchObject({ sourceRoot: '/src', lastScanComplete: false, hasRuns: false, destPrecisionNs: null });
    await expect(s.bindJob('/other', '/dst')).rejects.toMatchObject({ code: 'JOB_MISMATCH' });
    await s.saveJobFacts({ destPrecisionNs: 1000n, destCaseSensitive: false, sourceDevice: 2n ** 62n + 5n, sourceInode: 42n });
    expect(await s.bindJob('/src', '/dst')).toMatchObject({
      destPrecisionNs: 1000n, destCaseSensitive: false, sourceDevice: 2n ** 62n + 5n, sourceInode: 42n,
    });
  });

  it('plans a scan: what the destination has within the window is synced, the rest pending; hashes survive unchanged rescans', async () => {
    const s = await store();
    const g = await s.beginScan();
    await s.putSourceEntries(g, [entry('a'), entry('d', 'dir', 0n), entry('d/b', 'file', 5n), entry('far-future', 'file', 1n, 2n ** 64n)]);
    await s.putDestEntries(g, [entry('a', 'file', 3n, 1_700_000_000_123_456_000n), entry('d', 'dir', 0n), entry('extra')]);
    const plan = await s.finishScan(g, { windowNs: 1000n, errors: 0, caseInsensitive: false, unchanged });
    expect(plan).toEqual({ files: 4, pending: 2, pendingBytes: 6n, synced: 2 });
    expect(await s.backlog()).toEqual({ files: 2, bytes: 6n });
    const pending = await s.pendingAfter(0, 10);
    expect(pending.map((r) => [r.rel, r.status, r.size])).toEqual([['d/b', 'pending', 5n], ['far-future', 'pending', 1n]]);
    expect(pending[1]!.modifiedNs).toBe(2n ** 63n - 1n); // past 2262: clamped, not lost
    await s.markSynced([{ sourcePath: '/src/d/b', hash: 'abc', algorithm: 'sha256', size: 5n, modifiedNs: 1_700_000_000_123_456_789n }]);
    expect(await s.syncedTotals()).toEqual({ files: 2, bytes: 8n }); // a, synced by the plan, and d/b
    expect((await s.pendingAfter(0, 10)).map((r) => r.rel)).toEqual(['far-future']);
    const g2 = await s.beginScan();
    await s.putSourceEntries(g2, [entry('a'), entry('d', 'dir', 0n), entry('d/b', 'file', 5n)]);
    await s.putDestEntries(g2, [entry('a', 'file', 3n, 1_700_000_000_123_456_000n), entry('d', 'dir', 0n), entry('d/b', 'file', 5n)]);
    expect(await s.finishScan(g2, { windowNs: 1000n, errors: 0, caseInsensitive: false, unchanged })).toMatchObject({ files: 3, pending: 0 });
    expect((await s.directories(null, 10)).map((r) => r.rel)).toEqual(['d']);
  });

  it('lists extras deepest first, matching names ignoring case when told to', async () => {
    const s = await store();
    const g = await s.beginScan();
    await s.putSourceEntries(g, [entry('Report.txt')]);
    await s.putDestEntries(g, [entry('report.txt'), entry('x', 'dir', 0n), entry('x/y'), entry('x/y/z')]);
    await s.finishScan(g, { windowNs: 1n, errors: 0, caseInsensitive: true, unchanged });
    expect((await s.extras(null, 10, true)).map((e) => e.rel)).toEqual(['x/y/z', 'x/y', 'x']);
    expect((await s.extras(null, 10, false)).map((e) => e.rel)).toEqual(['x/y/z', 'x/y', 'x', 'report.txt']);
    expect((await s.extras('x/y', 10, true)).map((e) => e.rel)).toEqual(['x']);
    await s.dropDestEntry('x/y/z');
    expect((await s.extras(null, 10, true)).map((e) => e.rel)).toEqual(['x/y', 'x']);
  });

  it('requeues, fails and forgets rows; a failed row is retried by the next plan', async () => {
    const s = await store();
    const g = await s.beginScan();
    await s.putSourceEntries(g, [entry('a'), entry('b'), entry('c')]);
    await s.finishScan(g, { windowNs: 1n, errors: 0, caseInsensitive: false, unchanged });
    await s.markFailed('/src/a', 'EACCES');
    await s.requeue('/src/b', entry('b', 'file', 9n));
    await s.forget('/src/c');
    const rows = await s.pendingAfter(0, 10);
    expect(rows.map((r) => [r.rel, r.size, r.attempts])).toEqual([['b', 9n, 1]]);
    const g2 = await s.beginScan();
    await s.putSourceEntries(g2, [entry('a'), entry('b', 'file', 9n)]);
    await s.finishScan(g2, { windowNs: 1n, errors: 0, caseInsensitive: false, unchanged });
    expect((await s.pendingAfter(0, 10)).map((r) => [r.rel, r.status, r.error])).toEqual([['a', 'pending', null], ['b', 'pending', null]]);
  });

  it('keeps the rows of a directory whose digest a finished scan recorded, and only then', async () => {
    const s = await store();
    const g = await s.beginScan();
    await s.putSourceEntries(g, [entry('d', 'dir', 0n), entry('d/a'), entry('d/b')]);
    await s.putDirDigests('source', g, [['', 'root-digest'], ['d/', 'd-digest']], []);
    expect((await s.dirDigests('source')).size).toBe(0); // not vouched for until the plan commits
    await s.finishScan(g, { windowNs: 1n, errors: 0, caseInsensitive: false, unchanged });
    expect(await s.dirDigests('source')).toEqual(new Map([['', 'root-digest'], ['d/', 'd-digest']]));
    const g2 = await s.beginScan();
    await s.putSourceEntries(g2, [entry('d', 'dir', 0n)]); // the root listed again; d kept without its entries
    await s.putDirDigests('source', g2, [['', 'root-digest']], ['d/']);
    await s.finishScan(g2, { windowNs: 1n, errors: 0, caseInsensitive: false, unchanged });
    expect((await s.pendingAfter(0, 10)).map((r) => r.rel).sort()).toEqual(['d', 'd/a', 'd/b']);
    await s.forget('/src/d/a'); // a row changed outside a scan: its directory is no longer vouched for
    expect((await s.dirDigests('source')).has('d/')).toBe(false);
  });

  it('records runs', async () => {
    const s = await store();
    const id = await s.startRun('scan');
    await s.finishRun(id, 'done', { filesCopied: 1, bytesCopied: 3, filesFailed: 0, filesDeleted: 0, filesSkippedChanged: 0, pendingLeft: 0, elapsedMs: 5 } as never);
    expect(await s.bindJob('/src', '/dst')).toMatchObject({ lastRunStatus: 'done', hasRuns: true });
  });
});
