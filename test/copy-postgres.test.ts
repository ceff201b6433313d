import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PgStore } from '../dist/index.js';
import { events, finished, runCli, startCli, waitForEvent } from './helpers/cli.js';
import { freshPgDatabase } from './helpers/postgres.js';
import { randomBytes, readTree, tempDir, tempTree } from './helpers/tree.js';

async function statuses(url: string): Promise<Record<string, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM files GROUP BY status');
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  } finally {
    await c.end();
  }
}

describe('ferry copy on a PostgreSQL Store (--db postgres://…)', () => {
  it('copies, finds nothing to do the second time, resumes after kill -9, and mirrors', async () => {
    const spec: Record<string, Buffer> = {};
    for (let i = 0; i < 10; i++) spec[`d${i % 3}/f${i}.bin`] = randomBytes(256 * 1024, i + 1);
    const src = tempTree(spec);
    const work = tempDir();
    const dst = join(work, 'dst');
    const url = await freshPgDatabase();
    const args = ['copy', src, dst, '--db', url, '--log', join(work, 'audit.log'), '--block-size', '64K'];

    const child = startCli([...args, '--bwlimit', '1M', '--json']);
    await waitForEvent(child, 'file.done');
    child.kill('SIGKILL');
    expect((await finished(child)).signal).toBe('SIGKILL');
    expect((await statuses(url)).pending).toBeGreaterThan(0);

    const resumed = await runCli([...args, '--json']);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(events(resumed.stdout).find((e) => e.type === 'run.start')?.mode).toBe('resume');
    expect(readTree(dst)).toEqual(readTree(src));
    expect(await statuses(url)).toEqual({ synced: 13 });

    const again = await runCli([...args, '--json']);
    expect(events(again.stdout).find((e) => e.type === 'plan.done')).toMatchObject({ pending: 0, files: 13 });

    writeFileSync(join(dst, 'd0', 'extra.txt'), 'not in the source');
    const mirrored = await runCli([...args, '--delete-extras']);
    expect(mirrored.code).toBe(0);
    expect(readTree(dst)).toEqual(readTree(src));
  });

  it('workers that bind a new database at the same moment all get the one job (no duplicate job row)', async () => {
    const url = await freshPgDatabase();
    const stores = await Promise.all([1, 2, 3, 4].map(() => PgStore.open(url)));
    try {
      const jobs = await Promise.all(stores.map((s) => s.bindJob('/src', '/dst')));
      expect(jobs.map((j) => [j.sourceRoot, j.destRoot])).toEqual(Array(4).fill(['/src', '/dst']));
      await expect(stores[0]!.bindJob('/other', '/dst')).rejects.toMatchObject({ code: 'JOB_MISMATCH' });
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('takes a second process on the same database as a worker of the job, and refuses a database of another pair', async () => {
    const url = await freshPgDatabase();
    const src = tempTree({ 'a.bin': randomBytes(512 * 1024, 3), 'b.bin': randomBytes(512 * 1024, 4) });
    const dst = join(tempDir(), 'dst');
    const env = { XDG_STATE_HOME: tempDir() }; // the default audit log goes there, not into $HOME
    const child = startCli(['copy', src, dst, '--db', url, '--bwlimit', '256K', '--json'], env);
    await waitForEvent(child, 'file.start');
    const second = await runCli(['copy', src, dst, '--db', url, '--json'], env);
    const first = await finished(child);
    expect(second.code).toBe(0);
    expect(first.code).toBe(0);
    expect(events(second.stdout).find((e) => e.type === 'run.start')).toMatchObject({ mode: 'join' });
    expect(readTree(dst)).toEqual(readTree(src));
    const other = await runCli(['copy', tempTree({ 'b.txt': 'b' }), join(tempDir(), 'dst'), '--db', url], env);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/belongs to/);
  });
});
