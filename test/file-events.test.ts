import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { events, finished, runCli, startCli, waitForEvent } from './helpers/cli.js';
import { randomBytes, tempDir, tempTree } from './helpers/tree.js';

/** Each file a run starts ends in exactly one file.done, file.error or file.skip (the server and dashboard count on it). */
function unclosed(stdout: string): string[] {
  const open = new Map<string, number>();
  for (const e of events(stdout)) {
    const path = e.path as string;
    if (e.type === 'file.start') open.set(path, (open.get(path) ?? 0) + 1);
    if (e.type === 'file.done' || e.type === 'file.error' || e.type === 'file.skip') open.set(path, (open.get(path) ?? 0) - 1);
  }
  return [...open].filter(([, n]) => n !== 0).map(([p]) => p);
}

describe('file events', () => {
  it('a run stopped mid-file closes every file it started: the unfinished ones stay pending', async () => {
    const src = tempTree({ 'a.bin': randomBytes(2 * 1024 * 1024, 1), 'b.bin': randomBytes(2 * 1024 * 1024, 2) });
    const work = tempDir();
    const child = startCli(['copy', src, join(work, 'dst'), '--db', join(work, 'db'), '--bwlimit', '512K', '--block-size', '64K', '--json']);
    await waitForEvent(child, 'file.start');
    child.kill('SIGTERM');
    const r = await finished(child);
    expect(r.code).toBe(130);
    expect(unclosed(r.stdout)).toEqual([]);
    const pending = events(r.stdout).filter((e) => e.type === 'file.skip' && e.reason === 'pending');
    expect(pending.length).toBeGreaterThan(0);
    expect(r.stdout).toContain('"type":"run.end"');
  });

  it('a file that waits for the mirror to remove a directory is closed as pending, then copied', async () => {
    const src = tempTree({ 'x/keep.txt': 'k' });
    const work = tempDir();
    const dst = join(work, 'dst');
    const db = join(work, 'db');
    expect((await runCli(['copy', src, dst, '--db', db])).code).toBe(0);
    // The source's directory x becomes a file: the copy's x still holds keep.txt until the mirror removes it.
    const { rmSync } = await import('node:fs');
    rmSync(join(src, 'x'), { recursive: true });
    writeFileSync(join(src, 'x'), 'now a file');
    const r = await runCli(['copy', src, dst, '--db', db, '--delete-extras', '--json']);
    expect(r.code).toBe(0);
    expect(unclosed(r.stdout)).toEqual([]);
    const x = events(r.stdout).filter((e) => e.path === 'x' && e.type !== 'file.start').map((e) => (e.type === 'file.skip' ? `skip:${String(e.reason)}` : e.type));
    expect(x).toContain('file.done');
  });
});
