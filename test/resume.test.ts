import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copy, COPY_DEFAULTS, EXIT, type FerryEvent } from '../dist/index.js';
import { events, finished, runCli, startCli, waitForEvent, waitForOutput } from './helpers/cli.js';
import { statusCounts } from './helpers/db.js';
import { listAll, randomBytes, readTree, tempDir, tempTree } from './helpers/tree.js';

/** Ten 256 KiB files, copied at 1 MiB/s: about 2.5 s, long enough to stop in the middle. */
function slowJob(): { src: string; dst: string; db: string; args: string[] } {
  const spec: Record<string, Buffer> = {};
  for (let i = 0; i < 10; i++) spec[`d${i % 3}/f${i}.bin`] = randomBytes(256 * 1024, i + 1);
  const src = tempTree(spec);
  const work = tempDir();
  const dst = join(work, 'dst');
  const db = join(work, 'job.db');
  return { src, dst, db, args: ['copy', src, dst, '--db', db, '--block-size', '64K'] };
}

const noTemps = (root: string): string[] => listAll(root).filter((p) => /\.ferry-tmp-/.test(p));

describe('ferry copy: interruptions', () => {
  it('resumes from the backlog after kill -9, without scanning, and ends identical with no temp files', async () => {
    const job = slowJob();
    const child = startCli([...job.args, '--bwlimit', '1M', '--json']);
    await waitForEvent(child, 'file.done');
    child.kill('SIGKILL');
    const killed = await finished(child);
    expect(killed.signal).toBe('SIGKILL');
    expect(statusCounts(job.db).pending).toBeGreaterThan(0);

    const resumed = await runCli([...job.args, '--json']);
    expect(resumed.code).toBe(0);
    const start = events(resumed.stdout).find((e) => e.type === 'run.start')!;
    expect(start.mode).toBe('resume');
    expect(events(resumed.stdout).some((e) => e.type === 'scan.progress')).toBe(false);
    expect(readTree(job.dst)).toEqual(readTree(job.src));
    expect(noTemps(job.dst)).toEqual([]);
    expect(statusCounts(job.db)).toEqual({ synced: 13 });
  });

  it('stops on SIGINT with exit 130, says how to resume, and the next run finishes the job', async () => {
    const job = slowJob();
    const child = startCli([...job.args, '--bwlimit', '1M']);
    await waitForOutput(child, /^plan:/m);
    child.kill('SIGINT');
    const stopped = await finished(child);
    expect(stopped.code).toBe(130);
    expect(stopped.stdout).toMatch(/to resume: .*ferry copy/);
    expect(noTemps(job.dst)).toEqual([]);
    expect(statusCounts(job.db).pending).toBeGreaterThan(0);

    const resumed = await runCli(job.args);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/^resuming \d+ file\(s\), .* from the backlog/m);
    expect(readTree(job.dst)).toEqual(readTree(job.src));
    expect(statusCounts(job.db)).toEqual({ synced: 13 });
  });

  it('a stop that comes between the plan and the first copy copies nothing', async () => {
    const job = slowJob();
    const stop = new AbortController();
    const listen = (e: FerryEvent): void => {
      if (e.type === 'plan.done') stop.abort(new Error('stopped by the test'));
    };
    const options = { ...COPY_DEFAULTS, source: job.src, destination: job.dst, db: job.db, checksum: null, deleteExtras: false, rescan: false, dryRun: false };
    const result = await copy(options, listen, stop.signal);
    expect(result.exitCode).toBe(EXIT.interrupted);
    expect(statusCounts(job.db)).toEqual({ pending: 13 });
    expect(listAll(job.dst).filter((p) => p.endsWith('.bin'))).toEqual([]);
  });

  it('counts "overall" in whole files, so it never goes backwards across a stop and a resume', async () => {
    const job = slowJob();
    const child = startCli([...job.args, '--bwlimit', '1M', '--json']);
    await waitForEvent(child, 'file.done');
    await waitForEvent(child, 'stats');
    child.kill('SIGINT');
    const stopped = await finished(child);
    expect(stopped.code).toBe(130);
    const resumed = await runCli([...job.args, '--bwlimit', '4M', '--json']);
    expect(resumed.code).toBe(0);

    const overall = (out: string): number[] => events(out).filter((e) => e.type === 'stats').map((e) => Number(e.bytesOverall));
    const first = overall(stopped.stdout);
    const second = overall(resumed.stdout);
    expect(first.at(-1)).toBeGreaterThan(0);
    expect(first.at(-1)! % (256 * 1024)).toBe(0); // whole files only, never a part of the one abandoned
    const all = [...first, ...second];
    for (let i = 1; i < all.length; i++) expect(all[i]).toBeGreaterThanOrEqual(all[i - 1]!);
    expect(second.at(-1)).toBe(10 * 256 * 1024);
  });

  it('exits at once on a second SIGINT, and the next run still resumes correctly', async () => {
    const job = slowJob();
    const child = startCli([...job.args, '--bwlimit', '512K', '--json']);
    await waitForEvent(child, 'file.start');
    child.kill('SIGINT');
    child.kill('SIGINT');
    const stopped = await finished(child);
    expect(stopped.code).toBe(130);

    const resumed = await runCli(job.args);
    expect(resumed.code).toBe(0);
    expect(readTree(job.dst)).toEqual(readTree(job.src));
    expect(noTemps(job.dst)).toEqual([]);
  });

  it('removes stale temp files when it scans, but not a fresh one another job may be writing', async () => {
    const src = tempTree({ 'a/x.txt': 'x' });
    const work = tempDir();
    const dst = tempTree(
      { 'a/.ferry-tmp-0123456789abcdef': 'partial', '.ferry-tmp-fedcba9876543210': 'partial', 'a/.ferry-tmp-00000000aaaaaaaa': 'live' },
      join(work, 'dst'),
    );
    const twoHoursAgo = Date.now() / 1000 - 7200;
    utimesSync(join(dst, 'a/.ferry-tmp-0123456789abcdef'), twoHoursAgo, twoHoursAgo);
    utimesSync(join(dst, '.ferry-tmp-fedcba9876543210'), twoHoursAgo, twoHoursAgo);
    const r = await runCli(['copy', src, dst, '--db', join(work, 'db'), '--delete-extras']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/removed 2 temp file/);
    expect(listAll(dst)).toEqual(['a', 'a/.ferry-tmp-00000000aaaaaaaa', 'a/x.txt']);
  });

  it('leaves a user file that merely looks like a temp name in the source out of the copy, and says so (exit 1)', async () => {
    const src = tempTree({ 'x.txt': 'x', '.ferry-tmp-0123456789abcdef': 'a partial file from some earlier copy' });
    const work = tempDir();
    const dst = join(work, 'dst');
    const r = await runCli(['copy', src, dst, '--db', join(work, 'db'), '--log', join(work, 'audit.log')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not copied: \.ferry-tmp-0123456789abcdef: its name is one ferry uses for its temp files/);
    expect(r.stdout).toMatch(/1 source file\(s\) are named like ferry's temp files/);
    expect(readFileSync(join(work, 'audit.log'), 'utf8')).toMatch(/"status":"skipped".*temp files/);
    expect(listAll(dst)).toEqual(['x.txt']);
  });

  it('does not take a database another ferry process is using', async () => {
    const job = slowJob();
    const child = startCli([...job.args, '--bwlimit', '1M', '--json']);
    await waitForEvent(child, 'file.start');
    const second = await runCli(job.args);
    child.kill('SIGKILL');
    await finished(child);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/^ferry: Another ferry process \(pid \d+\) is using the database/);
  });
});

describe('ferry copy: a lock left by a process that is gone', () => {
  it('takes over a lock whose process is a zombie (killed, never reaped), as after a kill -9 in a container', async () => {
    // The child exits at once and its parent never waits for it: a zombie for as long as the parent lives.
    const zombie = 'import os, time\npid = os.fork()\nif pid == 0:\n    os._exit(0)\nprint(pid, flush=True)\ntime.sleep(30)';
    const holder = spawn('python3', ['-c', zombie], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number((await once(holder.stdout, 'data'))[0].toString().trim());
      await expect.poll(() => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0], { timeout: 10_000 }).toBe('Z'); // the one wait: for the child to exit
      const job = slowJob();
      writeFileSync(`${job.db}.lock`, `${pid}\n`);
      const r = await runCli(job.args);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(readTree(job.dst)).toEqual(readTree(job.src));
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

describe('ferry copy: updates', () => {
  it('overwrites a changed file whole (a shorter one is truncated) and copies a new one', async () => {
    const src = tempTree({ 'big.bin': randomBytes(200_000, 7), 'same.txt': 'same' });
    const work = tempDir();
    const dst = join(work, 'dst');
    const args = ['copy', src, dst, '--db', join(work, 'db'), '--json'];
    expect((await runCli(args)).code).toBe(0);
    writeFileSync(join(src, 'big.bin'), 'short now');
    writeFileSync(join(src, 'new.txt'), 'new');
    const r = await runCli(args);
    expect(r.code).toBe(0);
    const copied = events(r.stdout).filter((e) => e.type === 'file.done').map((e) => e.path).sort();
    expect(copied).toEqual(['big.bin', 'new.txt']);
    expect(readTree(dst)).toEqual(readTree(src));
  });
});
