import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { events, runCli } from './helpers/cli.js';
import { dbRows } from './helpers/db.js';
import { readTree, tempDir, tempTree } from './helpers/tree.js';

const frozen: string[] = [];
afterAll(() => {
  for (const p of frozen) execFileSync('chattr', ['-i', p], { stdio: 'ignore' });
});

/** Makes a directory immutable (ext4's chattr +i, which binds root too); undone after the file. */
function immutable(path: string): void {
  execFileSync('chattr', ['+i', path]);
  frozen.push(path);
}

describe.skipIf(process.getuid?.() !== 0)('ferry copy: per-file failures (chattr +i needs root)', () => {
  it('records a file that cannot be written, goes on with the rest, and exits 1', async () => {
    const src = tempTree({ 'blocked/inside.txt': 'cannot land', 'fine/ok.txt': 'ok', 'top.txt': 'top' });
    const work = tempDir();
    // An immutable directory (chattr +i): not even root can create anything in it.
    const dst = tempTree({ blocked: null }, join(work, 'dst'));
    immutable(join(dst, 'blocked'));
    const db = join(work, 'db');
    const log = join(work, 'audit.log');
    const r = await runCli(['copy', src, dst, '--db', db, '--log', log, '--json']);
    expect(r.code).toBe(1);
    const failed = events(r.stdout).filter((e) => e.type === 'file.error').map((e) => e.path);
    expect(failed).toContain('blocked/inside.txt');
    expect(readFileSync(join(dst, 'fine/ok.txt'), 'utf8')).toBe('ok');
    expect(readFileSync(join(dst, 'top.txt'), 'utf8')).toBe('top');
    const [row] = dbRows(db, `SELECT status, error FROM files WHERE rel = 'blocked/inside.txt'`);
    expect(row!.status).toBe('failed');
    expect(String(row!.error)).toMatch(/\((EPERM|EACCES)\)$/);
    const audited = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audited.find((l) => l.source === join(src, 'blocked/inside.txt'))).toMatchObject({ status: 'failed', checksum: null });
    expect(r.stdout).not.toMatch(/^\s+at /m);
  });

  it('retries failed files on the next scan once the cause is gone', async () => {
    const src = tempTree({ 'blocked/inside.txt': 'lands later' });
    const work = tempDir();
    const dst = tempTree({ blocked: null }, join(work, 'dst'));
    immutable(join(dst, 'blocked'));
    const args = ['copy', src, dst, '--db', join(work, 'db')];
    expect((await runCli(args)).code).toBe(1);
    // The user clears the obstacle; the next run scans (nothing pending), finds it, copies it.
    execFileSync('chattr', ['-i', join(dst, 'blocked')]);
    const again = await runCli(args);
    expect(again.code).toBe(0);
    expect(readTree(dst)).toEqual(readTree(src));
  });
});

describe('ferry copy: hashes across rescans', () => {
  it('keeps the hash of an unchanged file and replaces the hash of a changed one', async () => {
    const src = tempTree({ 'same.txt': 'same', 'edit.txt': 'before' });
    const work = tempDir();
    const db = join(work, 'db');
    const args = ['copy', src, join(work, 'dst'), '--db', db, '--checksum', 'md5'];
    expect((await runCli(args)).code).toBe(0);
    const hashes = (): Record<string, unknown> => Object.fromEntries(dbRows(db).map((r) => [r.rel, r.hash]));
    const first = hashes();
    writeFileSync(join(src, 'edit.txt'), 'after, longer');
    expect((await runCli([...args, '--rescan'])).code).toBe(0);
    const second = hashes();
    expect(second['same.txt']).toBe(first['same.txt']);
    expect(second['same.txt']).toMatch(/^[0-9a-f]{32}$/);
    expect(second['edit.txt']).not.toBe(first['edit.txt']);
    expect(second['edit.txt']).toMatch(/^[0-9a-f]{32}$/);
  });
});
