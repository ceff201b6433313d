import { join } from 'node:path';
import { LocalTarget, MemoryTarget } from '../dist/index.js';
import { describeTarget } from './helpers/target-suite.js';
import { tempDir } from './helpers/tree.js';

// One contract, every implementation: the server's Target will be added here.
describeTarget('LocalTarget (a directory)', async () => {
  const root = join(tempDir(), 'dst');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(root);
  return new LocalTarget(root);
});

describeTarget('MemoryTarget', async () => new MemoryTarget());
