import { mkdirSync, readdirSync, renameSync, symlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { LocalTarget, MemoryTarget } from '../dist/index.js';
import { describeTarget } from './helpers/target-suite.js';
import { tempDir } from './helpers/tree.js';

// One contract, every implementation: the server's Target will be added here.
describeTarget('LocalTarget (a directory)', async () => {
  const root = join(tempDir(), 'dst');
  mkdirSync(root);
  return new LocalTarget(root);
}, {
  // Another directory put where the root was (a share unmounted and another mounted, a root swapped).
  async takeAway(t) {
    renameSync(t.root, `${t.root}.away`);
    mkdirSync(t.root);
  },
});

describeTarget('MemoryTarget', async () => new MemoryTarget(), {
  async takeAway(t) {
    (t as InstanceType<typeof MemoryTarget>).present = false;
  },
});

describe("a drive's folder", () => {
  it('is pinned to the directory that was checked: a link put in its place after the check gets nothing', async () => {
    const { openDriveTarget } = await import('../dist/targets/drive.js');
    const mount = tempDir();
    const elsewhere = tempDir();
    const target = await openDriveTarget(mount, 'Photos/ferry', 'route:test', 'USB');
    renameSync(join(mount, 'Photos/ferry'), join(mount, 'Photos/was'));
    symlinkSync(elsewhere, join(mount, 'Photos/ferry'));
    const h = target.openWrite('x.txt');
    await expect(h).rejects.toMatchObject({ code: 'ENXIO' });
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});
