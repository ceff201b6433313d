import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { events, runCli } from './helpers/cli.js';
import { listAll, randomBytes, readTree, setTimes, tempDir, tempTree, type TreeSpec } from './helpers/tree.js';

const KIB64 = 64 * 1024;
const MIB5 = 5 * 1024 * 1024;

/**
 * readTree as relative path → "size:sha256": comparing multi-MiB Buffers with toEqual is
 * element by element and far too slow; a digest per file compares the same content.
 */
function contentOf(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [rel, digest] of readTree(root)) out.set(rel, digest);
  return out;
}

/**
 * Every entry under the destination root (files and directories) → its ctime in nanoseconds.
 * The root itself is checked by a test of its own below, so that its failure stays separate.
 */
function ctimes(root: string): Map<string, bigint> {
  return new Map(listAll(root).map((rel) => [rel, lstatSync(join(root, rel), { bigint: true }).ctimeNs]));
}

/**
 * Copies `spec` once (everything must arrive intact), then again with the same database: the second
 * run must find nothing to do and touch nothing on the destination.
 */
async function copyTwice(spec: TreeSpec, extra: string[] = []): Promise<{ src: string; dst: string }> {
  const src = tempTree(spec);
  const work = tempDir();
  const dst = join(work, 'dst');
  const db = join(work, 'job.db');
  const args = ['copy', src, dst, '--db', db, '--json', ...extra];

  const first = await runCli(args);
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  const firstEvents = events(first.stdout);
  expect(firstEvents.filter((e) => e.type === 'file.error')).toEqual([]);
  expect(contentOf(dst)).toEqual(contentOf(src));
  expect(listAll(dst)).toEqual(listAll(src));

  const before = ctimes(dst);
  const second = await runCli(args);
  expect(second.stderr).toBe('');
  expect(second.code).toBe(0);
  const secondEvents = events(second.stdout);
  const plan = secondEvents.find((e) => e.type === 'plan.done');
  expect(plan, 'plan.done of the second run').toBeDefined();
  expect(plan!.pending).toBe(0);
  expect(secondEvents.filter((e) => e.type === 'file.done')).toEqual([]);
  expect(secondEvents.filter((e) => e.type === 'file.error')).toEqual([]);
  expect(ctimes(dst)).toEqual(before);
  expect(contentOf(dst)).toEqual(contentOf(src));
  return { src, dst };
}

describe('names and sizes that trip copy tools', () => {
  it('copies odd names byte for byte, then finds nothing to do', async () => {
    const nfc = 'caf\u00e9.txt';
    const nfd = 'cafe\u0301.txt';
    expect(nfc.normalize('NFC')).toBe(nfd.normalize('NFC'));
    const long = `${'n'.repeat(251)}.txt`;
    expect(Buffer.byteLength(long)).toBe(255);
    const spec: TreeSpec = {
      [nfc]: 'composed',
      [nfd]: 'decomposed',
      'with  two spaces .txt': 'spaces',
      ' leading space': 'leading space',
      "it's.txt": 'single quote',
      'say "hi".txt': 'double quotes',
      '[brackets] {braces} (parens).txt': 'brackets',
      '*?.txt': 'glob characters',
      '-rf': 'leading dash',
      '.hidden': 'leading dot',
      'new\nline.txt': 'a newline in the name',
      'back\\slash $HOME `tick` ;&|<>.txt': 'shell metacharacters',
      [long]: 'a 255-byte name',
      'empty.txt': '',
      'dir with space/-dash/[x]/\u00e9\u0301/file': 'nested odd directories',
      '.dotdir/empty': '',
    };
    const { dst } = await copyTwice(spec);
    const names = listAll(dst);
    expect(names).toContain(nfc);
    expect(names).toContain(nfd);
    expect(names).toContain('new\nline.txt');
    expect(names).toContain(long);
    expect(names).toContain('-rf');
  });

  it('copies empty files and files at the edges of a 64K block', async () => {
    await copyTwice(
      {
        'empty-1': '',
        'sub/empty-2': '',
        'one-byte': 'x',
        'block-minus-1': randomBytes(KIB64 - 1, 1),
        'block': randomBytes(KIB64, 2),
        'block-plus-1': randomBytes(KIB64 + 1, 3),
        'two-blocks': randomBytes(2 * KIB64, 4),
        'two-blocks-plus-1': randomBytes(2 * KIB64 + 1, 5),
      },
      ['--block-size', '64K'],
    );
  });

  it('copies files at the edges of the default 5M block', async () => {
    await copyTwice({
      'block-minus-1': randomBytes(MIB5 - 1, 6),
      'block': randomBytes(MIB5, 7),
      'block-plus-1': randomBytes(MIB5 + 1, 8),
      'empty': '',
    });
  });

  it('a second run with nothing to copy leaves the destination root alone (mtime and ctime)', async () => {
    const src = tempTree({ 'a.txt': 'a', 'sub/b.txt': 'b' });
    setTimes(src, 1_000_000_000, 1_000_000_000);
    const work = tempDir();
    const dst = join(work, 'dst');
    const args = ['copy', src, dst, '--db', join(work, 'job.db'), '--json'];
    const first = await runCli(args);
    expect(first.code).toBe(0);
    const before = lstatSync(dst, { bigint: true });
    expect(before.mtimeNs).toBe(1_000_000_000_000_000_000n);
    // Let the clock move (the one wait here is for time itself): a root touched by the second
    // run would then show a ctime different from `before`.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await runCli(args);
    expect(second.code).toBe(0);
    expect(events(second.stdout).filter((e) => e.type === 'file.done')).toEqual([]);
    const after = lstatSync(dst, { bigint: true });
    expect.soft(after.mtimeNs, 'root mtime after the second run').toBe(before.mtimeNs);
    expect.soft(after.ctimeNs, 'root ctime after the second run').toBe(before.ctimeNs);
    expect(listAll(dst)).toEqual(['a.txt', 'sub', 'sub/b.txt']);
  });

  it('copies a path 40 directories deep', async () => {
    const dirs = Array.from({ length: 40 }, (_, i) => `level-${String(i + 1).padStart(2, '0')}`);
    const deep = dirs.join('/');
    const { dst } = await copyTwice({
      [`${deep}/deepest.txt`]: 'at the bottom',
      [`${dirs.slice(0, 20).join('/')}/middle.bin`]: randomBytes(1000, 9),
      [`${deep}/empty-dir`]: null,
    });
    expect(listAll(dst)).toContain(`${deep}/deepest.txt`);
    expect(listAll(dst)).toContain(`${deep}/empty-dir`);
  });
});
