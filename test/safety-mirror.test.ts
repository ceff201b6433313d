import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { events, finished, runCli, startCli, waitForEvent } from './helpers/cli.js';
import { canLoopMount, canMount, loopDrive, NO_MOUNT_REASON, tmpfs } from './helpers/mounts.js';
import { listAll, randomBytes, tempDir, tempTree } from './helpers/tree.js';

const files = (n: number, prefix = 'f'): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}.txt`, `file ${i}`]));

describe.skipIf(!canMount)('the mirror knows the source by what survives a remount, not by device and inode numbers', () => {
  it('another tmpfs mounted where the source was (same st_dev, same inode): refused, exit 4, nothing deleted', async () => {
    const src = tmpfs(1024);
    tempTree(files(20), src);
    const work = tempDir();
    const dst = join(work, 'dst');
    const args = ['copy', src, dst, '--db', join(work, 'db'), '--delete-extras'];
    expect((await runCli(args)).code).toBe(0);
    execFileSync('umount', [src]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', src]);
    writeFileSync(join(src, 'other.txt'), 'another filesystem');
    const r = await runCli(args);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/the source root .* is on another filesystem than when this job began/);
    expect(listAll(dst).filter((p) => p.startsWith('f'))).toHaveLength(20);
  });

  it.skipIf(!canLoopMount)('another ext4 image mounted where the source was: refused, exit 4', async () => {
    const one = loopDrive('SRCONE');
    const two = loopDrive('SRCTWO', 16, one.mountPoint);
    one.plug();
    tempTree(files(5), one.mountPoint);
    const work = tempDir();
    const dst = join(work, 'dst');
    const args = ['copy', one.mountPoint, dst, '--db', join(work, 'db'), '--delete-extras'];
    expect((await runCli(args)).code).toBe(0);
    one.unplug();
    two.plug();
    writeFileSync(join(two.mountPoint, 'x.txt'), 'x');
    const r = await runCli(args);
    expect(r.code).toBe(4);
    expect(listAll(dst).filter((p) => p.startsWith('f'))).toHaveLength(5);
    two.unplug();
  });

  it('the same filesystem mounted again is the same source: the mirror goes on', async () => {
    const image = join(tempDir(), 'src.img');
    execFileSync('truncate', ['-s', '8M', image]);
    execFileSync('mkfs.ext4', ['-q', image]);
    const src = join(tempDir(), 'mnt');
    mkdirSync(src);
    execFileSync('mount', ['-o', 'loop', image, src]);
    tempTree({ ...files(3), 'gone.txt': 'g' }, src);
    const work = tempDir();
    const dst = join(work, 'dst');
    const args = ['copy', src, dst, '--db', join(work, 'db'), '--delete-extras'];
    try {
      expect((await runCli(args)).code).toBe(0);
      execFileSync('umount', [src]);
      execFileSync('mount', ['-o', 'loop', image, src]);
      execFileSync('rm', [join(src, 'gone.txt')]);
      const r = await runCli(args);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(existsSync(join(dst, 'gone.txt'))).toBe(false);
    } finally {
      execFileSync('umount', [src]);
    }
  });

  it('a filesystem mounted inside the source, once unmounted, is not mirrored as deleted (exit 4, says why); --rescan accepts it is gone', async () => {
    const src = tempTree({ 'top.txt': 't', 'old-extra.txt': 'o' });
    const share = join(src, 'share');
    mkdirSync(share);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', share]);
    tempTree(files(30), share);
    const work = tempDir();
    const dst = join(work, 'dst');
    const args = ['copy', src, dst, '--db', join(work, 'db'), '--delete-extras', '--json'];
    expect((await runCli(args)).code).toBe(0);
    execFileSync('umount', [share]);
    execFileSync('rm', [join(src, 'old-extra.txt')]);
    const r = await runCli(args);
    expect(r.code).toBe(4);
    const held = events(r.stdout).find((e) => e.type === 'mirror.refused');
    expect(held).toMatchObject({ scope: 'share' });
    expect(String(held?.reason)).toMatch(/share held a filesystem \(tmpfs\) when this job scanned it before, and it is not mounted there now/);
    expect(listAll(join(dst, 'share'))).toHaveLength(30);
    // Outside the missing filesystem the mirror still works.
    expect(existsSync(join(dst, 'old-extra.txt'))).toBe(false);
    // It stays kept run after run, until the user says it is gone for good.
    expect((await runCli(args)).code).toBe(4);
    const accepted = await runCli([...args, '--rescan']);
    expect(accepted.code).toBe(0);
    expect(existsSync(join(dst, 'share/f0.txt'))).toBe(false);
  });
});
if (!canMount) it.skip(NO_MOUNT_REASON, () => undefined);

describe('one writer per database: a kernel lock that dies with its process', () => {
  it('four copies of one job started together, on a stale lock and on none: exactly one runs', async () => {
    const spec: Record<string, Buffer> = {};
    for (let i = 0; i < 2; i++) spec[`f${i}.bin`] = randomBytes(256 * 1024, i + 1); // a second at 512 KiB/s: the others all try meanwhile
    const src = tempTree(spec);
    for (let trial = 0; trial < 2; trial++) {
      const work = tempDir();
      const db = join(work, 'db');
      // Even trials: a lock file left by a process long gone; odd ones: no lock file at all.
      if (trial % 2 === 0) writeFileSync(`${db}.lock`, '999999999\n');
      const args = ['copy', src, join(work, 'dst'), '--db', db, '--bwlimit', '512K', '--json'];
      const children = Array.from({ length: 4 }, () => startCli(args));
      const results = await Promise.all(children.map((c) => finished(c)));
      const ran = results.filter((r) => r.code === 0);
      const refused = results.filter((r) => r.code === 2);
      expect(ran, `trial ${trial}`).toHaveLength(1);
      expect(refused, `trial ${trial}`).toHaveLength(3);
      for (const r of refused) expect(r.stderr).toMatch(/^ferry: Another ferry process( \(pid \d+\))? is using the database/);
      expect(existsSync(`${db}.lock`)).toBe(false); // the holder removes it as it lets go
    }
  });

  it('four processes calling the lock at the same instant on a stale lock file: exactly one holds it, every time', async () => {
    const lock = new URL('../dist/store/lock.js', import.meta.url).href;
    for (let trial = 0; trial < 6; trial++) {
      const work = tempDir();
      const db = join(work, 'j.db');
      writeFileSync(`${db}.lock`, '999999999\n'); // left by a process long gone
      const at = Date.now() + 700; // all four start the race at this instant (a busy wait, no sleep)
      const script = `const { acquireLock } = await import(${JSON.stringify(lock)});
        while (Date.now() < ${at});
        try { acquireLock(${JSON.stringify(db)}); console.log('held'); await new Promise((r) => setTimeout(r, 300)); }
        catch (e) { console.log('refused'); }`;
      const runs = await Promise.all(Array.from({ length: 4 }, () => new Promise<string>((resolve) => {
        const c = spawn(process.execPath, ['--input-type=module', '-e', script]);
        let out = '';
        c.stdout.on('data', (d: Buffer) => (out += d.toString()));
        c.on('close', () => resolve(out.trim()));
      })));
      expect(runs.filter((r) => r === 'held'), `trial ${trial}: ${runs.join(' ')}`).toHaveLength(1);
    }
  });

  it('a lock held by a process killed with SIGKILL is free at once', async () => {
    const src = tempTree({ 'a.bin': randomBytes(1024 * 1024, 1) });
    const work = tempDir();
    const args = ['copy', src, join(work, 'dst'), '--db', join(work, 'db')];
    const holder = startCli([...args, '--bwlimit', '128K', '--json']);
    await waitForEvent(holder, 'run.start');
    expect((await runCli(args)).code).toBe(2);
    holder.kill('SIGKILL');
    await finished(holder);
    const r = await runCli(args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
