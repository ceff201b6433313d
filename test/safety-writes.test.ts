import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, events, finished, runCli, startCli, waitForEvent } from './helpers/cli.js';
import { dbRows, statusCounts } from './helpers/db.js';
import { canMount, NO_MOUNT_REASON, tmpfs } from './helpers/mounts.js';
import { listAll, randomBytes, readTree, tempDir, tempTree } from './helpers/tree.js';

/** Twenty 1 MiB files in sub/, copied one at a time at 4 MiB/s: five seconds in which to interfere. */
function slowSub(): { src: string; dst: string; db: string; args: string[]; spec: Record<string, Buffer> } {
  const spec: Record<string, Buffer> = {};
  for (let i = 0; i < 20; i++) spec[`sub/f${String(i).padStart(2, '0')}.bin`] = randomBytes(1024 * 1024, i + 1);
  const src = tempTree(spec);
  const work = tempDir();
  const dst = join(work, 'dst');
  const db = join(work, 'db');
  return { src, dst, db, spec, args: ['copy', src, dst, '--db', db, '--bwlimit', '4M', '--transfers', '1', '--json'] };
}

describe('writes and deletes never leave the destination, whatever another process does meanwhile', () => {
  it('a destination directory swapped for a symlink mid-run: nothing lands where the link leads, and a rerun completes', async () => {
    const job = slowSub();
    const outside = tempTree({ 'f05.bin': 'precious, someone else\'s', 'keep.txt': 'keep' });
    const before = readTree(outside);
    const child = startCli(job.args);
    await waitForEvent(child, 'file.done');
    // What an attacker (or a confused script) does: the directory goes, a link to elsewhere takes its place.
    renameSync(join(job.dst, 'sub'), join(job.dst, 'sub.moved'));
    symlinkSync(outside, join(job.dst, 'sub'));
    const r = await finished(child);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(readTree(outside)).toEqual(before);
    expect(listAll(outside)).toEqual(['f05.bin', 'keep.txt']);
    // The link itself was replaced by a real directory (its target untouched), and said so.
    expect(lstatSync(join(job.dst, 'sub')).isDirectory()).toBe(true);
    expect(events(r.stdout).some((e) => e.type === 'file.replaced' && e.path === 'sub' && e.was === 'symlink')).toBe(true);
    // Every file the job says is synced is where it says, whole.
    for (const row of dbRows(job.db, `SELECT rel FROM files WHERE status = 'synced' AND kind = 'file'`)) {
      const rel = String(row.rel);
      const moved = join(job.dst, 'sub.moved', rel.slice('sub/'.length));
      const at = existsSync(join(job.dst, rel)) ? join(job.dst, rel) : moved; // the ones copied before the swap moved with it
      expect(readFileSync(at).equals(job.spec[rel]!), rel).toBe(true);
    }
    rmSync(join(job.dst, 'sub.moved'), { recursive: true });
    const again = await runCli(job.args.filter((a, i, all) => a !== '--bwlimit' && all[i - 1] !== '--bwlimit'));
    expect(again.code).toBe(0);
    expect(readTree(job.dst)).toEqual(readTree(job.src));
  });

  it('--delete-extras never deletes through a directory swapped for a symlink after the scan', async () => {
    const spec: Record<string, Buffer | string> = {};
    for (let i = 0; i < 8; i++) spec[`slow/f${i}.bin`] = randomBytes(512 * 1024, i + 1);
    const src = tempTree(spec);
    const work = tempDir();
    const dst = join(work, 'dst');
    const extras: Record<string, string> = {};
    for (let i = 0; i < 50; i++) extras[`old/e${i}.txt`] = `extra ${i}`;
    tempTree(extras, dst);
    const outside = tempTree(Object.fromEntries(Object.keys(extras).map((k) => [k.slice('old/'.length), 'not ferry\'s to delete'])));
    const child = startCli(['copy', src, dst, '--db', join(work, 'db'), '--delete-extras', '--bwlimit', '1M', '--transfers', '1', '--json']);
    await waitForEvent(child, 'plan.done');
    // The scan listed old/ and its 50 extras; now old/ leads elsewhere.
    renameSync(join(dst, 'old'), join(work, 'old.moved'));
    symlinkSync(outside, join(dst, 'old'));
    const r = await finished(child);
    expect(listAll(outside)).toHaveLength(50);
    expect(lstatSync(join(dst, 'old')).isSymbolicLink()).toBe(true);
    const failed = events(r.stdout).filter((e) => e.type === 'file.error');
    expect(failed).toContainEqual(expect.objectContaining({ path: 'old', message: 'not deleted: it is a symlink now, not the dir the scan saw' }));
    expect(r.code).toBe(1);
  });
});

describe.skipIf(!canMount)('inside-source checks by device and inode, not by path', () => {
  it('a destination, --db, --log or --trash inside a bind mount of the source is refused, and nothing is written', async () => {
    const src = tempTree({ 'a.txt': 'a' });
    const bm = join(tempDir(), 'bm');
    mkdirSync(bm);
    execFileSync('mount', ['--bind', src, bm]);
    try {
      const work = tempDir();
      const cases: Array<[string[], RegExp]> = [
        [['copy', src, join(bm, 'b'), '--db', join(work, 'db')], /The destination .* is inside the source/],
        [['copy', src, join(work, 'dst'), '--db', join(bm, 'j.db')], /The database .* is inside the source/],
        [['copy', src, join(work, 'dst'), '--db', join(work, 'db'), '--log', join(bm, 'x.log')], /The audit log .* is inside the source/],
        [['copy', src, join(work, 'dst'), '--db', join(work, 'db'), '--delete-extras', '--trash', join(bm, 't')], /The trash directory .* is inside the source/],
      ];
      for (const [args, message] of cases) {
        const r = await runCli(args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toMatch(message);
      }
      expect(listAll(src)).toEqual(['a.txt']);
    } finally {
      execFileSync('umount', [bm]);
    }
  });
});
if (!canMount) it.skip(NO_MOUNT_REASON, () => undefined);

describe('permissions: a private file never becomes readable', () => {
  it('copies get the source\'s permission bits masked by the umask: 600 stays 600, a script keeps its exec bit, a 700 directory stays 700', async () => {
    const src = tempTree({ 'secret.txt': 'private', 'run.sh': '#!/bin/sh\n', 'big.bin': randomBytes(2 * 1024 * 1024, 9), 'closed/x.txt': 'x' });
    chmodSync(join(src, 'secret.txt'), 0o600);
    chmodSync(join(src, 'big.bin'), 0o600);
    chmodSync(join(src, 'run.sh'), 0o755);
    chmodSync(join(src, 'closed'), 0o700);
    const work = tempDir();
    const dst = join(work, 'dst');
    // umask 022, as most users have it.
    execFileSync('sh', ['-c', `umask 022 && exec "$0" "$@"`, process.execPath, BIN, 'copy', src, dst, '--db', join(work, 'db')]);
    const mode = (p: string): number => statSync(join(dst, p)).mode & 0o7777;
    expect(mode('secret.txt')).toBe(0o600);
    expect(mode('big.bin')).toBe(0o600);
    expect(mode('run.sh')).toBe(0o755);
    expect(mode('closed')).toBe(0o700);
    expect(mode('closed/x.txt')).toBe(0o644);
  });

  it('--perms applies the bits exactly (the umask does not mask them); without it a strict umask narrows them', async () => {
    const src = tempTree({ 'shared.txt': 's' });
    chmodSync(join(src, 'shared.txt'), 0o664);
    const work = tempDir();
    const copyWith = (dst: string, ...extra: string[]): void => {
      execFileSync('sh', ['-c', `umask 077 && exec "$0" "$@"`, process.execPath, BIN, 'copy', src, dst, '--db', join(work, `${dst.length}${extra.length}.db`), ...extra]);
    };
    copyWith(join(work, 'plain'));
    copyWith(join(work, 'exact'), '--perms');
    expect(statSync(join(work, 'plain/shared.txt')).mode & 0o777).toBe(0o600);
    expect(statSync(join(work, 'exact/shared.txt')).mode & 0o777).toBe(0o664);
  });

  it.skipIf(process.getuid?.() !== 0)('--owner gives copies the source\'s owner and group (as root)', async () => {
    const src = tempTree({ 'theirs.txt': 't', 'dir/in.txt': 'i' });
    execFileSync('chown', ['-R', '65534:65534', src]);
    const work = tempDir();
    const dst = join(work, 'dst');
    expect((await runCli(['copy', src, dst, '--db', join(work, 'db'), '--owner'])).code).toBe(0);
    expect(statSync(join(dst, 'theirs.txt')).uid).toBe(65534);
    expect(statSync(join(dst, 'dir')).gid).toBe(65534);
    const plain = join(work, 'plain');
    expect((await runCli(['copy', src, plain, '--db', join(work, 'db2')])).code).toBe(0);
    expect(statSync(join(plain, 'theirs.txt')).uid).toBe(0);
  });
});

describe('a path that changes kind is replaced, as rsync does, and the run says what it replaced', () => {
  it('a file that became a directory, and a directory that became a file (empty): the next run replaces both, exit 0', async () => {
    const src = tempTree({ 'was-file': 'a file', 'was-dir/': null });
    const work = tempDir();
    const dst = join(work, 'dst');
    const args = ['copy', src, dst, '--db', join(work, 'db'), '--json'];
    expect((await runCli(args)).code).toBe(0);
    rmSync(join(src, 'was-file'));
    tempTree({ 'was-file/inside.txt': 'now a directory' }, src);
    rmSync(join(src, 'was-dir'), { recursive: true });
    writeFileSync(join(src, 'was-dir'), 'now a file');
    const r = await runCli(args);
    expect(r.code).toBe(0);
    const replaced = events(r.stdout).filter((e) => e.type === 'file.replaced').map((e) => [e.path, e.was]);
    expect(replaced).toEqual(expect.arrayContaining([['was-file', 'file'], ['was-dir', 'dir']]));
    expect(statusCounts(join(work, 'db'))).toEqual({ synced: 3 });
    // Not a mirror: the file in the way may have been the user's, so it was renamed aside, not deleted.
    const aside = listAll(dst).filter((p) => p.startsWith('was-file.ferry-replaced-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dst, aside[0]!), 'utf8')).toBe('a file');
    rmSync(join(dst, aside[0]!));
    expect(readTree(dst)).toEqual(readTree(src));
  });

  it('a file of the user\'s in the way of a directory is never deleted by a copy: it is renamed aside, and said', async () => {
    const src = tempTree({ 'notes/x.txt': 'new' });
    const work = tempDir();
    const dst = tempTree({ notes: 'my own notes' }, join(work, 'dst'));
    const r = await runCli(['copy', src, dst, '--db', join(work, 'db')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/replaced notes: the file there was moved to .*notes\.ferry-replaced-/);
    const aside = listAll(dst).find((p) => p.startsWith('notes.ferry-replaced-'));
    expect(readFileSync(join(dst, aside!), 'utf8')).toBe('my own notes');
    expect(readFileSync(join(dst, 'notes/x.txt'), 'utf8')).toBe('new');
  });

  it('with --trash, what is replaced goes to the trash instead of being deleted', async () => {
    const src = tempTree({ 'x': 'version one, a file' });
    const work = tempDir();
    const dst = join(work, 'dst');
    const trash = join(work, 'trash');
    const args = ['copy', src, dst, '--db', join(work, 'db'), '--delete-extras', '--trash', trash, '--log', join(work, 'audit.log')];
    expect((await runCli(args)).code).toBe(0);
    rmSync(join(src, 'x'));
    tempTree({ 'x/y.txt': 'now a directory' }, src);
    const r = await runCli(args);
    expect(r.code).toBe(0);
    expect(readTree(dst)).toEqual(readTree(src));
    const trashed = listAll(trash).find((p) => p.endsWith('/x'));
    expect(readFileSync(join(trash, trashed!), 'utf8')).toBe('version one, a file');
    expect(readFileSync(join(work, 'audit.log'), 'utf8')).toMatch(/"status":"replaced".*"trashedTo"/);
  });

  it('a directory that became a file: not empty, it is replaced only by a mirror (--delete-extras), in the same run', async () => {
    const src = tempTree({ 'd/a.txt': 'a', 'd/b.txt': 'b' });
    const work = tempDir();
    const dst = join(work, 'dst');
    const base = ['copy', src, dst, '--db', join(work, 'db'), '--json'];
    expect((await runCli(base)).code).toBe(0);
    rmSync(join(src, 'd'), { recursive: true });
    writeFileSync(join(src, 'd'), 'now a file');
    const refused = await runCli(base);
    expect(refused.code).toBe(1);
    const error = events(refused.stdout).find((e) => e.type === 'file.error' && e.path === 'd');
    expect(String(error?.message)).toMatch(/d is a directory on the destination that is not empty; it gives way to the file only once a mirror \(--delete-extras\) has removed its contents \(EISDIR\)/);
    expect(readFileSync(join(dst, 'd/a.txt'), 'utf8')).toBe('a');
    const mirrored = await runCli([...base, '--delete-extras']);
    expect(mirrored.code).toBe(0);
    expect(readTree(dst)).toEqual(readTree(src));
  });

  it('a file put where a directory goes after the scan (not what the plan saw) is left alone: those files fail', async () => {
    // See faults.test.ts: the same with a directory replaced mid-run. Here before the transfer starts.
    const src = tempTree({ 'z/f.bin': randomBytes(300 * 1024, 3), 'a/g.bin': randomBytes(300 * 1024, 4) });
    const work = tempDir();
    const dst = join(work, 'dst');
    const child = startCli(['copy', src, dst, '--db', join(work, 'db'), '--bwlimit', '256K', '--transfers', '1', '--json']);
    await waitForEvent(child, 'plan.done');
    mkdirSync(dst, { recursive: true });
    writeFileSync(join(dst, 'z'), 'a user file');
    const r = await finished(child);
    expect(readFileSync(join(dst, 'z'), 'utf8')).toBe('a user file');
    expect(r.code).toBe(1);
  });
});

describe('exit codes tell the truth', () => {
  it('a file replaced by a directory before it is read: exit 1 (not everything copied), and the next run copies the directory', async () => {
    const src = tempTree({ 'a.bin': randomBytes(512 * 1024, 3), 'b.txt': 'b' });
    const work = tempDir();
    const dst = join(work, 'dst');
    const args = ['copy', src, dst, '--db', join(work, 'db'), '--json'];
    const child = startCli([...args, '--bwlimit', '256K', '--block-size', '64K', '--transfers', '1']);
    await waitForEvent(child, 'file.start', (e) => e.path === 'a.bin');
    rmSync(join(src, 'b.txt'));
    tempTree({ 'b.txt/inside.txt': 'now a directory' }, src);
    const r = await finished(child);
    expect(events(r.stdout).find((e) => e.type === 'file.skip' && e.path === 'b.txt')?.reason).toBe('changed');
    expect(r.code).toBe(1);
    expect(events(r.stdout).find((e) => e.type === 'run.end')?.status).toBe('failed');
    const next = await runCli(args);
    expect(next.code).toBe(0);
    expect(readTree(dst)).toEqual(readTree(src));
  });
});

describe('errors a new user meets', () => {
  it('a --block-size the pipeline cannot hold is one sentence and exit 2, not a stack trace', async () => {
    const src = tempTree({ 'a.txt': 'a' });
    const work = tempDir();
    for (const [size, message] of [['5G', /--block-size takes at most 1G, not "5G"/], ['1G', /would hold 25\.0 GiB of buffers, more than half of this machine's/]] as const) {
      const r = await runCli(['copy', src, join(work, 'dst'), '--db', join(work, 'db'), '--block-size', size]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/internal error|^\s+at /m);
    }
  });

  it('a destination where no directory can be made (/proc) exits 3 at once with one sentence', async () => {
    const src = tempTree({ 'a.txt': 'a' });
    const r = await runCli(['copy', src, '/proc/ferry-test-dst', '--db', join(tempDir(), 'db')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^ferry: Cannot create \/proc\/ferry-test-dst: \/proc does not allow new directories in it \(EPERM\)\.\n$/);
  });

  it('a --db that cannot be locked says so in ferry\'s words, not Node\'s', async () => {
    const src = tempTree({ 'a.txt': 'a' });
    const r = await runCli(['copy', src, join(tempDir(), 'dst'), '--db', '/proc/x.db']);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/ENOENT: no such file or directory, open/);
    expect(r.stderr).toMatch(/^ferry: Cannot (lock|open|create)/);
  });

  it.skipIf(!canMount)('a read-only destination subdirectory reports EROFS, not ENOENT', async () => {
    const src = tempTree({ 'ro/a.txt': 'a', 'rw.txt': 'w' });
    const dst = join(tempDir(), 'dst');
    mkdirSync(dst);
    const ro = join(dst, 'ro');
    mkdirSync(ro);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro]);
    try {
      const r = await runCli(['copy', src, dst, '--db', join(tempDir(), 'db'), '--json']);
      expect(r.code).toBe(1);
      const error = events(r.stdout).find((e) => e.type === 'file.error');
      expect(error).toMatchObject({ path: 'ro/a.txt', errno: 'EROFS' });
      expect(readFileSync(join(dst, 'rw.txt'), 'utf8')).toBe('w');
    } finally {
      execFileSync('umount', [ro]);
    }
  });

  it.skipIf(!canMount)('a --trash on another filesystem than the destination is refused up front (exit 2), nothing deleted', async () => {
    const src = tempTree({ 'a.txt': 'a' });
    const dst = tempTree({ 'extra.txt': 'x' });
    const trash = tmpfs(256);
    const r = await runCli(['copy', src, dst, '--db', join(tempDir(), 'db'), '--delete-extras', '--trash', trash]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/The trash directory .* is on another filesystem than the destination/);
    expect(existsSync(join(dst, 'extra.txt'))).toBe(true);
  });

  it('names with a newline or an escape sequence are quoted in plain output, never printed raw', async () => {
    const src = tempTree({ 'two\nlines.txt': 'a', '\x1b[31mred.txt': 'b' });
    const work = tempDir();
    const r = await runCli(['copy', src, join(work, 'dst'), '--db', join(work, 'db'), '-v']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("copied $'two\\nlines.txt'");
    expect(r.stdout).toContain("copied $'\\e[31mred.txt'");
    expect(r.stdout).not.toContain('\x1b');
  });
});

describe('--partial: a big file stopped mid-way goes on from its kept temp file', () => {
  function slowBig(): { src: string; dst: string; args: string[]; data: Buffer } {
    const data = randomBytes(3 * 1024 * 1024, 11);
    const src = tempTree({ 'big.bin': data });
    const work = tempDir();
    const dst = join(work, 'dst');
    return { src, dst, data, args: ['copy', src, dst, '--db', join(work, 'db'), '--block-size', '256K', '--json'] };
  }
  const temps = (dst: string): string[] => listAll(dst).filter((p) => p.includes('.ferry-tmp-'));

  it('keeps the temp file across kill -9, reuses it (the same file), and ends byte for byte equal', async () => {
    const job = slowBig();
    const child = startCli([...job.args, '--partial', '--bwlimit', '1M']);
    await waitForEvent(child, 'stats', (e) => (e.current as Array<{ done: number }>).some((c) => c.done >= 512 * 1024));
    child.kill('SIGKILL');
    await finished(child);
    const [temp] = temps(job.dst);
    expect(temp).toBeDefined();
    const kept = statSync(join(job.dst, temp!));
    expect(kept.size).toBeGreaterThan(0);
    const r = await runCli([...job.args, '--partial']);
    expect(r.code).toBe(0);
    expect(readFileSync(join(job.dst, 'big.bin')).equals(job.data)).toBe(true);
    expect(statSync(join(job.dst, 'big.bin')).ino).toBe(kept.ino);
    expect(temps(job.dst)).toEqual([]);
  });

  it('a kept temp file whose bytes differ from the source is not trusted: the copy is still exact', async () => {
    const job = slowBig();
    const child = startCli([...job.args, '--partial', '--bwlimit', '1M']);
    await waitForEvent(child, 'stats', (e) => (e.current as Array<{ done: number }>).some((c) => c.done >= 512 * 1024));
    child.kill('SIGINT');
    await finished(child);
    const [temp] = temps(job.dst);
    const path = join(job.dst, temp!);
    const bytes = readFileSync(path);
    bytes[1000] = bytes[1000]! ^ 0xff; // a torn or foreign write in the kept prefix
    writeFileSync(path, bytes);
    expect((await runCli([...job.args, '--partial'])).code).toBe(0);
    expect(readFileSync(join(job.dst, 'big.bin')).equals(job.data)).toBe(true);
  });

  it('without --partial the default stays: the stopped file restarts from byte 0 and its temp file is removed', async () => {
    const job = slowBig();
    const child = startCli([...job.args, '--bwlimit', '1M']);
    await waitForEvent(child, 'stats', (e) => (e.current as Array<{ done: number }>).some((c) => c.done > 0));
    child.kill('SIGINT');
    await finished(child);
    expect(temps(job.dst)).toEqual([]);
  });
});
