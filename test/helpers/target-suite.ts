import { describe, expect, it } from 'vitest';
import type { FileEntry, ListBatch, Target } from '../../dist/index.js';

/**
 * The Target contract (src/core/target.ts, src/core/tree.ts) as behaviour: every implementation
 * runs these cases. `make` gives a fresh, empty target.
 */
export interface TargetHooks {
  /** Makes the target's root another one than the target began with (unmounted, replaced). */
  takeAway(t: Target): Promise<void>;
}

/**
 * What a target keeps besides files and the directories that hold them; every feature is on by
 * default. A case that needs one a target lacks is skipped for it (a server keeps no symlinks and no
 * empty directories: a directory is there while a file is below it).
 */
export interface TargetFeatures {
  /** Symlinks: made, read back, never followed. */
  symlinks?: boolean;
  /** Directories that hold nothing (mkdir makes one that stat and list show). */
  emptyDirs?: boolean;
  /** `remove` to a trash directory. */
  trash?: boolean;
  /** `setTimes` (of a directory). */
  setTimes?: boolean;
  /** The permission bits a file is given, never wider than the source's. */
  modes?: boolean;
}

export function describeTarget(name: string, make: () => Promise<Target>, hooks?: TargetHooks, features: TargetFeatures = {}): void {
  const has = { symlinks: true, emptyDirs: true, trash: true, setTimes: true, modes: true, ...features };
  const T = { atimeNs: 1_600_000_000_111_111_111n, mtimeNs: 1_600_000_000_222_222_222n };
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  const decode = (b: Uint8Array): string => new TextDecoder().decode(b);
  const code = async (p: Promise<unknown>): Promise<string | undefined> => p.then(() => undefined, (e: { code?: string }) => e.code ?? 'no code');

  async function write(t: Target, rel: string, content: string, times = T, mode = 0o644): Promise<FileEntry> {
    const h = await t.openWrite(rel, { mode, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
    const data = text(content);
    await h.write(data.subarray(0, 2), 0);
    if (data.length > 2) await h.write(data.subarray(2), 2);
    await h.flush();
    return h.commit(times);
  }

  async function read(t: Target, rel: string): Promise<string> {
    const h = await t.openRead(rel);
    try {
      const size = Number((await h.stat()).size);
      const buf = new Uint8Array(size);
      let n = 0;
      while (n < size) {
        const got = await h.read(buf, n, size - n, n);
        if (got === 0) break;
        n += got;
      }
      return decode(buf.subarray(0, n));
    } finally {
      await h.close();
    }
  }

  async function listAll(t: Target, options = {}): Promise<Map<string, FileEntry>> {
    const out = new Map<string, FileEntry>();
    for await (const b of t.list(options) as AsyncIterable<ListBatch>) {
      expect(b.errors).toEqual([]);
      for (const e of b.entries) out.set(e.rel, e);
    }
    return out;
  }

  describe(`the Target contract: ${name}`, () => {
    it('is available, shows its root as a directory, and nothing else while empty', async () => {
      const t = await make();
      expect(await t.available()).toBe(true);
      expect((await t.stat(''))?.kind).toBe('dir');
      expect(await t.stat('nothing')).toBeUndefined();
      expect(await t.stat('no/such/path')).toBeUndefined();
      expect(await t.entries('')).toEqual([]);
      expect([...(await listAll(t)).keys()]).toEqual([]);
      expect(await code(t.entries('missing'))).toBe('ENOENT');
    });

    it('probes what it keeps', async () => {
      const t = await make();
      const caps = await t.probe();
      expect(caps.timePrecisionNs).toBeGreaterThanOrEqual(1n);
      expect(typeof caps.caseSensitive).toBe('boolean');
      expect(typeof caps.keepsModes).toBe('boolean');
      expect([...(await listAll(t)).keys()]).toEqual([]); // the probe leaves nothing behind
    });

    it('writes a file whole: nothing under its name before commit, then its bytes, times and parents', async () => {
      const t = await make();
      const h = await t.openWrite('a/b/c.txt', { mode: 0o640, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
      await h.write(text('hello'), 0);
      await h.write(text(' world'), 5);
      expect(await t.stat('a/b/c.txt')).toBeUndefined();
      const done = await h.commit(T);
      expect(done.kind).toBe('file');
      expect(done.size).toBe(11n);
      expect(done.mtimeNs).toBe(T.mtimeNs);
      expect(await read(t, 'a/b/c.txt')).toBe('hello world');
      expect((await t.stat('a/b'))?.kind).toBe('dir');
      expect((await t.entries('a/b')).map((e) => [e.rel, e.kind, e.size])).toEqual([['a/b/c.txt', 'file', 11n]]);
      // Never wider than the source's bits.
      if (has.modes) expect((await t.stat('a/b/c.txt'))!.mode & 0o777 & ~0o640).toBe(0);
      const all = await listAll(t);
      expect([...all.keys()].sort()).toEqual(['a', 'a/b', 'a/b/c.txt']);
      expect(all.get('a/b/c.txt')!.size).toBe(11n);
    });

    it('reads at any position, and whole files with their hash', async () => {
      const t = await make();
      await write(t, 'f.bin', 'abcdefghij');
      const h = await t.openRead('f.bin');
      const buf = new Uint8Array(4);
      expect(await h.read(buf, 0, 4, 3)).toBe(4);
      expect(decode(buf)).toBe('defg');
      expect(await h.read(buf, 0, 4, 10)).toBe(0);
      await h.close();
      const whole = await t.readWhole('f.bin', 1024, 'sha256');
      expect(whole.kind).toBe('read');
      if (whole.kind === 'read') {
        expect(decode(whole.data)).toBe('abcdefghij');
        expect(whole.hash).toBe('72399361da6a7754fec986dca5b7cbaf1c810a28ded4abaf56b2106d06cb78b0');
      }
      expect((await t.readWhole('f.bin', 4, null)).kind).toBe('large');
      expect(await code(t.openRead('missing'))).toBe('ENOENT');
    });

    it('abort leaves nothing; abort with keep leaves bytes a later write goes on from', async () => {
      const t = await make();
      const h = await t.openWrite('gone.txt');
      await h.write(text('x'), 0);
      await h.abort();
      await h.abort(); // twice is fine
      expect(await t.stat('gone.txt')).toBeUndefined();
      expect([...(await listAll(t)).keys()]).toEqual([]);

      const p = await t.openWrite('part.bin', undefined, { keepPartial: true });
      expect(p.kept).toBe(0);
      await p.write(text('first half'), 0);
      await p.abort({ keep: true });
      expect(await t.stat('part.bin')).toBeUndefined();
      expect([...(await listAll(t)).keys()]).toEqual([]); // a kept temp is not an entry
      if (t.partialSize) expect(await t.partialSize('part.bin')).toBe(10);
      const q = await t.openWrite('part.bin', undefined, { keepPartial: true });
      expect(q.kept).toBe(10);
      const back = new Uint8Array(10);
      expect(await q.readKept(back, 0)).toBe(10);
      expect(decode(back)).toBe('first half');
      q.extend(10);
      await q.write(text(', second'), 10);
      await q.commit(T);
      expect(await read(t, 'part.bin')).toBe('first half, second');
    });

    it('writes small files in one call when it offers that, safe after flushAll', async () => {
      const t = await make();
      if (!t.writeWhole) return;
      expect(t.flushAll).toBeDefined();
      const e = await t.writeWhole('s/small.txt', text('tiny'), T, { mode: 0o600, uid: 0, gid: 0 });
      await t.flushAll!();
      expect(e.size).toBe(4n);
      expect(e.mtimeNs).toBe(T.mtimeNs);
      expect(await read(t, 's/small.txt')).toBe('tiny');
      if (has.modes) expect((await t.stat('s/small.txt'))!.mode & 0o077).toBe(0);
    });

    it.skipIf(!has.emptyDirs)('makes directories, again without an error, and lists them', async () => {
      const t = await make();
      await t.mkdir('d/e', { mode: 0o750, uid: 0, gid: 0 });
      await t.mkdir('d/e'); // again: no error
      expect((await t.stat('d/e'))?.kind).toBe('dir');
      expect((await listAll(t)).get('d/e')?.kind).toBe('dir');
    });

    it.skipIf(has.emptyDirs)('without empty directories: mkdir resolves, and a directory is there while a file is below it', async () => {
      const t = await make();
      await t.mkdir('d/e', { mode: 0o750, uid: 0, gid: 0 });
      await t.mkdir('d/e'); // again: no error
      await write(t, 'd/e/f.txt', 'f');
      expect((await t.stat('d/e'))?.kind).toBe('dir');
      expect((await t.stat('d'))?.kind).toBe('dir');
      const all = await listAll(t);
      expect([...all.keys()].sort()).toEqual(['d', 'd/e', 'd/e/f.txt']);
      expect((await t.entries('d')).map((e) => [e.rel, e.kind])).toEqual([['d/e', 'dir']]);
      await t.remove('d/e/f.txt');
      expect(await t.stat('d/e')).toBeUndefined(); // nothing below it any more
      expect([...(await listAll(t)).keys()]).toEqual([]);
    });

    it.skipIf(!has.symlinks)('makes symlinks, replaces them, reads them back and never opens them', async () => {
      const t = await make();
      await t.mkdir('d/e');
      await t.symlink('d/link', '../elsewhere', T);
      expect((await t.stat('d/link'))?.kind).toBe('symlink');
      expect(await t.readlink('d/link')).toBe('../elsewhere');
      await t.symlink('d/link', 'changed', T); // replaced
      expect(await t.readlink('d/link')).toBe('changed');
      expect(await code(t.openRead('d/link'))).toBe('ELOOP');
      expect((await listAll(t)).get('d/link')?.kind).toBe('symlink');
    });

    it.skipIf(!has.setTimes || !has.emptyDirs)('sets the times of a directory', async () => {
      const t = await make();
      await t.mkdir('d/e');
      await t.setTimes('d/e', T);
      expect((await t.stat('d/e'))!.mtimeNs).toBe(T.mtimeNs);
    });

    it.skipIf(!has.symlinks)('never writes through a symlink where a directory goes: the link is replaced, its target untouched', async () => {
      const t = await make();
      await t.mkdir('real');
      await t.symlink('sub', 'real', T);
      await write(t, 'sub/f.txt', 'inside');
      expect(await t.stat('real/f.txt')).toBeUndefined();
      expect((await t.stat('sub'))?.kind).toBe('dir');
      expect(await read(t, 'sub/f.txt')).toBe('inside');
    });

    it('replaces what stands in the way only as planned; a directory that holds files waits', async () => {
      const t = await make();
      await write(t, 'was-file', 'x');
      expect(await code(t.openWrite('was-file/inner.txt'))).toBe('ENOTDIR');
      expect(await read(t, 'was-file')).toBe('x');
      t.planReplacements?.([{ rel: 'was-file', kind: 'file', size: 1n, modifiedNs: T.mtimeNs }]);
      if (t.planReplacements) {
        await write(t, 'was-file/inner.txt', 'now a directory');
        expect((await t.stat('was-file'))?.kind).toBe('dir');
      }
      await write(t, 'full/kept.txt', 'k');
      t.planReplacements?.([{ rel: 'full', kind: 'dir', size: 0n, modifiedNs: 0n }]);
      // Refused when the write opens, or at the latest when it commits.
      const err = await write(t, 'full', 'file').then(() => undefined, (e: { code?: string; notEmpty?: boolean }) => e);
      expect(err?.code).toBe('EISDIR');
      expect(err?.notEmpty).toBe(true);
      expect(await read(t, 'full/kept.txt')).toBe('k');
    });

    it('removes files and empty directories, and a directory that holds files not', async () => {
      const t = await make();
      await write(t, 'dir/a.txt', 'a');
      await write(t, 'dir/b.txt', 'b');
      expect(await code(t.remove('dir'))).toBe('ENOTEMPTY');
      expect(await t.remove('dir/a.txt')).toBeUndefined();
      expect(await t.stat('dir/a.txt')).toBeUndefined();
      expect(await t.remove('dir/a.txt')).toBeUndefined(); // already gone
      expect(await read(t, 'dir/b.txt')).toBe('b');
      expect(await t.remove('dir/b.txt')).toBeUndefined();
      expect(await t.stat('dir/b.txt')).toBeUndefined();
      expect(await t.remove('dir')).toBeUndefined();
      expect((await t.entries('')).map((e) => e.rel)).not.toContain('dir');
    });

    it.skipIf(!has.symlinks)('removes links, never through a link', async () => {
      const t = await make();
      await write(t, 'dir/a.txt', 'a');
      await t.symlink('l', 'dir', T);
      expect(await code(t.remove('l/a.txt'))).toBe('ENOTDIR');
      expect(await read(t, 'dir/a.txt')).toBe('a');
      expect(await t.remove('l')).toBeUndefined();
      expect(await t.stat('l')).toBeUndefined();
      expect((await t.stat('dir'))?.kind).toBe('dir'); // the link went, not what it named
    });

    it.skipIf(!has.trash)('removes to a trash when asked', async () => {
      const t = await make();
      await write(t, 'dir/b.txt', 'b');
      const trash = await trashFor(t);
      const to = await t.remove('dir/b.txt', { trashDir: trash });
      expect(to).toBeDefined();
      expect(await t.stat('dir/b.txt')).toBeUndefined();
    });

    it('renames a file when it offers that, never over anything', async () => {
      const t = await make();
      if (!t.rename) return;
      await write(t, 'from.txt', 'moved');
      await write(t, 'taken.txt', 'stays');
      await t.rename('from.txt', 'new/dir/to.txt');
      expect(await t.stat('from.txt')).toBeUndefined();
      expect(await read(t, 'new/dir/to.txt')).toBe('moved');
      expect(await code(t.rename('new/dir/to.txt', 'taken.txt'))).toBe('EEXIST');
      expect(await read(t, 'taken.txt')).toBe('stays');
      expect(await read(t, 'new/dir/to.txt')).toBe('moved');
      expect(await code(t.rename('missing.txt', 'x.txt'))).toBe('ENOENT');
      expect(await code(t.rename('new', 'x'))).toBe('EISDIR');
    });

    it('refuses what is not a path inside it, before touching anything', async () => {
      const t = await make();
      await write(t, 'inside.txt', 'i');
      for (const bad of ['../escape.txt', 'a/../../escape.txt', '/etc/passwd', 'a//b', './inside.txt']) {
        expect(await code(t.stat(bad)), bad).toBe('EINVAL');
        expect(await code(t.openWrite(bad)), bad).toBe('EINVAL');
        expect(await code(t.remove(bad)), bad).toBe('EINVAL');
        expect(await code(t.openRead(bad)), bad).toBe('EINVAL');
        expect(await code(t.mkdir(bad)), bad).toBe('EINVAL');
      }
      expect(await code(t.entries('..'))).toBe('EINVAL');
      expect(await code(t.remove(''))).toBeDefined(); // the root itself is never removed
      expect((await t.stat(''))?.kind).toBe('dir');
      expect(await read(t, 'inside.txt')).toBe('i');
    });

    it.skipIf(!has.symlinks)('never reads through a symlink below the root', async () => {
      const t = await make();
      await write(t, 'real/x.txt', 'x');
      await t.symlink('l', 'real', T);
      expect(await t.stat('l/x.txt')).toBeUndefined();
      expect(['ENOTDIR', 'ELOOP']).toContain(await code(t.openRead('l/x.txt')));
      expect(['ENOTDIR', 'ELOOP']).toContain(await code(t.readWhole('l/x.txt', 1024, null)));
      expect(['ENOTDIR', 'ELOOP']).toContain(await code(t.entries('l')));
    });

    it('reads no directory below a file, removing below a gone directory is a no-op, and hashes without keeping the bytes', async () => {
      const t = await make();
      await write(t, 'real/x.txt', 'x');
      expect(['ENOTDIR', 'ELOOP']).toContain(await code(t.entries('real/x.txt')));
      expect(await t.remove('gone/away.txt')).toBeUndefined();
      const hashed = await t.readWhole('real/x.txt', 1024, 'sha256', { hashOnly: true });
      expect(hashed.kind).toBe('read');
      if (hashed.kind === 'read') {
        expect(hashed.data.length).toBe(0);
        expect(hashed.hash).toBe('2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881');
      }
    });

    it('a second listing given the first one\'s digests still accounts for every entry', async () => {
      const t = await make();
      await write(t, 'd1/a.txt', 'a');
      await write(t, 'd1/d2/b.txt', 'b');
      await write(t, 'top.txt', 't');
      const known = new Map<string, string>();
      for await (const b of t.list() as AsyncIterable<ListBatch>) for (const [d, digest] of b.digests) known.set(d, digest);
      const seen = new Set<string>();
      const kept: string[] = [];
      for await (const b of t.list({ known }) as AsyncIterable<ListBatch>) {
        for (const e of b.entries) seen.add(e.rel);
        kept.push(...b.kept);
      }
      // An entry is either listed again or inside a directory reported as kept (unchanged).
      for (const rel of ['d1', 'd1/a.txt', 'd1/d2', 'd1/d2/b.txt', 'top.txt']) {
        const parentKey = rel.includes('/') ? `${rel.slice(0, rel.lastIndexOf('/'))}/` : ''; // ListBatch's directory keys
        expect(seen.has(rel) || kept.includes(parentKey), rel).toBe(true);
      }
    });

    it('knows itself again by its identity, when it has one', async () => {
      const t = await make();
      if (!t.identity || !t.compareIdentity) return;
      const id = await t.identity();
      expect(id).toBeDefined();
      expect(await t.compareIdentity(id!)).toBe('same');
    });

    it('refuses to write once its root is another one (ENXIO), and writes nothing there', async () => {
      if (!hooks) return;
      const t = await make();
      await write(t, 'before.txt', 'b');
      await hooks.takeAway(t);
      expect(await code(write(t, 'after.txt', 'a'))).toBe('ENXIO');
      expect(await code(t.mkdir('newdir'))).toBe('ENXIO');
    });

    it('lists without what `exclude` names, and none of its own temp files', async () => {
      const t = await make();
      await write(t, 'keep/x.txt', 'x');
      await write(t, 'skip/y.txt', 'y');
      const h = await t.openWrite('keep/in-flight.txt');
      await h.write(text('not yet'), 0);
      const all = await listAll(t, { exclude: ['skip'] });
      expect([...all.keys()].sort()).toEqual(['keep', 'keep/x.txt']);
      expect((await t.entries('keep')).map((e) => e.rel)).toEqual(['keep/x.txt']);
      const below = await listAll(t, { under: 'skip' });
      expect([...below.keys()]).toEqual(['skip/y.txt']);
      await h.abort();
    });
  });
}

/** A trash directory the target can move entries to: beside a directory's root (same filesystem), or a name of its own. */
async function trashFor(t: Target): Promise<string> {
  if (!t.root.startsWith('/')) return 'trash';
  const { mkdtempSync } = await import('node:fs');
  const { dirname, join } = await import('node:path');
  return mkdtempSync(join(dirname(t.root), 'trash-'));
}
