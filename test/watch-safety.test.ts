import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { events, finished, runCli, startCli, waitForOutput } from './helpers/cli.js';
import { tempDir, tempTree } from './helpers/tree.js';

describe('ferry watch --target --delete-extras: a long-running mirror', () => {
  it('deletes at most --max-delete files in one go (100 by default) and warns, even when one dotfile is left', async () => {
    const spec: Record<string, string> = { '.keep': 'a dotfile left behind' };
    for (let i = 0; i < 150; i++) spec[`p${i}.jpg`] = `photo ${i}`;
    const root = tempTree(spec);
    const work = tempDir();
    const dst = join(work, 'copy');
    const child = startCli(['watch', root, '--target', dst, '--delete-extras', '--db', join(work, 'index.db'), '--target-db', join(work, 'copy.db'), '--debounce', '50ms']);
    await waitForOutput(child, /target .*: copied 151 file\(s\)/);
    for (let i = 0; i < 150; i++) rmSync(join(root, `p${i}.jpg`));
    await waitForOutput(child, /nothing was deleted: 150 deletions would exceed --max-delete 100/, 'stderr');
    child.kill('SIGINT');
    expect((await finished(child)).code).toBe(0);
    expect(readdirSync(dst)).toHaveLength(151);
  });

  it('--max-delete takes a number and needs --delete-extras', async () => {
    const db = join(tempDir(), 'index.db');
    const bad = await runCli(['watch', tempDir(), '--target', tempDir(), '--delete-extras', '--max-delete', 'lots', '--db', db]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('ferry: --max-delete takes a whole number, not "lots".\n');
    const alone = await runCli(['watch', tempDir(), '--max-delete', '5', '--db', db]);
    expect(alone.code).toBe(2);
  });
});

describe('ferry watch: the root itself', () => {
  it('a root renamed away and made again is noticed: a warning, then the new directory is watched and indexed', async () => {
    const parent = tempDir();
    const root = join(parent, 'photos');
    mkdirSync(root);
    writeFileSync(join(root, 'old.jpg'), 'old');
    const db = join(tempDir(), 'index.db');
    const child = startCli(['watch', root, '--db', db, '--debounce', '100ms']);
    await waitForOutput(child, /^watching /m);
    renameSync(root, `${root}.old`);
    mkdirSync(root);
    writeFileSync(join(root, 'x.jpg'), 'x');
    await waitForOutput(child, /is no longer the directory being watched/, 'stderr');
    await waitForOutput(child, /reconciliation completed: 1 scanned, \+1 ~0 -1/);
    // And it is watched: a change there is recorded as it happens.
    writeFileSync(join(root, 'y.jpg'), 'y');
    await waitForOutput(child, /realtime completed: 1 scanned, \+1/);
    child.kill('SIGINT');
    expect((await finished(child)).code).toBe(0);
    const files = events((await runCli(['index', 'files', root, '--db', db, '--json'])).stdout).map((r) => r.filePath);
    expect(files).toEqual(['x.jpg', 'y.jpg']);
  });

  it('`ferry watch ROOT` for a root already in the index syncs it once; `index status` says a watcher is at work', async () => {
    const root = tempTree({ 'a.jpg': 'a' });
    const db = join(tempDir(), 'index.db');
    expect((await runCli(['roots', 'add', root, root, '--db', db])).code).toBe(0);
    const child = startCli(['watch', root, '--db', db, '--debounce', '100ms']);
    await waitForOutput(child, /^watching /m);
    const status = events((await runCli(['index', 'status', root, '--db', db, '--json'])).stdout)[0]!;
    expect(status.isWatching).toBe(true);
    expect((await runCli(['index', 'status', root, '--db', db])).stdout).toMatch(/1 file\(s\), watched now/);
    // A flush that changes nothing writes no history row: a file made and gone before it settled, a hidden file.
    writeFileSync(join(root, 'gone.jpg'), 'g');
    rmSync(join(root, 'gone.jpg'));
    writeFileSync(join(root, '.hidden'), 'h');
    await new Promise((r) => setTimeout(r, 400)); // past the 100 ms debounce: those flushes are done (the one wait of this test)
    writeFileSync(join(root, 'z.jpg'), 'z');
    await waitForOutput(child, /realtime completed: 1 scanned, \+1/);
    child.kill('SIGINT');
    expect((await finished(child)).code).toBe(0);
    const history = events((await runCli(['index', 'history', root, '--db', db, '--json'])).stdout);
    // One startup for roots add, one for watch (not two), one realtime row for z.jpg and none for the rest.
    expect(history.map((o) => o.operationType)).toEqual(['realtime', 'startup', 'startup']);
    const after = events((await runCli(['index', 'status', root, '--db', db, '--json'])).stdout)[0]!;
    expect(after.isWatching).toBe(false);
  });

  it('roots add refuses an id already in the index for another directory, and an empty id; nothing changes', async () => {
    const one = tempTree({ 'a.jpg': 'a' });
    const two = tempTree({ 'b.jpg': 'b' });
    const db = join(tempDir(), 'index.db');
    expect((await runCli(['roots', 'add', 'photos', one, '--db', db])).code).toBe(0);
    const again = await runCli(['roots', 'add', 'photos', two, '--db', db]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^ferry: There is already a root "photos" in the index, at .*; nothing was changed\.\nhint: To point "photos" at/);
    expect(events((await runCli(['index', 'files', 'photos', '--db', db, '--json'])).stdout).map((r) => r.filePath)).toEqual(['a.jpg']);
    const same = await runCli(['roots', 'add', 'photos', one, '--db', db]);
    expect(same.code).toBe(0);
    const empty = await runCli(['roots', 'add', '', one, '--db', db]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/^ferry: A root id must not be empty\./);
  });
});
