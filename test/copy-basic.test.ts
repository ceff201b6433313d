import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { events, runCli } from './helpers/cli.js';
import { listAll, randomBytes, readTree, setTimes, tempDir, tempTree } from './helpers/tree.js';

describe('ferry copy: a full sync', () => {
  it('copies every file, directory and symlink, keeps content and times, and records each row synced', async () => {
    const src = tempTree({
      'a/one.bin': randomBytes(300_000, 1),
      'a/b/two.txt': 'two',
      'empty.txt': '',
      'emptydir': null,
      'link': { symlink: 'a/b/two.txt' },
    });
    setTimes(join(src, 'a/one.bin'), 1_500_000_000, 1_400_000_000);
    const work = tempDir();
    const dst = join(work, 'dst');
    const db = join(work, 'job.db');
    const r = await runCli(['copy', src, dst, '--db', db]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Times first: reading the copy below moves its atime.
    expect(statSync(join(dst, 'a/one.bin')).mtimeMs).toBe(1_400_000_000_000);
    expect(statSync(join(dst, 'a/one.bin')).atimeMs).toBe(1_500_000_000_000);
    expect(readTree(dst)).toEqual(readTree(src));
    expect(listAll(dst)).toEqual(listAll(src));
    const rows = new Database(db, { readonly: true }).prepare('SELECT rel, status FROM files').all() as Array<{ status: string }>;
    expect(rows).toHaveLength(7);
    expect(rows.every((row) => row.status === 'synced')).toBe(true);
  });

  it('reports the run as NDJSON with --json', async () => {
    const src = tempTree({ 'x.txt': 'x' });
    const work = tempDir();
    const r = await runCli(['copy', src, join(work, 'dst'), '--db', join(work, 'db'), '--json']);
    expect(r.code).toBe(0);
    const types = events(r.stdout).map((e) => e.type);
    expect(types[0]).toBe('run.start');
    expect(types).toContain('plan.done');
    expect(types).toContain('file.done');
    expect(types.at(-1)).toBe('run.end');
  });
});
