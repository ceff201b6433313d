import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { events, finished, runCli, startCli, waitForEvent } from './helpers/cli.js';
import { listAll, randomBytes, readTree, tempDir, tempTree } from './helpers/tree.js';

function setup(): { src: string; dst: string; work: string; args: string[] } {
  const src = tempTree({ 'keep/a.txt': 'a', 'b.txt': 'b' });
  const work = tempDir();
  const dst = tempTree({ 'keep/a.txt': 'old', 'extra.txt': 'x', 'gone/deep/e.txt': 'e', 'gone/f.txt': 'f' }, join(work, 'dst'));
  return { src, dst, work, args: ['copy', src, dst, '--db', join(work, 'db'), '--log', join(work, 'audit.log')] };
}

const audit = (work: string): Array<Record<string, unknown>> =>
  readFileSync(join(work, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('ferry copy --delete-extras (mirror)', () => {
  it('is off by default: extra destination files stay', async () => {
    const { dst, args } = setup();
    expect((await runCli(args)).code).toBe(0);
    expect(existsSync(join(dst, 'extra.txt'))).toBe(true);
    expect(existsSync(join(dst, 'gone/deep/e.txt'))).toBe(true);
  });

  it('deletes files and directories the source does not have, after the copy, and audits each', async () => {
    const { src, dst, work, args } = setup();
    const r = await runCli([...args, '--delete-extras']);
    expect(r.code).toBe(0);
    expect(listAll(dst)).toEqual(listAll(src));
    expect(readTree(dst)).toEqual(readTree(src));
    const deleted = audit(work).filter((l) => l.status === 'deleted').map((l) => l.destination).sort();
    expect(deleted).toEqual(['extra.txt', 'gone', 'gone/deep', 'gone/deep/e.txt', 'gone/f.txt'].map((p) => join(dst, p)));
  });

  it('moves extras into --trash instead of deleting them', async () => {
    const { src, dst, work, args } = setup();
    const trash = join(work, 'trash');
    const r = await runCli([...args, '--delete-extras', '--trash', trash]);
    expect(r.code).toBe(0);
    expect(listAll(dst)).toEqual(listAll(src));
    const [run] = readdirSync(trash); // one subdirectory per run, so nothing trashed twice is lost
    expect(readFileSync(join(trash, run!, 'extra.txt'), 'utf8')).toBe('x');
    expect(readFileSync(join(trash, run!, 'gone/deep/e.txt'), 'utf8')).toBe('e');
  });

  it('refuses a --trash, --db or --log inside the source or the destination', async () => {
    const { src, dst, work } = setup();
    for (const extra of [
      ['--delete-extras', '--trash', join(src, '.trash')],
      ['--delete-extras', '--trash', join(dst, '.trash')],
      ['--db', join(dst, 'job.db')],
      ['--db', join(src, 'job.db')],
      ['--db', join(work, 'db2'), '--log', join(dst, 'audit.log')],
    ]) {
      const r = await runCli(['copy', src, dst, ...(extra.includes('--db') ? [] : ['--db', join(work, 'db')]), ...extra]);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^ferry: .* is inside the (source|destination) .*; put it outside both trees\.$/m);
    }
    expect(listAll(src)).toEqual(['b.txt', 'keep', 'keep/a.txt']);
  });

  it('lists deletions on --dry-run and changes nothing', async () => {
    const { dst, work, args } = setup();
    const before = readTree(dst);
    const r = await runCli([...args, '--delete-extras', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^would delete extra\.txt$/m);
    expect(r.stdout).toMatch(/^would copy keep\/a\.txt/m);
    expect(readTree(dst)).toEqual(before);
    expect(existsSync(join(work, 'db'))).toBe(false);
    expect(existsSync(join(work, 'audit.log'))).toBe(false);
  });

  it('refuses past --max-delete: exit 4, nothing deleted, the refusal audited', async () => {
    const { dst, work, args } = setup();
    const r = await runCli([...args, '--delete-extras', '--max-delete', '2']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/mirror refused, nothing deleted: 3 deletions would exceed --max-delete 2/);
    expect(existsSync(join(dst, 'extra.txt'))).toBe(true);
    expect(audit(work).some((l) => l.status === 'refused')).toBe(true);
  });

  it('refuses when the source root is empty (an unmounted share) while the destination is not', async () => {
    const src = tempDir();
    const work = tempDir();
    const dst = tempTree({ 'precious.txt': 'p' }, join(work, 'dst'));
    const r = await runCli(['copy', src, dst, '--db', join(work, 'db'), '--delete-extras']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/is empty \(an unmounted share\?\)/);
    expect(readFileSync(join(dst, 'precious.txt'), 'utf8')).toBe('p');
  });

  it('refuses when the source root went missing after the scan (resume, then mirror)', async () => {
    const { src, dst, args } = setup();
    for (let i = 0; i < 8; i++) writeFileSync(join(src, `slow${i}.bin`), randomBytes(128 * 1024, i));
    const child = startCli([...args, '--bwlimit', '1M', '--block-size', '64K', '--json']);
    await waitForEvent(child, 'file.done');
    child.kill('SIGKILL');
    await finished(child);
    rmSync(src, { recursive: true });
    const r = await runCli([...args, '--delete-extras']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^ferry: The source .* cannot be read/);
    expect(existsSync(join(dst, 'extra.txt'))).toBe(true);
  });

  it('refuses after a scan that met errors (a directory it could not read)', async () => {
    const { src, dst, args } = setup();
    // A name that is not valid UTF-8 is a scan error (ferry cannot copy it yet), as an unreadable directory is.
    writeFileSync(Buffer.concat([Buffer.from(`${src}/caf`), Buffer.from([0xe9])]), 'latin-1 name');
    const r = await runCli([...args, '--delete-extras', '--json']);
    expect(r.code).toBe(4);
    const refused = events(r.stdout).find((e) => e.type === 'mirror.refused');
    expect(refused?.reason).toMatch(/the last scan met \d+ error/);
    expect(existsSync(join(dst, 'extra.txt'))).toBe(true);
  });

  it('re-checks the source live before each delete: a file that appears during the run is kept', async () => {
    const { src, dst, args } = setup();
    for (let i = 0; i < 8; i++) writeFileSync(join(src, `slow${i}.bin`), randomBytes(128 * 1024, i));
    const child = startCli([...args, '--delete-extras', '--bwlimit', '1M', '--block-size', '64K', '--json']);
    await waitForEvent(child, 'plan.done');
    mkdirSync(join(src, 'gone'), { recursive: true });
    writeFileSync(join(src, 'extra.txt'), 'now in the source');
    const r = await finished(child);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dst, 'extra.txt'), 'utf8')).toBe('x');
    expect(existsSync(join(dst, 'gone/f.txt'))).toBe(false);
    expect(existsSync(join(dst, 'gone'))).toBe(true);
  });

  it('on a destination that ignores case, keeps an "extra" that is the source file under another case, non-ASCII letters included', async () => {
    // Simulated: no case-folding filesystem can be mounted here (the kernel has no casefold support),
    // so the job's probed fact is set to what exFAT or SMB would give, and the destination holds
    // the name as such a filesystem would keep it after copying over an older "émile.txt".
    const src = tempTree({ 'Émile.txt': 'new', 'Photos/Ärger.jpg': 'a' });
    const work = tempDir();
    const dst = join(work, 'dst');
    const db = join(work, 'db');
    const args = ['copy', src, dst, '--db', db, '--delete-extras'];
    expect((await runCli(args)).code).toBe(0);
    const d = new Database(db);
    d.prepare('UPDATE job SET dest_case_sensitive = 0').run();
    d.close();
    rmSync(join(dst, 'Émile.txt'));
    writeFileSync(join(dst, 'émile.txt'), 'new');
    mkdirSync(join(dst, 'photos'));
    writeFileSync(join(dst, 'photos', 'ärger.jpg'), 'a');
    writeFileSync(join(dst, 'really-extra.txt'), 'x');
    const r = await runCli(args); // not --rescan: that probes the destination again
    expect(r.stderr).toBe('');
    expect(existsSync(join(dst, 'émile.txt'))).toBe(true);
    expect(existsSync(join(dst, 'photos', 'ärger.jpg'))).toBe(true);
    expect(existsSync(join(dst, 'really-extra.txt'))).toBe(false);
  });
});
