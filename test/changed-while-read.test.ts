import { appendFileSync, existsSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { events, finished, runCli, startCli, waitForEvent } from './helpers/cli.js';
import { dbRows } from './helpers/db.js';
import { randomBytes, tempDir, tempTree } from './helpers/tree.js';

/** One 1 MiB file read at 256 KiB/s: about four seconds in which to change it. */
function slowSingleFile(): { src: string; dst: string; db: string; args: string[] } {
  const src = tempTree({ 'live.bin': randomBytes(1024 * 1024, 3) });
  const work = tempDir();
  const dst = join(work, 'dst');
  const db = join(work, 'db');
  return { src, dst, db, args: ['copy', src, dst, '--db', db, '--bwlimit', '256K', '--block-size', '64K', '--json'] };
}

describe('ferry copy: a source file that changes while it is read', () => {
  for (const [what, change] of [
    ['appended to', (p: string) => appendFileSync(p, 'more')],
    ['truncated', (p: string) => truncateSync(p, 1000)],
  ] as const) {
    it(`is requeued, not recorded, when it is ${what}`, async () => {
      const job = slowSingleFile();
      const child = startCli(job.args);
      // Change it once some of it is written: the reader is then in the middle of the file.
      await waitForEvent(child, 'stats', (e) => (e.current as Array<{ done: number }>).some((c) => c.done > 0));
      change(join(job.src, 'live.bin'));
      const r = await finished(child);
      expect(r.code).toBe(1); // not everything was copied: the file stays pending for the next run
      const skip = events(r.stdout).find((e) => e.type === 'file.skip');
      expect(skip?.reason).toBe('changed');
      expect(events(r.stdout).some((e) => e.type === 'file.done')).toBe(false);
      expect(existsSync(join(job.dst, 'live.bin'))).toBe(false);
      const [row] = dbRows(job.db, `SELECT status, hash FROM files WHERE rel = 'live.bin'`);
      expect(row).toEqual({ status: 'pending', hash: null });
      // The next run scans (the last run finished), so a file that keeps changing never blocks new ones.
      writeFileSync(join(job.src, 'new.txt'), 'new');
      const next = await runCli(job.args.filter((a, i, all) => a !== '--bwlimit' && all[i - 1] !== '--bwlimit'));
      expect(events(next.stdout).find((e) => e.type === 'run.start')?.mode).toBe('scan');
      expect(next.code).toBe(0);
      expect(readFileSync(join(job.dst, 'new.txt'), 'utf8')).toBe('new');
    });
  }

  it('when it is deleted during the run, is either copied first or forgotten, never failed', async () => {
    const src = tempTree({ 'a.bin': randomBytes(512 * 1024, 1), 'b.txt': 'b' });
    const work = tempDir();
    const db = join(work, 'db');
    const child = startCli(['copy', src, join(work, 'dst'), '--db', db, '--bwlimit', '256K', '--block-size', '64K', '--transfers', '1', '--json']);
    await waitForEvent(child, 'file.start');
    unlinkSync(join(src, 'b.txt'));
    const r = await finished(child);
    expect(r.code).toBe(0);
    const outcomes = events(r.stdout).filter((e) => e.type === 'file.skip' || e.type === 'file.done').map((e) => [e.path, e.type]);
    expect(outcomes).toContainEqual(['a.bin', 'file.done']);
    // b.txt either vanished before it was opened, or was already copied when it was deleted.
    const b = outcomes.find(([p]) => p === 'b.txt');
    expect(b).toBeDefined();
    expect(dbRows(db, `SELECT rel FROM files WHERE status <> 'synced'`)).toEqual([]);
  });
});
