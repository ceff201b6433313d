import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { randomBytes, readTree, tempDir, tempTree } from './helpers/tree.js';

describe('ferry copy --bwlimit', () => {
  // A lower bound only: a limit must never let the copy finish faster than the rate allows.
  // How close to the limit ferry runs is measured in bench/, not asserted here.
  it('takes at least as long as the limit implies (3 MiB at 1 MiB/s ≥ 2.9 s)', async () => {
    const src = tempTree({ 'a.bin': randomBytes(1024 * 1024, 1), 'b/c.bin': randomBytes(2 * 1024 * 1024, 2) });
    const work = tempDir();
    const dst = join(work, 'dst');
    const started = performance.now();
    const r = await runCli(['copy', src, dst, '--db', join(work, 'db'), '--bwlimit', '1M', '--block-size', '64K']);
    const seconds = (performance.now() - started) / 1000;
    expect(r.code).toBe(0);
    // The bucket starts empty and holds one block at most: (3 MiB - 64 KiB) / 1 MiB/s.
    expect(seconds).toBeGreaterThanOrEqual(2.9);
    expect(readTree(dst)).toEqual(readTree(src));
  });

  it('accepts plain bytes and K/M/G suffixes', async () => {
    const src = tempTree({ 'a.txt': 'a' });
    const work = tempDir();
    for (const rate of ['1048576', '512K', '20M', '1G', '20MiB']) {
      const r = await runCli(['copy', src, join(work, `dst-${rate}`), '--db', join(work, `db-${rate}`), '--bwlimit', rate]);
      expect(r.code).toBe(0);
    }
  });
});
