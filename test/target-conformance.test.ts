import { mkdirSync, renameSync } from 'node:fs';
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
