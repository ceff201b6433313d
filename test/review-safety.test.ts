import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { events, finished, runCli, startCli, waitForEvent, waitForOutput } from './helpers/cli.js';
import { canMount, NO_MOUNT_REASON } from './helpers/mounts.js';
import { listAll, randomBytes, tempDir, tempTree } from './helpers/tree.js';

/** What a second reading of the safety fixes found, each kept from coming back. */
describe('permissions follow the source, and never widen', () => {
  it('a file or directory made private at the source after it was copied is made private at the destination too', async () => {
    const src = tempTree({ 'pub/a.txt': 'a', 'pub/b.txt': 'b' });
    chmodSync(join(src, 'pub'), 0o755);
    chmodSync(join(src, 'pub/a.txt'), 0o644);
    const work = tempDir();
    const dst = join(work, 'dst');
    const args = ['copy', src, dst, '--db', join(work, 'db')];
    expect((await runCli(args)).code).toBe(0);
    expect(statSync(join(dst, 'pub/a.txt')).mode & 0o777).toBe(0o644);
    chmodSync(join(src, 'pub/a.txt'), 0o600);
    chmodSync(join(src, 'pub'), 0o700);
    expect((await runCli(args)).code).toBe(0);
    expect(statSync(join(dst, 'pub/a.txt')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dst, 'pub')).mode & 0o777).toBe(0o700);
  });

  it('directories get their own bits every time, however many files race to them (no stray 0700)', async () => {
    const spec: Record<string, string> = {};
    for (let i = 0; i < 40; i++) spec[`a/b${i % 4}/f${i}.txt`] = `f${i}`;
    const src = tempTree(spec);
    execFileSync('chmod', ['-R', 'u=rwX,go=rX', src]);
    for (let run = 0; run < 5; run++) {
      const work = tempDir();
      const dst = join(work, 'dst');
      execFileSync('sh', ['-c', 'umask 022 && exec "$0" "$@"', process.execPath, join(import.meta.dirname, '../bin/ferry.js'), 'copy', src, dst, '--db', join(work, 'db')]);
      const modes = ['a', 'a/b0', 'a/b1', 'a/b2', 'a/b3'].map((d) => (statSync(join(dst, d)).mode & 0o777).toString(8));
      expect(modes, `run ${run}`).toEqual(['755', '755', '755', '755', '755']);
    }
  });

  it.skipIf(process.getuid?.() !== 0)('as a user, read-only directories are copied, and copied into again next time (their copies keep the owner\'s rwx)', async () => {
    const src = tempTree({ 'mod/pkg/a.go': 'a', 'mod/b.go': 'b' });
    const work = tempDir();
    chmodSync(src, 0o755);
    chmodSync(work, 0o777);
    for (const f of ['mod/pkg/a.go', 'mod/b.go']) chmodSync(join(src, f), 0o444);
    chmodSync(join(src, 'mod/pkg'), 0o555);
    chmodSync(join(src, 'mod'), 0o555);
    const dst = join(work, 'dst');
    const args = ['copy', src, dst, '--db', join(work, 'db')];
    const first = await finished(startCli(args, { HOME: work }, { uid: 65534 }));
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(statSync(join(dst, 'mod/pkg')).mode & 0o777).toBe(0o755);
    chmodSync(join(src, 'mod'), 0o755);
    writeFileSync(join(src, 'mod/c.go'), 'c');
    chmodSync(join(src, 'mod'), 0o555);
    const again = await finished(startCli(args, { HOME: work }, { uid: 65534 }));
    expect(again.code).toBe(0);
    expect(readFileSync(join(dst, 'mod/c.go'), 'utf8')).toBe('c');
    const third = await finished(startCli([...args, '--json'], { HOME: work }, { uid: 65534 }));
    expect(events(third.stdout).find((e) => e.type === 'plan.done')?.pending).toBe(0); // no churn
  });

  it.skipIf(process.getuid?.() !== 0)('--perms without --owner never makes a setuid copy owned by another user', async () => {
    const src = tempTree({ tool: '#!/bin/sh\n' });
    execFileSync('chown', ['65534', join(src, 'tool')]);
    chmodSync(join(src, 'tool'), 0o4755);
    const work = tempDir();
    const dst = join(work, 'dst');
    expect((await runCli(['copy', src, dst, '--db', join(work, 'db'), '--perms'])).code).toBe(0);
    expect(statSync(join(dst, 'tool')).mode & 0o7777).toBe(0o755);
    const owned = join(work, 'owned');
    expect((await runCli(['copy', src, owned, '--db', join(work, 'db2'), '--perms', '--owner'])).code).toBe(0);
    expect(statSync(join(owned, 'tool')).mode & 0o7777).toBe(0o4755);
    expect(statSync(join(owned, 'tool')).uid).toBe(65534);
  });
});

describe('replacing never goes around the mirror\'s guards', () => {
  it('a directory full of files where the source now has a file is not moved to the trash when the mirror refuses', async () => {
    const spec: Record<string, string> = {};
    for (let i = 0; i < 20; i++) spec[`docs/d${i}.txt`] = `doc ${i}`;
    const src = tempTree(spec);
    const work = tempDir();
    const dst = join(work, 'dst');
    const trash = join(work, 'trash');
    const args = ['copy', src, dst, '--db', join(work, 'db'), '--delete-extras', '--trash', trash];
    expect((await runCli(args)).code).toBe(0);
    rmSync(join(src, 'docs'), { recursive: true });
    writeFileSync(join(src, 'docs'), 'now a file');
    const r = await runCli([...args, '--max-delete', '1']);
    expect(r.code).toBe(4);
    expect(readdirSync(join(dst, 'docs'))).toHaveLength(20);
    expect(listAll(trash).filter((p) => p.endsWith('.txt'))).toEqual([]);
  });
});

describe('the one-writer lock', () => {
  it('a --db reached through a symlink is the same database: a second writer is refused', async () => {
    const src = tempTree({ 'a.bin': randomBytes(512 * 1024, 1) });
    const work = tempDir();
    const db = join(work, 'j.db');
    const args = (d: string): string[] => ['copy', src, join(work, 'dst'), '--db', d];
    const first = startCli([...args(db), '--bwlimit', '256K', '--json']);
    await waitForEvent(first, 'run.start');
    symlinkSync(db, join(work, 'alias.db'));
    const second = await runCli(args(join(work, 'alias.db')));
    first.kill('SIGKILL');
    await finished(first);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/Another ferry process \(pid \d+\) is using the database/);
  });

  it('a symlink where the lock file goes is never followed (its target is left as it was)', async () => {
    const src = tempTree({ 'a.txt': 'a' });
    const work = tempDir();
    const victim = join(work, 'victim');
    writeFileSync(victim, 'precious');
    mkdirSync(join(work, 'state'));
    symlinkSync(victim, join(work, 'state', 'j.db.lock'));
    const r = await runCli(['copy', src, join(work, 'dst'), '--db', join(work, 'state', 'j.db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ferry: Cannot lock the database/);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(readlinkSync(join(work, 'state', 'j.db.lock'))).toBe(victim);
  });
});

describe('ferry watch --target', () => {
  it('holds nothing open on the target between copies', async () => {
    const root = tempTree({ 'a.jpg': 'a' });
    const work = tempDir();
    const dst = join(work, 'copy');
    const child = startCli(['watch', root, '--target', dst, '--db', join(work, 'index.db'), '--target-db', join(work, 'copy.db'), '--debounce', '50ms']);
    await waitForOutput(child, /target .*: copied 1 file\(s\)/);
    for (let i = 0; i < 3; i++) {
      writeFileSync(join(root, `n${i}.jpg`), `n${i}`);
      await waitForOutput(child, /target .*: copied 1 file\(s\)/);
    }
    const fds = readdirSync(`/proc/${child.pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${child.pid}/fd/${fd}`);
      } catch {
        return '';
      }
    });
    child.kill('SIGINT');
    await finished(child);
    expect(fds.filter((f) => f.startsWith(dst))).toEqual([]);
  });
});

describe.skipIf(!canMount)('mounts inside the source', () => {
  it('a bind mount inside the source (same device number), once unmounted, is not mirrored as deleted', async () => {
    const elsewhere = tempTree(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`f${i}.txt`, `f${i}`])));
    const src = tempTree({ 'top.txt': 't' });
    const share = join(src, 'share');
    mkdirSync(share);
    execFileSync('mount', ['--bind', elsewhere, share]);
    const work = tempDir();
    const dst = join(work, 'dst');
    const args = ['copy', src, dst, '--db', join(work, 'db'), '--delete-extras', '--json'];
    try {
      expect((await runCli(args)).code).toBe(0);
    } finally {
      execFileSync('umount', [share]);
    }
    const r = await runCli(args);
    expect(r.code).toBe(4);
    expect(events(r.stdout).some((e) => e.type === 'mirror.refused' && e.scope === 'share')).toBe(true);
    expect(readdirSync(join(dst, 'share'))).toHaveLength(10);
  });
});
if (!canMount) it.skip(NO_MOUNT_REASON, () => undefined);

describe.skipIf(process.getuid?.() !== 0)('the source\'s identity does not depend on the tools on PATH', () => {
  it('a run without /usr/sbin on PATH (cron\'s) knows the same ext4 source', async () => {
    const image = join(tempDir(), 'src.img');
    execFileSync('truncate', ['-s', '8M', image]);
    execFileSync('mkfs.ext4', ['-q', image]);
    const src = join(tempDir(), 'mnt');
    mkdirSync(src);
    execFileSync('mount', ['-o', 'loop', image, src]);
    try {
      writeFileSync(join(src, 'a.txt'), 'a');
      writeFileSync(join(src, 'gone.txt'), 'g');
      const work = tempDir();
      const dst = join(work, 'dst');
      const args = ['copy', src, dst, '--db', join(work, 'db'), '--delete-extras'];
      expect((await runCli(args)).code).toBe(0);
      rmSync(join(src, 'gone.txt'));
      const r = await runCli(args, { PATH: '/usr/bin:/bin' });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(existsSync(join(dst, 'gone.txt'))).toBe(false);
    } finally {
      execFileSync('umount', [src]);
    }
  });
});
