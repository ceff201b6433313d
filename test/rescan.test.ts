import { rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copy, COPY_DEFAULTS, SqliteStore, type FerryEvent } from '../dist/index.js';
import { events, runCli } from './helpers/cli.js';
import { dbRows, statusCounts } from './helpers/db.js';
import { listAll, readTree, tempDir, tempTree } from './helpers/tree.js';

/**
 * A rescan lists every directory but keeps the rows of a directory whose listing digest is the
 * last scan's: these tests change one thing at a time, deep in an otherwise unchanged tree, and
 * check that the run sees exactly that change.
 */
function job(): { src: string; dst: string; db: string; args: string[] } {
  const spec: Record<string, string> = {};
  for (let d = 0; d < 3; d++) for (let f = 0; f < 4; f++) spec[`d${d}/sub/f${f}.txt`] = `file ${d}/${f}`;
  spec['top.txt'] = 'top';
  const src = tempTree(spec);
  const work = tempDir();
  const dst = join(work, 'dst');
  const db = join(work, 'job.db');
  return { src, dst, db, args: ['copy', src, dst, '--db', db, '--json'] };
}

/** Copies, then runs once more so both trees' listings are recorded as the copy left them. */
async function settled(j: ReturnType<typeof job>): Promise<void> {
  expect((await runCli(j.args)).code).toBe(0);
  expect((await runCli(j.args)).code).toBe(0);
}

const generations = (db: string): Map<string, unknown> =>
  new Map(dbRows(db, 'SELECT rel, scan_generation FROM files').map((r) => [String(r.rel), r.scan_generation]));
const plan = (stdout: string): Record<string, unknown> => events(stdout).find((e) => e.type === 'plan.done')!;

describe('a rescan of an unchanged tree', () => {
  it('lists everything but rewrites no row, and finds nothing to do', async () => {
    const j = job();
    await settled(j);
    const before = generations(j.db);
    const r = await runCli(j.args);
    expect(r.code).toBe(0);
    expect(plan(r.stdout)).toMatchObject({ pending: 0, files: 19 });
    const scanned = events(r.stdout).filter((e) => e.type === 'scan.progress' && e.done);
    expect(scanned.map((e) => [e.side, e.files])).toEqual(expect.arrayContaining([['source', 13], ['destination', 13]]));
    expect(generations(j.db)).toEqual(before);
  });
});

describe('a rescan sees one change deep in an unchanged tree', () => {
  it('a file rewritten in place: copied again', async () => {
    const j = job();
    await settled(j);
    writeFileSync(join(j.src, 'd2/sub/f3.txt'), 'changed, and longer than before');
    const r = await runCli(j.args);
    expect(r.code).toBe(0);
    expect(plan(r.stdout).pending).toBe(1);
    expect(readTree(j.dst)).toEqual(readTree(j.src));
  });

  it('a file deleted from the source: its row goes, and --delete-extras removes the copy', async () => {
    const j = job();
    await settled(j);
    unlinkSync(join(j.src, 'd0/sub/f1.txt'));
    const r = await runCli([...j.args, '--delete-extras']);
    expect(r.code).toBe(0);
    expect(dbRows(j.db).map((x) => x.rel)).not.toContain('d0/sub/f1.txt');
    expect(readTree(j.dst)).toEqual(readTree(j.src));
  });

  it('a whole directory deleted from the source: all its rows go', async () => {
    const j = job();
    await settled(j);
    rmSync(join(j.src, 'd1'), { recursive: true });
    const r = await runCli(j.args);
    expect(r.code).toBe(0);
    expect(dbRows(j.db).map((x) => String(x.rel)).filter((rel) => rel.startsWith('d1'))).toEqual([]);
    expect(statusCounts(j.db)).toEqual({ synced: 13 });
  });

  it('a copy deleted from the destination: copied again', async () => {
    const j = job();
    await settled(j);
    unlinkSync(join(j.dst, 'd2/sub/f0.txt'));
    const r = await runCli(j.args);
    expect(plan(r.stdout).pending).toBe(1);
    expect(readTree(j.dst)).toEqual(readTree(j.src));
  });

  it('a file added to the destination: an extra that --delete-extras removes', async () => {
    const j = job();
    await settled(j);
    writeFileSync(join(j.dst, 'd0/sub/stray.txt'), 'not in the source');
    const r = await runCli([...j.args, '--delete-extras']);
    expect(r.code).toBe(0);
    expect(listAll(j.dst)).not.toContain('d0/sub/stray.txt');
  });

  it('a directory holding a temp file is read whole on every scan, so the temp goes once it is stale', async () => {
    const j = job();
    await settled(j);
    const temp = join(j.dst, 'd1/sub/.ferry-tmp-00000000aaaaaaaa');
    writeFileSync(temp, 'another job may be writing this');
    await runCli(j.args); // fresh: another job may own it, so it stays
    expect(listAll(j.dst)).toContain('d1/sub/.ferry-tmp-00000000aaaaaaaa');
    const before = generations(j.db);
    await runCli(j.args);
    const after = generations(j.db);
    // The source side is unchanged and kept; what matters is the destination's: its listing is not kept.
    expect(after).toEqual(before);
    const d = dbRows(j.db, "SELECT count(*) AS n FROM scan_dirs WHERE side = 'destination' AND dir = 'd1/sub/'")[0]!;
    expect(Number(d.n)).toBe(0); // never recorded, so never kept
    utimesSync(temp, new Date(), new Date(Date.now() - 2 * 3600_000));
    expect((await runCli(j.args)).code).toBe(0);
    expect(listAll(j.dst)).not.toContain('d1/sub/.ferry-tmp-00000000aaaaaaaa');
  });
});

/** Runs a copy through the library and stops it when both scans are done, before the plan commits. */
async function interruptedScan(j: ReturnType<typeof job>): Promise<void> {
  const stop = new AbortController();
  const done = new Set<string>();
  const listen = (e: FerryEvent): void => {
    if (e.type === 'scan.progress' && e.done) done.add(e.side);
    if (done.size === 2) stop.abort(new Error('stopped by the test'));
  };
  const options = { ...COPY_DEFAULTS, source: j.src, destination: j.dst, db: j.db, checksum: null, deleteExtras: false, rescan: false, dryRun: false };
  await copy(options, listen, stop.signal);
}

describe('what a scan recorded counts only once its plan is committed', () => {
  it('a scan stopped before its plan: the next one still sees a copy deleted from the destination', async () => {
    const j = job();
    await settled(j);
    unlinkSync(join(j.dst, 'd1/sub/f2.txt'));
    await interruptedScan(j);
    const r = await runCli(j.args);
    expect(r.code).toBe(0);
    expect(plan(r.stdout).pending).toBe(1);
    expect(readTree(j.dst)).toEqual(readTree(j.src));
  });

  it('a scan stopped before its plan: the next one still drops a file deleted from the source', async () => {
    const j = job();
    await settled(j);
    unlinkSync(join(j.src, 'd2/sub/f0.txt'));
    await interruptedScan(j);
    const r = await runCli([...j.args, '--delete-extras']);
    expect(r.code).toBe(0);
    expect(readTree(j.dst)).toEqual(readTree(j.src));
    expect(dbRows(j.db).map((x) => x.rel)).not.toContain('d2/sub/f0.txt');
  });

  it('a row forgotten outside a scan (the file vanished during a copy) comes back when the file does', async () => {
    const j = job();
    await settled(j);
    // What the transfer does when a file it is about to read has gone: the row is forgotten. The
    // directory then comes back exactly as it was (a share that dropped for a moment).
    const store = SqliteStore.open(j.db);
    try {
      await store.bindJob(j.src, j.dst);
      await store.forget(join(j.src, 'd0/sub/f3.txt'));
    } finally {
      await store.close();
    }
    const r = await runCli(j.args);
    expect(r.code).toBe(0);
    expect(dbRows(j.db).map((x) => x.rel)).toContain('d0/sub/f3.txt');
    expect(statusCounts(j.db)).toEqual({ synced: 19 });
  });
});
