import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
import { LocalTree, RemoteTarget, runJob, SqliteStore, startServer, type RunOptions } from '../dist/index.js';
import { tempDir, tempTree } from './helpers/tree.js';

it('dbg', async () => {
  const root = tempDir();
  const server = await startServer({ dir: join(root, 'sync'), db: join(root, 's.db'), port: 0, log: false });
  const src = tempTree({ 'a.txt': 'alpha' });
  const big = randomBytes(700 * 1024);
  writeFileSync(join(src, 'big.bin'), big);
  const db = join(tempDir(), 'job.db');
  const options: RunOptions = { rescan: false, dryRun: false, setterPrecisionNs: 1n, blockSize: 64 * 1024, queueCapacity: 8, transfers: 2, algorithm: 'sha256' };
  const store = SqliteStore.open(db);
  const events: unknown[] = [];
  const r = await runJob(store, new LocalTree(src), new RemoteTarget(server.url), options, (e) => events.push(e), new AbortController().signal);
  await store.close();
  const got = readFileSync(join(root, 'sync/big.bin'));
  console.log(r.status, got.length, big.length);
  for (let i = 0; i < got.length; i += 64 * 1024) console.log(i, got.subarray(i, i + 64 * 1024).equals(big.subarray(i, i + 64 * 1024)), big.indexOf(got.subarray(i, i + 16)));
  await server.close();
});
