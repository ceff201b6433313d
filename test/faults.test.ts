import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { events, finished, runCli, startCli, waitForEvent } from './helpers/cli.js';
import { dbRows, statusCounts } from './helpers/db.js';
import { canMount, NO_MOUNT_REASON, remount, tmpfs } from './helpers/mounts.js';
import { listAll, randomBytes, readTree, tempDir, tempTree } from './helpers/tree.js';

/** A small mixed tree (about 8 MiB): empty files, 1–64 KiB files, and a few of 0.5–2 MiB, nested. */
function mixedTree(files = 40): string {
  const spec: Record<string, Buffer> = {};
  for (let i = 0; i < files; i++) {
    const size = i % 7 === 0 ? 0 : i % 8 === 1 ? (512 + ((i * 97) % 1536)) * 1024 : 1024 * (1 + ((i * 37) % 64));
    spec[`d${i % 4}/e${i % 3}/f${i}.bin`] = randomBytes(size, i + 1);
  }
  return tempTree(spec);
}

/** Every file under a final name in `dst` equals the source's: nothing partial is ever visible. */
function onlyWholeFiles(src: string, dst: string): void {
  const source = readTree(src);
  for (const [rel, data] of readTree(dst)) {
    if (/\.ferry-tmp-/.test(rel)) continue;
    expect(data, `${rel} under its final name is not whole`).toBe(source.get(rel));
  }
}

describe('kill -9 at random moments', () => {
  it('20 kills at different points: nothing partial under a final name, and the last resume ends identical', { timeout: 180_000 }, async () => {
    const src = mixedTree();
    const work = tempDir();
    const dst = join(work, 'dst');
    const db = join(work, 'db');
    const args = ['copy', src, dst, '--db', db, '--block-size', '256K', '--json'];
    // A fixed sequence of "after k files" moments (a seeded choice, so a failure can be replayed):
    // k = 0 kills during the scan or just after it.
    let seed = 7;
    const moments = Array.from({ length: 20 }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % 6));
    for (const [i, moment] of moments.entries()) {
      let k = moment;
      // Every other run is rate-limited (files stream block by block); the others take the
      // small-file path (whole files through the I/O pool, one syncfs per batch).
      const child = startCli(i % 2 === 0 ? [...args, '--bwlimit', '16M'] : args);
      if (k === 0) await waitForEvent(child, 'run.start').catch(() => undefined);
      else await waitForEvent(child, 'file.done', () => --k <= 0).catch(() => undefined);
      child.kill('SIGKILL');
      await finished(child);
      onlyWholeFiles(src, dst);
    }
    const last = await runCli(args);
    expect(last.code).toBe(0);
    expect(readTree(dst)).toEqual(readTree(src));
    expect(listAll(dst).filter((p) => p.includes('.ferry-tmp-'))).toEqual([]);
    expect(Object.keys(statusCounts(db))).toEqual(['synced']);
  });
});

describe('a destination that fills up', () => {
  it.skipIf(!canMount)('stops with a clear error and exit 1, leaves the rest pending, and completes once there is room', async () => {
    const src = tempTree({ 'a.bin': randomBytes(1500 * 1024, 1), 'b.bin': randomBytes(1500 * 1024, 2), 'c.bin': randomBytes(1500 * 1024, 3), 'small.txt': 's' });
    const dst = tmpfs(2048);
    const work = tempDir();
    const db = join(work, 'db');
    const args = ['copy', src, dst, '--db', db, '--log', join(work, 'audit.log')];
    const r = await runCli(args);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/the destination .* is full; the files that did not fit stay pending/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    onlyWholeFiles(src, dst);
    expect(listAll(dst).filter((p) => p.includes('.ferry-tmp-'))).toEqual([]);
    expect(statusCounts(db).pending).toBeGreaterThan(0);
    remount(dst, 'size=8m');
    const again = await runCli(args);
    expect(again.code).toBe(0);
    expect(readTree(dst)).toEqual(readTree(src));
  });
  if (!canMount) it.skip(NO_MOUNT_REASON, () => undefined);
});

describe('a destination made read-only in the middle of a run', () => {
  // A read-only remount is refused while files are open for writing, so the destination is made
  // read-only the way a share's permissions change under a user: ferry runs as nobody, and the
  // destination directory loses its write permission after the first file.
  it.skipIf(process.getuid?.() !== 0)('records each file that could not be written, goes on, and exits 1', async () => {
    const spec: Record<string, Buffer> = {};
    for (let i = 0; i < 8; i++) spec[`f${i}.bin`] = randomBytes(256 * 1024, i);
    const src = tempTree(spec);
    chmodSync(src, 0o755); // mkdtemp makes 0700 directories; nobody must be able to read the source
    const work = tempDir();
    chmodSync(work, 0o777);
    const dst = join(work, 'dst');
    mkdirSync(dst);
    chmodSync(dst, 0o777);
    const log = join(work, 'audit.log');
    const child = startCli(['copy', src, dst, '--db', join(work, 'db'), '--log', log, '--bwlimit', '1M', '--block-size', '64K', '--json'], { HOME: work }, { uid: 65534 });
    await waitForEvent(child, 'file.done');
    chmodSync(dst, 0o555);
    const r = await finished(child);
    expect(r.code).toBe(1);
    const failed = events(r.stdout).filter((e) => e.type === 'file.error');
    expect(failed.length).toBeGreaterThan(0);
    expect(String(failed[0]!.message)).toMatch(/permission denied \(EACCES\)/);
    expect(readFileSync(log, 'utf8')).toMatch(/"status":"failed".*EACCES/);
    expect(events(r.stdout).filter((e) => e.type === 'file.done').length + failed.length).toBe(8);
    onlyWholeFiles(src, dst);
  });
});

describe('a destination directory replaced by a file in the middle of a run', () => {
  it('fails the files that belonged there, leaves the file alone, copies the rest, and exits 1', async () => {
    const spec: Record<string, Buffer> = {};
    for (let i = 0; i < 4; i++) spec[`a/f${i}.bin`] = randomBytes(128 * 1024, i);
    for (let i = 0; i < 4; i++) spec[`z/f${i}.bin`] = randomBytes(128 * 1024, 10 + i);
    const src = tempTree(spec);
    const work = tempDir();
    const dst = join(work, 'dst');
    const log = join(work, 'audit.log');
    const child = startCli(['copy', src, dst, '--db', join(work, 'db'), '--log', log, '--bwlimit', '1M', '--block-size', '64K', '--transfers', '1', '--json']);
    await waitForEvent(child, 'file.done');
    rmSync(join(dst, 'z'), { recursive: true, force: true });
    writeFileSync(join(dst, 'z'), 'a user file where a directory was');
    const r = await finished(child);
    expect(r.code).toBe(1);
    expect(readFileSync(join(dst, 'z'), 'utf8')).toBe('a user file where a directory was');
    const failed = events(r.stdout).filter((e) => e.type === 'file.error');
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) expect(String(f.path)).toMatch(/^z\//);
    expect(readFileSync(log, 'utf8')).toMatch(/"status":"failed".*not a directory/i);
    for (let i = 0; i < 4; i++) expect(readFileSync(join(dst, `a/f${i}.bin`))).toEqual(spec[`a/f${i}.bin`]);
    expect(listAll(dst).filter((p) => /\.ferry-tmp-/.test(p))).toEqual([]);
  });
});

describe('the mirror when the source is not what it was', () => {
  it.skipIf(!canMount)('refuses when the source share is unmounted, even with a stray file in the mount point', async () => {
    const src = tmpfs(4096);
    for (let i = 0; i < 5; i++) writeFileSync(join(src, `f${i}.txt`), `file ${i}`);
    const work = tempDir();
    const dst = join(work, 'dst');
    const args = ['copy', src, dst, '--db', join(work, 'db'), '--delete-extras'];
    expect((await runCli(args)).code).toBe(0);
    execFileSync('umount', [src]);
    writeFileSync(join(src, 'NOT_MOUNTED.txt'), 'the bare mount point');
    const r = await runCli(args);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/on another filesystem than when this job began/);
    expect(listAll(dst)).toEqual(['NOT_MOUNTED.txt', 'f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'f4.txt']);
  });

  it('refuses when another tree was put in the source\'s place (renamed away, a new directory there)', async () => {
    const parent = tempDir();
    const src = join(parent, 'photos');
    mkdirSync(src);
    for (let i = 0; i < 5; i++) writeFileSync(join(src, `f${i}.jpg`), `photo ${i}`);
    const work = tempDir();
    const dst = join(work, 'dst');
    const args = ['copy', src, dst, '--db', join(work, 'db'), '--delete-extras', '--log', join(work, 'audit.log')];
    expect((await runCli(args)).code).toBe(0);
    renameSync(src, join(parent, 'photos.old'));
    mkdirSync(src);
    writeFileSync(join(src, 'other.txt'), 'a different tree');
    const r = await runCli(args);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/is not the directory this job began with/);
    expect(listAll(dst)).toEqual(['f0.jpg', 'f1.jpg', 'f2.jpg', 'f3.jpg', 'f4.jpg', 'other.txt']);
    expect(readFileSync(join(work, 'audit.log'), 'utf8')).toMatch(/"status":"refused"/);
  });
});

describe('odd sources', () => {
  it('copies a symlink loop as symlinks, without following it', async () => {
    const src = tempTree({ 'real.txt': 'r' });
    symlinkSync('b', join(src, 'a'));
    symlinkSync('a', join(src, 'b'));
    const work = tempDir();
    const dst = join(work, 'dst');
    const r = await runCli(['copy', src, dst, '--db', join(work, 'db')]);
    expect(r.code).toBe(0);
    expect(listAll(dst)).toEqual(['a', 'b', 'real.txt']);
    expect(execFileSync('readlink', [join(dst, 'a')], { encoding: 'utf8' }).trim()).toBe('b');
  });

  it.skipIf(process.getuid?.() !== 0)('as a user who cannot read one file: that file fails, the rest is copied, exit 1', async () => {
    const src = tempTree({ 'open.txt': 'o', 'secret/closed.txt': 'c' });
    const work = tempDir();
    for (const d of [src, work, join(src, 'secret')]) chmodSync(d, 0o777);
    chmodSync(join(src, 'open.txt'), 0o644);
    chmodSync(join(src, 'secret/closed.txt'), 0o000);
    const dst = join(work, 'dst');
    mkdirSync(dst, { mode: 0o777 });
    chmodSync(dst, 0o777);
    const r = await finished(startCli(['copy', src, dst, '--db', join(work, 'db'), '--json'], { HOME: work }, { uid: 65534 }));
    const out = r.stdout;
    const code = r.code;
    expect(code).toBe(1);
    const failed = events(out).filter((e) => e.type === 'file.error').map((e) => [e.path, e.errno]);
    expect(failed).toEqual([['secret/closed.txt', 'EACCES']]);
    expect(readFileSync(join(dst, 'open.txt'), 'utf8')).toBe('o');
    expect(existsSync(join(dst, 'secret/closed.txt'))).toBe(false);
    expect(dbRows(join(work, 'db'), `SELECT status FROM files WHERE rel = 'secret/closed.txt'`)).toEqual([{ status: 'failed' }]);
  });
});

describe('a database that cannot be written', () => {
  it.skipIf(!canMount)('stops with one clear sentence (exit 2, no stack trace) when its disk is full, and nothing partial is left', async () => {
    const spec: Record<string, string> = {};
    for (let i = 0; i < 3000; i++) spec[`d${i % 30}/a-rather-long-file-name-to-fill-the-database-${i}.txt`] = `file ${i}`;
    const src = tempTree(spec);
    const dbDir = tmpfs(160);
    const work = tempDir();
    const dst = join(work, 'dst');
    const r = await runCli(['copy', src, dst, '--db', join(dbDir, 'job.db'), '--log', join(work, 'audit.log')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ferry: The database .*job\.db could not be written: .*\(SQLITE_FULL\)\.$/m);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    if (existsSync(dst)) onlyWholeFiles(src, dst);
  });
});
