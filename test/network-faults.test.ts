import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalTree } from '../dist/index.js';
import { fsPoolLanes } from '../dist/io/fs-pool.js';
import { onNetworkFs } from '../dist/io/fs-kind.js';
import { events, finished, runCli, startCli, waitForEvent } from './helpers/cli.js';
import { randomBytes, readTree, tempDir, tempTree } from './helpers/tree.js';

// A network share that drops mid-run, for real: a FUSE mount (rclone mount of a local directory, the
// closest thing to a share this machine can run without a network) whose server is killed with
// SIGKILL, after which every access fails with ENOTCONN, as a killed sshfs or a dead SMB share does.
const haveFuse = existsSync('/dev/fuse') && process.getuid?.() === 0 && (() => {
  try {
    execFileSync('fusermount3', ['-V'], { stdio: 'ignore' });
    execFileSync('rclone', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const mounts: Array<{ dir: string; server: ChildProcess }> = [];
afterEach(() => {
  for (const m of mounts.splice(0)) {
    m.server.kill('SIGKILL');
    try {
      execFileSync('fusermount3', ['-uz', m.dir], { stdio: 'ignore' });
    } catch {
      // not mounted any more
    }
  }
});

async function mount(back: string, dir: string): Promise<ChildProcess> {
  mkdirSync(dir, { recursive: true });
  const server = spawn('rclone', ['mount', `:local:${back}`, dir, '--vfs-cache-mode', 'off', '--dir-cache-time', '0s'], { stdio: 'ignore' });
  mounts.push({ dir, server });
  for (let i = 0; i < 100 && !readFileSync('/proc/mounts', 'utf8').includes(` ${dir} fuse.rclone `); i++) await new Promise((r) => setTimeout(r, 100));
  return server;
}

describe.skipIf(!haveFuse)('a network share that drops (a FUSE mount whose server is killed)', () => {
  it('a source that drops mid-run: a clean stop naming it, nothing recorded that is not copied, and the next run completes', async () => {
    const spec: Record<string, Buffer> = {};
    for (let i = 0; i < 24; i++) spec[`d${i % 3}/f${i}.bin`] = randomBytes(256 * 1024, i + 1);
    const back = tempTree(spec);
    const work = tempDir();
    const share = join(work, 'share');
    const dst = join(work, 'dst');
    const db = join(work, 'job.db');
    const server = await mount(back, share);
    const child = startCli(['copy', share, dst, '--db', db, '--bwlimit', '1M', '--json']);
    await waitForEvent(child, 'file.done');
    server.kill('SIGKILL');
    const r = await finished(child);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^ferry: The source .*share stopped answering \(ENOTCONN[^)]*\); the files not copied stay pending\.\nhint: /);
    expect(r.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
    // Every row the database calls synced is a whole, correct copy; nothing is lost.
    const d = new Database(db, { readonly: true });
    const rows = d.prepare(`SELECT rel, status FROM files WHERE kind = 'file'`).all() as Array<{ rel: string; status: string }>;
    d.close();
    const synced = rows.filter((x) => x.status === 'synced');
    expect(rows.some((x) => x.status === 'pending')).toBe(true);
    for (const x of synced) expect(readFileSync(join(dst, x.rel)).equals(spec[x.rel]!)).toBe(true);
    expect(events(r.stdout).some((e) => e.type === 'file.error')).toBe(false); // a stop, not a failure per file

    execFileSync('fusermount3', ['-uz', share]);
    await mount(back, share);
    const again = await runCli(['copy', share, dst, '--db', db]);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(readTree(dst)).toEqual(readTree(back));
  });

  it('a destination that drops mid-run: a clean stop naming it, nothing recorded that is not on the share, and the next run completes', async () => {
    const spec: Record<string, Buffer> = {};
    for (let i = 0; i < 24; i++) spec[`d${i % 3}/f${i}.bin`] = randomBytes(256 * 1024, 50 + i);
    const src = tempTree(spec);
    const work = tempDir();
    const back = join(work, 'back');
    mkdirSync(back);
    const share = join(work, 'share');
    const db = join(work, 'job.db');
    // A FUSE server that numbers a file anew when it is renamed: the copies still count as ferry's own.
    const server = await mount(back, share);
    const child = startCli(['copy', src, join(share, 'dst'), '--db', db, '--bwlimit', '1M', '--json']);
    await waitForEvent(child, 'file.done');
    server.kill('SIGKILL');
    const r = await finished(child);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^ferry: The destination .*share\/dst stopped answering \((ENOTCONN|EIO)[^)]*\); the files not copied stay pending\.\nhint: /);
    const d = new Database(db, { readonly: true });
    const rows = d.prepare(`SELECT rel, status FROM files WHERE kind = 'file'`).all() as Array<{ rel: string; status: string }>;
    d.close();
    const synced = rows.filter((x) => x.status === 'synced');
    expect(synced.length).toBeGreaterThan(0);
    expect(rows.some((x) => x.status === 'pending')).toBe(true);
    for (const x of synced) expect(readFileSync(join(back, 'dst', x.rel)).equals(spec[x.rel]!)).toBe(true);
    expect(events(r.stdout).some((e) => e.type === 'file.error')).toBe(false);

    execFileSync('fusermount3', ['-uz', share]);
    await mount(back, share);
    const again = await runCli(['copy', src, join(share, 'dst'), '--db', db]);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(readTree(join(back, 'dst'))).toEqual(readTree(src));
  });

  it('a tree on a share gets the wider I/O pool (each thread waits out a round trip); a local tree does not', async () => {
    const local = tempTree({ 'a.txt': 'a' });
    const work = tempDir();
    const share = join(work, 'share');
    await mount(tempTree({ 'b.txt': 'b' }), share);
    expect(await onNetworkFs(local)).toBe(false);
    expect(await onNetworkFs(share)).toBe(true);

    const before = new LocalTree(local);
    expect((await before.readWhole('a.txt', 1024, null)).kind).toBe('read');
    const narrow = fsPoolLanes();
    expect(narrow).toBeGreaterThanOrEqual(2);
    const remote = new LocalTree(share);
    for (let i = 0; i < 50 && fsPoolLanes() === narrow; i++) await new Promise((r) => setTimeout(r, 20));
    expect(fsPoolLanes()).toBeGreaterThan(narrow);
    expect((await remote.readWhole('b.txt', 1024, null)).kind).toBe('read');
  });
});
