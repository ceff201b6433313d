import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { LocalTarget, LocalTree, MemoryTarget, RemoteTarget, runJob, SqliteStore, startServer, type FerryEvent, type RunOptions } from '../dist/index.js';
import { describeTarget } from './helpers/target-suite.js';
import { tempDir, tempTree } from './helpers/tree.js';

// One contract, every implementation.
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

// A ferry server's tree over HTTP: each case gets a server of its own (its own directory and database).
const servers: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(options: { maxFileSize?: number } = {}): Promise<{ url: string; dir: string }> {
  const root = tempDir('ferry-serve-');
  const dir = join(root, 'sync');
  const server = await startServer({ dir, db: join(root, 'server.db'), port: 0, log: false, ...options });
  servers.push(server);
  return { url: server.url, dir };
}

describeTarget('RemoteTarget (a ferry server)', async () => new RemoteTarget((await serve()).url), undefined, {
  symlinks: false,
  emptyDirs: false,
  trash: false,
  setTimes: false,
  modes: false,
});

describe('RemoteTarget beyond the contract', () => {
  const T = { atimeNs: 1_700_000_000_000_000_000n, mtimeNs: 1_700_000_000_123_456_789n };
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  const code = async (p: Promise<unknown>): Promise<string | undefined> => p.then(() => undefined, (e: { code?: string }) => e.code ?? 'no code');
  const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

  async function put(t: RemoteTarget, rel: string, data: Uint8Array, times = T): Promise<void> {
    const h = await t.openWrite(rel);
    await h.write(data, 0);
    await h.commit(times);
  }

  async function readAll(t: RemoteTarget, rel: string, step = 256 * 1024): Promise<Buffer> {
    const h = await t.openRead(rel);
    try {
      const size = Number((await h.stat()).size);
      const out = Buffer.alloc(size);
      for (let at = 0; at < size; ) {
        const n = await h.read(out, at, Math.min(step, size - at), at);
        if (n === 0) break;
        at += n;
      }
      return out;
    } finally {
      await h.close();
    }
  }

  it('refuses a commit (ECHANGED) when the file changed on the server after the write opened, and keeps the other version', async () => {
    const { url } = await serve();
    const mine = new RemoteTarget(url);
    const theirs = new RemoteTarget(url);
    await put(mine, 'f.txt', text('one'));
    const h = await mine.openWrite('f.txt');
    await h.write(text('mine'), 0);
    await theirs.writeWhole!('f.txt', text('theirs'), T);
    expect(await code(h.commit(T))).toBe('ECHANGED');
    await h.abort(); // after a failed commit: fine
    expect((await readAll(mine, 'f.txt')).toString()).toBe('theirs');
    // A new file another client made meanwhile counts as a change too.
    const n = await mine.openWrite('new.txt');
    await n.write(text('mine'), 0);
    await theirs.writeWhole!('new.txt', text('theirs'), T);
    expect(await code(n.commit(T))).toBe('ECHANGED');
    // A write declared against another base than the server's is refused as well.
    mine.expect('f.txt', { baseSha256: sha256(text('stale')) });
    const s = await mine.openWrite('f.txt');
    await s.write(text('two'), 0);
    expect(await code(s.commit(T))).toBe('ECHANGED');
    expect((await readAll(mine, 'f.txt')).toString()).toBe('theirs');
  });

  it('a write whose upload session another upload of the same path took over fails ECHANGED, the other one lands', async () => {
    const { url } = await serve();
    const mine = new RemoteTarget(url);
    const theirs = new RemoteTarget(url);
    const h = await mine.openWrite('f.txt');
    await h.write(text('mine'), 0);
    await put(theirs, 'f.txt', text('theirs'));
    expect(await code(h.commit(T))).toBe('ECHANGED');
    await h.abort();
    expect((await readAll(mine, 'f.txt')).toString()).toBe('theirs');
  });

  it('declares what it knows: too large is refused before any byte (EFBIG), other bytes than declared are ECHANGED', async () => {
    const { url } = await serve({ maxFileSize: 1000 });
    const t = new RemoteTarget(url);
    t.expect('big.bin', { size: 5000 });
    expect(await code(t.openWrite('big.bin'))).toBe('EFBIG');
    // Undeclared, the server stops it when the bytes pass its limit.
    const h = await t.openWrite('big.bin');
    const err = await h.write(new Uint8Array(5000), 0).then(() => h.commit(T)).then(() => undefined, (e: { code?: string }) => e.code);
    expect(err).toBe('EFBIG');
    await h.abort();
    t.expect('d.txt', { size: 4, sha256: sha256(text('abcd')) });
    const d = await t.openWrite('d.txt');
    await d.write(text('abce'), 0);
    expect(await code(d.commit(T))).toBe('ECHANGED');
    await d.abort();
    t.expect('d.txt', { size: 4, sha256: sha256(text('abcd')) });
    const ok = await t.openWrite('d.txt');
    await ok.write(text('abcd'), 0);
    expect((await ok.commit(T)).size).toBe(4n);
    expect(await t.stat('big.bin')).toBeUndefined();
  });

  it('streams a file larger than its PUTs in and out, sequentially and at random positions', async () => {
    const { url } = await serve();
    const t = new RemoteTarget(url, { putSize: 1024 * 1024 });
    const data = randomBytes(5 * 1024 * 1024 + 123);
    const h = await t.openWrite('deep/big.bin');
    for (let at = 0; at < data.length; at += 64 * 1024) await h.write(data.subarray(at, at + 64 * 1024), at);
    const e = await h.commit(T);
    expect(e.size).toBe(BigInt(data.length));
    expect(e.mtimeNs).toBe(T.mtimeNs);
    expect((await readAll(t, 'deep/big.bin')).equals(data)).toBe(true);
    const r = await t.openRead('deep/big.bin');
    const buf = Buffer.alloc(1000);
    for (const at of [4_000_000, 10, 5 * 1024 * 1024, 10]) {
      const n = await r.read(buf, 0, 1000, at);
      expect(n).toBe(Math.min(1000, data.length - at));
      expect(buf.subarray(0, n).equals(data.subarray(at, at + n))).toBe(true);
    }
    await r.close();
    const whole = await t.readWhole('deep/big.bin', 10 * 1024 * 1024, 'blake3');
    expect(whole.kind).toBe('read');
    expect((await t.readWhole('deep/big.bin', 1024, null)).kind).toBe('large');
  });

  it('a read handle stays on the version it opened: a file replaced meanwhile ends the reads, and stat shows the change', async () => {
    const { url } = await serve();
    const t = new RemoteTarget(url);
    const first = randomBytes(3 * 1024 * 1024);
    await put(t, 'f.bin', first);
    const r = await t.openRead('f.bin');
    const before = await r.stat();
    const buf = Buffer.alloc(1024);
    expect(await r.read(buf, 0, 1024, 0)).toBe(1024);
    await put(t, 'f.bin', randomBytes(3 * 1024 * 1024), { ...T, mtimeNs: T.mtimeNs + 1n });
    expect(await r.read(buf, 0, 1024, 2 * 1024 * 1024)).toBe(0); // another position: a new GET, another version
    expect((await r.stat()).mtimeNs).not.toBe(before.mtimeNs);
    await r.close();
  });

  it('goes on from a kept upload through a sessions map another instance was given, and starts again when the first bytes differ', async () => {
    const { url } = await serve();
    const sessions = new Map();
    const a = new RemoteTarget(url, { sessions });
    const h = await a.openWrite('p.bin', undefined, { keepPartial: true });
    await h.write(text('0123456789'), 0);
    await h.abort({ keep: true });
    expect(sessions.size).toBe(1);
    const b = new RemoteTarget(url, { sessions });
    expect(await b.partialSize('p.bin')).toBe(10);
    const q = await b.openWrite('p.bin', undefined, { keepPartial: true });
    expect(q.kept).toBe(10);
    const back = Buffer.alloc(4);
    expect(await q.readKept(back, 3)).toBe(4);
    expect(back.toString()).toBe('3456');
    // The source differs from the first byte: everything is written again.
    await q.write(text('abcdefghijkl'), 0);
    expect((await q.commit(T)).size).toBe(12n);
    expect((await readAll(b, 'p.bin')).toString()).toBe('abcdefghijkl');
    expect(sessions.size).toBe(0);
    expect(await b.partialSize('p.bin')).toBe(0);
  });

  it('names every path exactly, whatever characters it holds', async () => {
    const { url, dir } = await serve();
    const t = new RemoteTarget(url);
    const names = ['a b/ü é.txt', 'q?x=1&y#z.txt', 'per%cent/100%.txt', 'plus+semi;colon,@!$\'()*.txt', 'x/日本語/ファイル.md'];
    for (const n of names) await put(t, n, text(n));
    if (t.writeWhole) await t.writeWhole('whole #1 ?.txt', text('w'), T);
    for (const n of names) {
      expect((await t.stat(n))?.kind, n).toBe('file');
      expect((await readAll(t, n)).toString(), n).toBe(n);
      expect(readFileSync(join(dir, n), 'utf8'), n).toBe(n);
    }
    const listed: string[] = [];
    for await (const b of t.list()) listed.push(...b.entries.filter((e) => e.kind === 'file').map((e) => e.rel));
    expect(listed.sort()).toEqual([...names, 'whole #1 ?.txt'].sort());
    for (const n of names) expect(await t.remove(n)).toBeUndefined();
    expect(await t.stat(names[0]!)).toBeUndefined();
  });

  it('sends its API key, and without the right one is refused (EACCES)', async () => {
    const root = tempDir('ferry-serve-');
    const server = await startServer({ dir: join(root, 'sync'), db: join(root, 'server.db'), port: 0, log: false });
    servers.push(server);
    await server.store.addKey('test', createHash('sha256').update('k-123').digest('hex'));
    const keyed = new RemoteTarget(server.url, { apiKey: 'k-123' });
    await put(keyed, 'a.txt', text('a'));
    expect((await readAll(keyed, 'a.txt')).toString()).toBe('a');
    const wrong = new RemoteTarget(server.url, { apiKey: 'nope' });
    expect(await wrong.available()).toBe(true); // /health needs no key
    expect(await code(wrong.stat('a.txt'))).toBe('EACCES');
    expect(await code(wrong.openWrite('b.txt'))).toBe('EACCES');
  });

  it('keeps the code of a network failure, and is not available', async () => {
    const { url } = await serve();
    const server = servers.pop()!;
    await server.close();
    const t = new RemoteTarget(url);
    expect(await t.available()).toBe(false);
    expect(await code(t.stat('a.txt'))).toBe('ECONNREFUSED');
    const listing = t.list()[Symbol.asyncIterator]();
    expect(await code(listing.next())).toBe('ECONNREFUSED');
  });

  it('takes an engine run: a directory copied to the server, streamed and small files, then nothing to do', async () => {
    const { url, dir } = await serve();
    const src = tempTree({ 'a.txt': 'alpha', 'sub/b.txt': 'beta', 'sub/deeper/c.txt': 'gamma', 'empty.txt': '', 'nothing-inside': null });
    const big = randomBytes(700 * 1024);
    writeFileSync(join(src, 'sub/big.bin'), big);
    const db = join(tempDir(), 'job.db');
    const options: RunOptions = { rescan: false, dryRun: false, setterPrecisionNs: 1n, blockSize: 64 * 1024, queueCapacity: 8, transfers: 2, algorithm: 'sha256' };
    const run = async (): Promise<FerryEvent[]> => {
      const store = SqliteStore.open(db);
      const events: FerryEvent[] = [];
      try {
        const r = await runJob(store, new LocalTree(src), new RemoteTarget(url), options, (e) => events.push(e), new AbortController().signal);
        expect(r.status).toBe('done');
        return events;
      } finally {
        await store.close();
      }
    };
    const first = await run();
    expect(first.filter((e) => e.type === 'file.error')).toEqual([]);
    expect(readFileSync(join(dir, 'sub/deeper/c.txt'), 'utf8')).toBe('gamma');
    expect(readFileSync(join(dir, 'sub/big.bin')).equals(big)).toBe(true);
    expect(readFileSync(join(dir, 'empty.txt'), 'utf8')).toBe('');
    const second = await run();
    expect(second.filter((e) => e.type === 'file.done')).toEqual([]);
  });
});
