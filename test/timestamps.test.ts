import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { events, runCli } from './helpers/cli.js';
import { tempDir, tempTree } from './helpers/tree.js';

const ns = (p: string): { m: bigint; a: bigint; c: bigint } => {
  const s = statSync(p, { bigint: true });
  return { m: s.mtimeNs, a: s.atimeNs, c: s.ctimeNs };
};

/** Source files with times that use every nanosecond digit, set by coreutils touch. */
function treeWithNsTimes(): string {
  const src = tempTree({ 'one.txt': 'one', 'dir/two.txt': 'two' });
  for (const [rel, stamp] of [['one.txt', '2019-05-06 07:08:09.123456789'], ['dir/two.txt', '2001-02-03 04:05:06.987654321']]) {
    execFileSync('touch', ['-m', '-d', stamp!, join(src, rel!)]);
    execFileSync('touch', ['-a', '-d', '2020-01-01 00:00:00.000000001', join(src, rel!)]);
  }
  return src;
}

describe('ferry copy: timestamps', () => {
  it('keeps mtime and atime to the nanosecond, and the copy counts as unchanged on the next run', async () => {
    const src = treeWithNsTimes();
    const before = { one: ns(join(src, 'one.txt')), two: ns(join(src, 'dir/two.txt')) };
    const work = tempDir();
    const dst = join(work, 'dst');
    const args = ['copy', src, dst, '--db', join(work, 'db'), '--json'];
    expect((await runCli(args)).code).toBe(0);
    for (const [rel, want] of [['one.txt', before.one], ['dir/two.txt', before.two]] as const) {
      const got = ns(join(dst, rel));
      expect(got.m).toBe(want.m);
      expect(got.a).toBe(want.a);
      expect(ns(join(src, rel))).toEqual(want); // the source's times, atime included, are untouched
    }
    const ctimeBefore = ns(join(dst, 'one.txt')).c;
    const again = await runCli(args);
    const plan = events(again.stdout).find((e) => e.type === 'plan.done')!;
    expect(plan.pending).toBe(0);
    expect(plan.modifyWindowNs).toBe('1');
    expect(ns(join(dst, 'one.txt')).c).toBe(ctimeBefore); // not rewritten, not even re-timed
  });

  it('without the native helper, keeps times to the microsecond and still skips its own copies', async () => {
    const src = treeWithNsTimes();
    const work = tempDir();
    const dst = join(work, 'dst');
    const args = ['copy', src, dst, '--db', join(work, 'db'), '--json'];
    const env = { FERRY_NO_NATIVE: '1' };
    expect((await runCli(args, env)).code).toBe(0);
    const want = ns(join(src, 'one.txt')).m;
    const got = ns(join(dst, 'one.txt')).m;
    expect(got - (want - (want % 1000n))).toBe(0n); // truncated to the microsecond, never rounded away
    const ctime = ns(join(dst, 'one.txt')).c;
    const again = await runCli(args, env);
    const plan = events(again.stdout).find((e) => e.type === 'plan.done')!;
    expect(plan.pending).toBe(0);
    expect(plan.modifyWindowNs).toBe('1000');
    expect(ns(join(dst, 'one.txt')).c).toBe(ctime);
  });

  it('honours an explicit --modify-window', async () => {
    const src = tempTree({ 'f.txt': 'same size' });
    const work = tempDir();
    const dst = join(work, 'dst');
    const args = ['copy', src, dst, '--db', join(work, 'db'), '--json'];
    expect((await runCli(args)).code).toBe(0);
    execFileSync('touch', ['-m', '-d', '@' + String(Math.floor(statSync(join(src, 'f.txt')).mtimeMs / 1000) + 5), join(src, 'f.txt')]);
    const strict = events((await runCli([...args, '--dry-run'])).stdout).find((e) => e.type === 'plan.done')!;
    expect(strict.pending).toBe(1);
    const loose = events((await runCli([...args, '--modify-window', '10s'])).stdout).find((e) => e.type === 'plan.done')!;
    expect(loose.pending).toBe(0);
  });
});
