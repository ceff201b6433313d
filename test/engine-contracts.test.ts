import { mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalTarget, LocalTree, MemoryTarget, runJob, SqliteStore, type FerryEvent, type RunOptions, type Target, type Tree } from '../dist/index.js';
import { tempDir, tempTree } from './helpers/tree.js';

const OPTIONS: RunOptions = {
  rescan: false, dryRun: false, setterPrecisionNs: 1n, blockSize: 64 * 1024, queueCapacity: 8, transfers: 2, algorithm: 'sha256',
};

async function run(source: Tree, target: Target, db: string, extra: Partial<RunOptions> = {}): Promise<{ events: FerryEvent[]; status: string }> {
  const store = SqliteStore.open(db);
  const events: FerryEvent[] = [];
  try {
    const r = await runJob(store, source, target, { ...OPTIONS, ...extra }, (e) => events.push(e), new AbortController().signal);
    return { events, status: r.status };
  } finally {
    await store.close();
  }
}

const T = { atimeNs: 1_600_000_000_000_000_000n, mtimeNs: 1_600_000_000_123_456_789n };

/**
 * The engine reaches both trees through their contracts only (core/tree.ts, core/target.ts): a
 * tree that is no directory at all (MemoryTarget) is scanned, read, written and mirrored as one is.
 */
describe('the engine through its contracts', () => {
  it('copies a tree held in memory to a directory, streamed and small files alike, then finds nothing to do', async () => {
    const source = new MemoryTarget('src');
    await source.writeWhole('a.txt', new TextEncoder().encode('alpha'), T);
    await source.mkdir('sub');
    const big = new Uint8Array(300 * 1024).map((_, i) => i % 251);
    const h = await source.openWrite('sub/big.bin');
    await h.write(big, 0);
    await h.commit(T);
    await source.symlink('sub/link', '../a.txt', T);
    const dst = join(tempDir(), 'dst');
    mkdirSync(dst); // the copy face makes it; the engine writes below a root that is there
    const db = join(tempDir(), 'job.db');
    const first = await run(source, new LocalTarget(dst, db), db);
    expect(first.status).toBe('done');
    expect(readFileSync(join(dst, 'a.txt'), 'utf8')).toBe('alpha');
    expect(Buffer.compare(readFileSync(join(dst, 'sub/big.bin')), Buffer.from(big))).toBe(0);
    expect(readlinkSync(join(dst, 'sub/link'))).toBe('../a.txt');
    const second = await run(source, new LocalTarget(dst, db), db);
    expect(second.events.filter((e) => e.type === 'file.done')).toEqual([]);
  });

  it('copies a directory into memory and mirrors a deletion there', async () => {
    const src = tempTree({ 'one.txt': '1', 'two/three.txt': '3', 'two/four.txt': '4' });
    const target = new MemoryTarget('dst');
    const db = join(tempDir(), 'job.db');
    expect((await run(new LocalTree(src), target, db)).status).toBe('done');
    expect(new TextDecoder().decode(target.nodes.get('two/three.txt')!.data)).toBe('3');
    const { rmSync } = await import('node:fs');
    rmSync(join(src, 'two/four.txt'));
    const again = await run(new LocalTree(src), target, db, { mirror: {} });
    expect(again.status).toBe('done');
    expect(target.nodes.has('two/four.txt')).toBe(false);
    expect(again.events.some((e) => e.type === 'file.deleted' && e.path === 'two/four.txt')).toBe(true);
  });
});
