import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../dist/index.js';
import { events, finished, runCli, startCli } from './helpers/cli.js';
import { listAll, readTree, tempDir, tempTree } from './helpers/tree.js';

describe('writes never leave the destination', () => {
  it('replaces a destination symlink where the source has a directory, and leaves its target alone', async () => {
    const elsewhere = tempTree({ 'f.txt': 'precious, not ferry’s to touch' });
    const src = tempTree({ 'd/f.txt': 'new content', 'd/g.txt': 'g' });
    const work = tempDir();
    const dst = join(work, 'dst');
    mkdirSync(dst);
    symlinkSync(elsewhere, join(dst, 'd'));
    const r = await runCli(['copy', src, dst, '--db', join(work, 'db')]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(elsewhere, 'f.txt'), 'utf8')).toBe('precious, not ferry’s to touch');
    expect(listAll(elsewhere)).toEqual(['f.txt']);
    expect(lstatSync(join(dst, 'd')).isDirectory()).toBe(true);
    expect(readTree(dst)).toEqual(readTree(src));
  });
});

describe('what the scan cannot see is reported, never silently skipped', () => {
  it.each([
    ['with the native helper', {}],
    ['without it', { FERRY_NO_NATIVE: '1' }],
  ])('a name that is not valid UTF-8 is a scan error: exit 1 with a sentence that says why (%s)', async (_, env) => {
    const src = tempTree({ 'ok.txt': 'ok' });
    writeFileSync(Buffer.concat([Buffer.from(`${src}/caf`), Buffer.from([0xe9]), Buffer.from('.txt')]), 'latin-1 name');
    const work = tempDir();
    const r = await runCli(['copy', src, join(work, 'dst'), '--db', join(work, 'db'), '--json'], env);
    expect(r.code).toBe(1);
    const error = events(r.stdout).find((e) => e.type === 'scan.error');
    expect(error?.message).toMatch(/not valid UTF-8/);
    expect(events(r.stdout).find((e) => e.type === 'run.end')?.status).toBe('failed');
  });

  // ferry walks below the root one directory at a time, so even a path past PATH_MAX is read: a
  // directory it cannot read is one its user may not read (ferry runs as nobody here).
  it.skipIf(process.getuid?.() !== 0)('a directory the scan cannot read makes the run exit 1 even without --delete-extras', async () => {
    const src = tempTree({ 'ok.txt': 'ok', 'closed/x.txt': 'x' });
    chmodSync(src, 0o755);
    chmodSync(join(src, 'ok.txt'), 0o644);
    chmodSync(join(src, 'closed'), 0o700);
    const work = tempDir();
    chmodSync(work, 0o777);
    const r = await finished(startCli(['copy', src, join(work, 'dst'), '--db', join(work, 'db')], { HOME: work }, { uid: 65534 }));
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/the scan could not read \d+ path\(s\) of the source/);
  });
});

describe('resume is chosen only when it is safe', () => {
  it('after a scan that did not finish, the next run scans again instead of trusting the backlog', async () => {
    const src = tempTree({ 'a.txt': 'version one', 'b.txt': 'b' });
    const work = tempDir();
    const dst = join(work, 'dst');
    const db = join(work, 'db');
    const args = ['copy', src, dst, '--db', db, '--json'];
    expect((await runCli(args)).code).toBe(0);
    writeFileSync(join(src, 'a.txt'), 'version two, longer');
    writeFileSync(join(src, 'c.txt'), 'new');
    // The state a crash in the middle of a scan leaves: one row pending, the scan not complete, the
    // run never ended. (Timing a real kill -9 inside a 2 ms scan is not reliable.)
    const d = new Database(db);
    d.exec(`UPDATE files SET status = 'pending' WHERE rel = 'b.txt'; UPDATE job SET last_scan_complete = 0;
            INSERT INTO runs (started, mode) VALUES (0, 'scan');`);
    d.close();
    const r = await runCli(args);
    expect(events(r.stdout).find((e) => e.type === 'run.start')?.mode).toBe('scan');
    expect(r.code).toBe(0);
    expect(readTree(dst)).toEqual(readTree(src));
  });
});

describe('times outside 1677–2262 (64-bit nanoseconds)', () => {
  it('copies a file dated 2300 and one dated 1601, and skips them on the next run', async () => {
    const src = tempTree({ 'future.txt': 'f', 'windows-epoch.txt': 'w' });
    execFileSync('touch', ['-m', '-d', '2300-01-01 00:00:00', join(src, 'future.txt')]);
    execFileSync('touch', ['-m', '-d', '1601-01-01 00:00:00', join(src, 'windows-epoch.txt')]);
    const work = tempDir();
    const dst = join(work, 'dst');
    const args = ['copy', src, dst, '--db', join(work, 'db'), '--json'];
    const first = await runCli(args);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(lstatSync(join(dst, 'future.txt')).mtimeMs).toBe(lstatSync(join(src, 'future.txt')).mtimeMs);
    const again = await runCli(args);
    expect(events(again.stdout).find((e) => e.type === 'plan.done')?.pending).toBe(0);
  });
});

describe('case-insensitive destinations (SMB, exFAT): names match ignoring case', () => {
  it('the skip rule and the mirror see "Report.txt" and "report.txt" as one file', async () => {
    const store = SqliteStore.open(join(tempDir(), 'db'));
    try {
      await store.bindJob('/src', '/dst');
      const gen = await store.beginScan();
      const entry = { kind: 'file' as const, size: 3n, mtimeNs: 5n, atimeNs: 5n, ctimeNs: 5n, birthtimeNs: 0n, mode: 0o100644, uid: 0, gid: 0 };
      await store.putSourceEntries(gen, [{ ...entry, rel: 'Report.txt' }]);
      await store.putDestEntries(gen, [{ ...entry, rel: 'report.txt' }, { ...entry, rel: 'really-extra.txt' }]);
      const plan = await store.finishScan(gen, { windowNs: 1n, errors: 0, caseInsensitive: true, unchanged: { source: false, destination: false } });
      expect(plan.pending).toBe(0);
      expect((await store.extras(null, 10, true)).map((e) => e.rel)).toEqual(['really-extra.txt']);
      // The same listing on a case-sensitive destination: two different files.
      expect((await store.extras(null, 10, false)).map((e) => e.rel).sort()).toEqual(['really-extra.txt', 'report.txt']);
    } finally {
      await store.close();
    }
  });

  it('the probe tells a case-sensitive destination from what it is (ext4 here)', async () => {
    const src = tempTree({ 'a.txt': 'a' });
    const work = tempDir();
    const db = join(work, 'db');
    expect((await runCli(['copy', src, join(work, 'dst'), '--db', db])).code).toBe(0);
    const d = new Database(db, { readonly: true });
    const row = d.prepare('SELECT dest_case_sensitive AS cs, dest_precision_ns AS p FROM job').get() as { cs: number; p: number };
    d.close();
    expect(row).toEqual({ cs: 1, p: 1 });
    expect(existsSync(join(work, 'dst', 'a.txt'))).toBe(true);
  });
});

describe('temp names never shared', () => {
  it('two files whose derived temp names collide get different temp files while both are written', async () => {
    // "d/n40598" and "d/n147155" share the 32-bit path tag d93aa58a (found by a birthday search).
    const { LocalTarget } = await import('../dist/index.js');
    const root = tempDir();
    const target = new LocalTarget(root, 'a job');
    const a = await target.openWrite('d/n40598');
    const b = await target.openWrite('d/n147155');
    await a.write(Buffer.from('content of A'), 0);
    await b.write(Buffer.from('content of B, longer'), 0);
    const temps = listAll(join(root, 'd')).filter((n) => n.startsWith('.ferry-tmp-'));
    expect(temps).toHaveLength(2);
    const times = { atimeNs: 1_000_000_000n, mtimeNs: 1_000_000_000n };
    await a.commit(times);
    await b.commit(times);
    expect(readFileSync(join(root, 'd/n40598'), 'utf8')).toBe('content of A');
    expect(readFileSync(join(root, 'd/n147155'), 'utf8')).toBe('content of B, longer');
    // The same through the small-file path, both at once.
    if (target.writeWhole) {
      await Promise.all([
        target.writeWhole('e/n40598', Buffer.from('whole A'), times),
        target.writeWhole('e/n147155', Buffer.from('whole B'), times),
      ]);
      expect(readFileSync(join(root, 'e/n40598'), 'utf8')).toBe('whole A');
      expect(readFileSync(join(root, 'e/n147155'), 'utf8')).toBe('whole B');
    }
    expect(listAll(root).filter((n) => n.includes('.ferry-tmp-'))).toEqual([]);
  });
});
