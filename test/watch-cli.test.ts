import { createHash } from 'node:crypto';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { events, finished, runCli, startCli, waitForOutput } from './helpers/cli.js';
import { tempDir, tempTree } from './helpers/tree.js';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('ferry roots / ferry index', () => {
  it('adds a root (indexing it), lists it, shows its files, status and history as text and JSON, and removes it', async () => {
    const root = tempTree({ 'a.jpg': 'aaa', 'b/c.jpg': 'cc' });
    const db = join(tempDir(), 'index.db');
    const added = await runCli(['roots', 'add', 'photos', root, '--db', db]);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^added photos: 2 file\(s\) indexed/);
    expect((await runCli(['roots', 'list', '--db', db])).stdout).toBe(`photos\t${root}\t2 file(s)\n`);
    const files = await runCli(['index', 'files', 'photos', '--db', db, '--json']);
    expect(events(files.stdout).map((r) => [r.filePath, r.fileSize, r.contentHash])).toEqual([
      ['a.jpg', 3, sha256('aaa')],
      ['b/c.jpg', 2, sha256('cc')],
    ]);
    const status = events((await runCli(['index', 'status', 'photos', '--db', db, '--json'])).stdout)[0]!;
    expect(status).toMatchObject({ repositoryId: 'photos', totalFiles: 2, isWatching: false });
    writeFileSync(join(root, 'd.jpg'), 'd');
    const rec = await runCli(['index', 'reconcile', 'photos', '--db', db]);
    expect(rec.code).toBe(0);
    expect(rec.stdout).toMatch(/photos reconciliation completed: 3 scanned, \+1 ~0 -0/);
    const history = await runCli(['index', 'history', 'photos', '--db', db]);
    expect(history.stdout.split('\n').filter(Boolean).map((l) => l.split(' ')[2])).toEqual(['reconciliation', 'startup']);
    expect((await runCli(['roots', 'remove', 'photos', '--db', db])).code).toBe(0);
    expect((await runCli(['roots', 'list', '--db', db])).stdout).toBe('');
  });

  it('bad input: a missing root exits 3, an unknown id exits 2, a bad duration exits 2, each with one sentence', async () => {
    const db = join(tempDir(), 'index.db');
    const missing = await runCli(['roots', 'add', 'x', join(tempDir(), 'nope'), '--db', db]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^ferry: The root .*nope cannot be read/);
    const unknown = await runCli(['index', 'status', 'nope', '--db', db]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('ferry: There is no root "nope" in the index.\n');
    const bad = await runCli(['watch', tempDir(), '--db', db, '--debounce', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^ferry: --debounce takes a duration/);
    const nothing = await runCli(['watch', '--db', db]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/There is nothing to watch/);
  });
});

describe('ferry watch', () => {
  it('indexes a root, records a change as it happens, and stops cleanly on SIGINT (exit 0)', async () => {
    const root = tempTree({ 'a.jpg': 'a' });
    const db = join(tempDir(), 'index.db');
    const child = startCli(['watch', root, '--db', db, '--debounce', '100ms']);
    await waitForOutput(child, /^watching /m);
    writeFileSync(join(root, 'new.jpg'), 'new');
    await waitForOutput(child, /realtime completed: 1 scanned, \+1/);
    child.kill('SIGINT');
    const r = await finished(child);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/startup completed: 1 scanned, \+1 ~0 -0/);
    const files = await runCli(['index', 'files', root, '--db', db]);
    expect(files.stdout).toBe(`a.jpg\t1 B\t${sha256('a')}\nnew.jpg\t3 B\t${sha256('new')}\n`);
  });

  it('with --target keeps a copy of the root current; deletes reach it only with --delete-extras', async () => {
    for (const deleteExtras of [false, true]) {
      const root = tempTree({ 'a.jpg': 'a', 'old.jpg': 'old' });
      const work = tempDir();
      const dst = join(work, 'copy');
      const args = ['watch', root, '--target', dst, '--db', join(work, 'index.db'), '--target-db', join(work, 'copy.db'), '--debounce', '100ms'];
      const child = startCli(deleteExtras ? [...args, '--delete-extras'] : args);
      await waitForOutput(child, /^watching /m);
      expect(readFileSync(join(dst, 'a.jpg'), 'utf8')).toBe('a');
      writeFileSync(join(root, 'new.jpg'), 'new');
      unlinkSync(join(root, 'old.jpg'));
      await waitForOutput(child, /target .*: copied 1 file\(s\), 3 B, deleted [01]/);
      child.kill('SIGINT');
      expect((await finished(child)).code).toBe(0);
      expect(readFileSync(join(dst, 'new.jpg'), 'utf8')).toBe('new');
      expect(existsSync(join(dst, 'old.jpg'))).toBe(!deleteExtras);
    }
  });

  it('--target takes one ROOT, and --delete-extras needs --target', async () => {
    const db = join(tempDir(), 'index.db');
    const two = await runCli(['watch', tempDir(), tempDir(), '--target', tempDir(), '--db', db]);
    expect(two.code).toBe(2);
    expect(two.stderr).toBe('ferry: --target takes exactly one ROOT to copy.\n');
    const lone = await runCli(['watch', tempDir(), '--delete-extras', '--db', db]);
    expect(lone.code).toBe(2);
    const inside = tempTree({ 'a.jpg': 'a' });
    const nested = await runCli(['watch', inside, '--target', join(inside, 'copy'), '--db', db]);
    expect(nested.code).toBe(2);
    expect(nested.stderr).toMatch(/inside/);
  });

  it('reads the index while a watcher holds it, refuses a second writer, and exits after an error that comes once it has started', async () => {
    const root = tempTree({ 'a.jpg': 'a' });
    const db = join(tempDir(), 'index.db');
    const child = startCli(['watch', root, '--db', db]);
    await waitForOutput(child, /^watching /m);
    const status = await runCli(['index', 'status', root, '--db', db]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/1 file\(s\)/);
    const second = await runCli(['index', 'reconcile', root, '--db', db]);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/^ferry: Another ferry process \(pid \d+\) is using the database/);
    child.kill('SIGINT');
    expect((await finished(child)).code).toBe(0);
    const missing = await runCli(['watch', join(tempDir(), 'gone'), '--db', db]); // the root already indexed is watched first
    expect(missing.code).toBe(3);
  });

  it('an index inside the watched root records none of its own writes', async () => {
    const root = tempTree({ 'a.jpg': 'a' });
    const db = join(root, 'state', 'index.db');
    const child = startCli(['watch', root, '--db', db, '--debounce', '50ms']);
    await waitForOutput(child, /^watching /m);
    writeFileSync(join(root, 'b.jpg'), 'b');
    await waitForOutput(child, /realtime completed: 1 scanned, \+1/);
    child.kill('SIGINT');
    const r = await finished(child);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/realtime/g)).toHaveLength(1);
    const files = await runCli(['index', 'files', root, '--db', db]);
    expect(files.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0])).toEqual(['a.jpg', 'b.jpg']);
  });

  it('--reconcile-every past a year is refused; a long one is accepted', async () => {
    const db = join(tempDir(), 'index.db');
    const bad = await runCli(['watch', tempDir(), '--db', db, '--reconcile-every', '9000h']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--reconcile-every takes at most a year/);
    const child = startCli(['watch', tempTree({ 'a.jpg': 'a' }), '--db', db, '--reconcile-every', '600h']);
    await waitForOutput(child, /^watching /m);
    child.kill('SIGINT');
    const r = await finished(child);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/reconciliation/g)).toBeNull(); // not one every millisecond
  });

  it('--target copies files the index leaves out, and says why a mirror deleted nothing', async () => {
    const root = tempTree({ 'a.jpg': 'a' });
    const work = tempDir();
    const dst = join(work, 'copy');
    const child = startCli(['watch', root, '--target', dst, '--delete-extras', '--db', join(work, 'index.db'), '--target-db', join(work, 'copy.db'), '--debounce', '50ms']);
    await waitForOutput(child, /^watching /m);
    writeFileSync(join(root, '.env'), 'SECRET=1');
    await waitForOutput(child, /copied 1 file\(s\), 8 B/);
    expect(readFileSync(join(dst, '.env'), 'utf8')).toBe('SECRET=1');
    unlinkSync(join(root, 'a.jpg'));
    unlinkSync(join(root, '.env'));
    await waitForOutput(child, /nothing was deleted: the source root .* is empty/, 'stderr');
    child.kill('SIGINT');
    expect((await finished(child)).code).toBe(0);
    expect(existsSync(join(dst, 'a.jpg'))).toBe(true);
  });
});
