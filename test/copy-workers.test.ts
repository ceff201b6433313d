import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { events, finished, runCli, startCli, waitForEvent } from './helpers/cli.js';
import { freshPgDatabase } from './helpers/postgres.js';
import { randomBytes, readTree, tempDir, tempTree } from './helpers/tree.js';

async function query<T>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

/** The paths each audit log recorded as synced. */
function syncedIn(log: string): string[] {
  return readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { status: string; source: string })
    .filter((r) => r.status === 'synced').map((r) => r.source);
}

function corpus(files: number, size: number): Record<string, Buffer> {
  const spec: Record<string, Buffer> = {};
  for (let i = 0; i < files; i++) spec[`d${i % 4}/f${String(i).padStart(3, '0')}.bin`] = randomBytes(size, i + 1);
  return spec;
}

// Several `ferry copy` processes on one job through PostgreSQL (seed 001 at its scale). Real
// processes, a real server (helpers/postgres-setup.ts), real kill -9.
describe('several workers on one backlog (--db postgres://…)', () => {
  it('three workers share one job; one killed with SIGKILL loses its leases, the others copy its files, nothing twice', async () => {
    const src = tempTree(corpus(48, 128 * 1024));
    const work = tempDir();
    const dst = join(work, 'dst');
    const url = await freshPgDatabase();
    const env = { XDG_STATE_HOME: tempDir() };
    // Slowed by one shared limit so that all three are still at work when one is killed.
    const args = (i: number): string[] => ['copy', src, dst, '--db', url, '--log', join(work, `w${i}.log`), '--bwlimit', '1M', '--lease', '2s', '--json'];
    const first = startCli(args(1), env);
    await waitForEvent(first, 'file.done');
    // The one killed runs as another machine: only its lease's expiry can tell the others it is gone.
    const second = startCli(args(2), env, { hostname: 'ferry-other-host' });
    const third = startCli(args(3), env);
    await waitForEvent(second, 'file.done');
    await waitForEvent(third, 'file.done');
    second.kill('SIGKILL');
    const [r1, r2, r3] = await Promise.all([finished(first), finished(second), finished(third)]);
    expect(r2.signal).toBe('SIGKILL');
    for (const r of [r1, r3]) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    expect(readTree(dst)).toEqual(readTree(src));
    const rows = await query<{ status: string; n: string }>(url, `SELECT status, count(*) AS n FROM files WHERE kind = 'file' GROUP BY status`);
    expect(rows).toEqual([{ status: 'synced', n: '48' }]);
    // The two that lived never copied the same file; between them and the killed one, every file.
    const one = syncedIn(join(work, 'w1.log'));
    const three = syncedIn(join(work, 'w3.log'));
    expect(new Set([...one, ...three]).size).toBe(one.length + three.length);
    expect(new Set([...one, ...three, ...syncedIn(join(work, 'w2.log'))]).size).toBe(48);
    expect(one.length).toBeGreaterThan(0);
    expect(three.length).toBeGreaterThan(0);
    // Only the first scanned; the others joined.
    expect(events(r1.stdout).find((e) => e.type === 'run.start')).toMatchObject({ mode: 'scan' });
    expect(events(r3.stdout).find((e) => e.type === 'run.start')).toMatchObject({ mode: 'join' });
    expect(events(r3.stdout).some((e) => e.type === 'plan.done' || e.type === 'scan.progress')).toBe(false);
    // The workers as --status shows them: the killed one's heartbeat stopped.
    const status = await runCli(['copy', '--status', '--db', url, '--json']);
    expect(status.code).toBe(0);
    const s = JSON.parse(status.stdout) as { pending: { files: number }; workers: Array<{ pid: number; state: string; stale: boolean; host: string }> };
    expect(s.pending.files).toBe(0);
    expect(s.workers).toHaveLength(3);
    expect(s.workers.find((w) => w.host === 'ferry-other-host')).toMatchObject({ stale: true, state: 'copying' });
    expect(s.workers.filter((w) => w.state === 'done')).toHaveLength(2);
  });

  it('a worker started after the scan joins and copies; --status lists every worker with host, pid, files, rate and heartbeat', async () => {
    const src = tempTree(corpus(24, 128 * 1024));
    const work = tempDir();
    const dst = join(work, 'dst');
    const url = await freshPgDatabase();
    const env = { XDG_STATE_HOME: tempDir() };
    const args = ['copy', src, dst, '--db', url, '--bwlimit', '512K', '--json'];
    const first = startCli(args, env);
    await waitForEvent(first, 'file.done');
    const late = startCli(args, env);
    await waitForEvent(late, 'file.done');
    const status = await runCli(['copy', src, dst, '--status', '--db', url, '--json']);
    expect(status.code).toBe(0);
    const s = JSON.parse(status.stdout) as { workers: Array<Record<string, unknown>>; source: string };
    expect(s.source).toBe(src);
    expect(s.workers.map((w) => w.pid).sort()).toEqual([first.pid, late.pid].sort());
    for (const w of s.workers) {
      expect(w).toMatchObject({ state: 'copying', stale: false });
      expect(typeof w.host).toBe('string');
      expect(w).toHaveProperty('files');
      expect(w).toHaveProperty('rate');
      expect(Date.parse(String(w.lastHeartbeat))).toBeGreaterThan(0);
    }
    const text = await runCli(['copy', '--status', '--db', url]);
    expect(text.stdout).toMatch(/WORKER\s+HOST\s+PID\s+STATE\s+FILES\s+BYTES\s+RATE\s+LAST HEARTBEAT/);
    const [a, b] = await Promise.all([finished(first), finished(late)]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(events(b.stdout).find((e) => e.type === 'run.start')).toMatchObject({ mode: 'join' });
    expect(events(b.stdout).filter((e) => e.type === 'file.done').length).toBeGreaterThan(0);
    expect(readTree(dst)).toEqual(readTree(src));
  });

  // A lower bound only, as in bwlimit.test.ts: one limit per worker would let two finish in half the time.
  it('--bwlimit is one limit for the whole job, shared by its workers (4 MiB at 1 MiB/s ≥ 3 s with two workers)', async () => {
    const src = tempTree(corpus(16, 256 * 1024));
    const work = tempDir();
    const dst = join(work, 'dst');
    const url = await freshPgDatabase();
    const env = { XDG_STATE_HOME: tempDir() };
    const args = ['copy', src, dst, '--db', url, '--bwlimit', '1M', '--block-size', '64K', '--json'];
    const started = performance.now();
    const a = startCli(args, env);
    const b = startCli(args, env);
    const [ra, rb] = await Promise.all([finished(a), finished(b)]);
    const seconds = (performance.now() - started) / 1000;
    expect(ra.code).toBe(0);
    expect(rb.code, rb.stderr + events(rb.stdout).filter((e) => e.type !== 'stats' && e.type !== 'file.done').map((e) => JSON.stringify(e)).join('\n')).toBe(0);
    expect(readTree(dst)).toEqual(readTree(src));
    const copied = [ra, rb].map((r) => events(r.stdout).filter((e) => e.type === 'file.done').length);
    expect(copied[0]! + copied[1]!).toBeGreaterThanOrEqual(16);
    expect(Math.min(...copied)).toBeGreaterThan(0); // both worked
    expect(seconds).toBeGreaterThanOrEqual(3);
  });

  it('the mirror runs once, by the last worker, after every file landed', async () => {
    const src = tempTree(corpus(12, 128 * 1024));
    const work = tempDir();
    const dst = join(work, 'dst');
    const url = await freshPgDatabase();
    const env = { XDG_STATE_HOME: tempDir() };
    await runCli(['copy', src, dst, '--db', url], env);
    mkdirSync(join(dst, 'old'));
    writeFileSync(join(dst, 'old', 'x.txt'), 'gone from the source');
    writeFileSync(join(dst, 'y.txt'), 'also');
    for (let i = 0; i < 12; i++) writeFileSync(join(src, `d${i % 4}`, `new${i}.bin`), randomBytes(128 * 1024, 100 + i));
    const args = ['copy', src, dst, '--db', url, '--delete-extras', '--bwlimit', '512K', '--json'];
    const a = startCli(args, env);
    await waitForEvent(a, 'file.done');
    const b = startCli(args, env);
    const [ra, rb] = await Promise.all([finished(a), finished(b)]);
    expect(ra.code).toBe(0);
    expect(rb.code).toBe(0);
    expect(readTree(dst)).toEqual(readTree(src));
    const deleted = [ra, rb].map((r) => events(r.stdout).filter((e) => e.type === 'file.deleted').length);
    expect(deleted.sort()).toEqual([0, 3]); // old/x.txt, old, y.txt
  });

  it('SQLite keeps one worker per job, and says so to a second one', async () => {
    const src = tempTree(corpus(8, 256 * 1024));
    const work = tempDir();
    const dst = join(work, 'dst');
    const db = join(work, 'job.db');
    const child = startCli(['copy', src, dst, '--db', db, '--bwlimit', '256K', '--json']);
    await waitForEvent(child, 'file.start');
    const second = await runCli(['copy', src, dst, '--db', db]);
    const status = await runCli(['copy', src, dst, '--status', '--db', db, '--json']);
    child.kill('SIGKILL');
    await finished(child);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/^ferry: Another ferry process \(pid \d+\) is using the database/);
    expect(second.stderr).toMatch(/one worker at a time.*--db postgres:\/\//);
    // --status reads beside the running copy, without its lock.
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ source: src, destination: dst });
  });

  it('--status without a job, or without SOURCE DESTINATION and --db, is one sentence', async () => {
    const none = await runCli(['copy', '--status', '--db', join(tempDir(), 'nothing.db')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^ferry: There is no copy job in .*nothing\.db/);
    const bare = await runCli(['copy', '--status']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/^ferry: ferry copy --status needs SOURCE and DESTINATION, or the job's --db\./);
    const lease = await runCli(['copy', tempDir(), join(tempDir(), 'd'), '--lease', 'soon']);
    expect(lease.code).toBe(2);
    expect(lease.stderr).toMatch(/--lease/);
  });
});
