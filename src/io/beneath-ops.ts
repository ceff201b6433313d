/**
 * What a target and a reader do below a root, each call one whole operation on the I/O threads
 * (fs-worker.ts): every directory on the way is opened from the root again without following links
 * (beneath.ts), so nothing checked by an earlier call is trusted by a later one. Arguments and
 * results are plain data; errors are Node-shaped (`code`), with `rel`/`kind` where they say more.
 */
import { constants, fdatasyncSync, fstatSync, ftruncateSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { entryFromStats, type FileEntry } from '../core/entry.js';
import { fileError } from '../core/errors.js';
import { createHasher, type Algorithm } from '../core/hash.js';
import { closeFile, kindOfFields, prims as P, type Dir, type Place } from './beneath.js';
import {
  applyAttrs, baseOf, closeQuietly, code, createTemp, effects, ensureDir, entryIn, foreignWrite, mayReplace, moveAside, openSource,
  parentOf, placeFinal, settle, writeAll, type Attrs, type Effects, type Times, type WritePolicy,
} from './beneath-steps.js';
import { entryAt, F, FIELDS, listDir } from './list-dir.js';

export type { Attrs, Effects, Planned, Replaced, Times, WritePolicy } from './beneath-steps.js';

export type ReadResult =
  | { kind: 'read'; data: Uint8Array; hash: string | null; entry: FileEntry }
  | { kind: 'large' }
  | { kind: 'changed'; entry: FileEntry };

export const ops = {
  /** A source file's descriptor, for reading it block by block on the main thread. */
  openSource(a: { root: string; rel: string }): number {
    return openSource(a.root, a.rel);
  },

  /**
   * Reads a whole source file of at most `maxSize` bytes and hashes it: `large` when it is bigger,
   * `changed` when it moved while read or is not a regular file. `hashOnly` sends no bytes back.
   */
  read(a: { root: string; rel: string; algorithm: Algorithm | null; maxSize: number; hashOnly?: boolean }): ReadResult {
    const fd = openSource(a.root, a.rel);
    try {
      const before = fstatSync(fd, { bigint: true });
      if (!before.isFile()) return { kind: 'changed', entry: entryFromStats(a.rel, before) };
      if (before.size > BigInt(a.maxSize)) return { kind: 'large' };
      const size = Number(before.size);
      const data = new Uint8Array(new ArrayBuffer(size));
      let n = 0;
      while (n < size) {
        const got = readSync(fd, data, n, size - n, n);
        if (got === 0) break;
        n += got;
      }
      const after = fstatSync(fd, { bigint: true });
      if (n < size || after.size !== before.size || after.mtimeNs !== before.mtimeNs) {
        return { kind: 'changed', entry: entryFromStats(a.rel, after) };
      }
      let hash: string | null = null;
      if (a.algorithm) {
        const h = createHasher(a.algorithm);
        h.update(Buffer.from(data.buffer, 0, size));
        hash = h.digest();
      }
      return { kind: 'read', data: a.hashOnly ? new Uint8Array(0) : data, hash, entry: entryFromStats(a.rel, before) };
    } finally {
      closeFile(fd);
    }
  },

  /** The entries of the directory `rel` with their stats, reached below the root without following links. */
  entries(a: { place: Place; rel: string }): FileEntry[] {
    const { names, fields } = listDir(a.place.root, a.rel);
    const out: FileEntry[] = [];
    names.forEach((name, i) => {
      if (fields[i * FIELDS + F.kind]! < 0n) return; // vanished between the listing and its stat, or not UTF-8
      out.push(entryAt(a.rel === '' ? name : `${a.rel}/${name}`, fields, i));
    });
    return out;
  },

  readlink(a: { root: string; rel: string }): string {
    const dir = P.openDir({ root: a.root, pinDev: -1n, pinIno: -1n }, parentOf(a.rel));
    try {
      return P.readlink(dir, baseOf(a.rel));
    } finally {
      closeQuietly(dir);
    }
  },

  /**
   * A whole small file in one call: temp file, write, (fdatasync when `syncEach`, or when it lands
   * on another filesystem than the root: the root's syncfs would not cover it), close, rename, times,
   * re-stat. Not flushed otherwise: the caller syncs the filesystem before recording it.
   */
  write(a: { place: Place; rel: string; temp: string; data: Uint8Array; times: Times; attrs: Attrs; syncEach: boolean; policy: WritePolicy }): { entry: FileEntry; flushed: boolean; effects: Effects } {
    const out = effects();
    const dir = ensureDir(a.place, parentOf(a.rel), a.policy, out);
    try {
      const { fd } = createTemp(dir, a.temp, a.attrs.mode, false);
      let open = true;
      let written;
      let flushed = false;
      try {
        writeAll(fd, a.data);
        written = fstatSync(fd, { bigint: true });
        applyAttrs(fd, a.attrs, out, false, written);
        if (a.syncEach || written.dev !== a.place.pinDev) {
          fdatasyncSync(fd);
          flushed = true;
        }
        open = false;
        closeFile(fd); // NFS reports ENOSPC and EDQUOT here
        if (written.size !== BigInt(a.data.length)) throw foreignWrite(a.rel, `holds ${written.size} bytes, ferry wrote ${a.data.length}`);
        placeFinal(dir, a.temp, baseOf(a.rel), a.rel, a.policy, out, a.place.root);
      } catch (err) {
        if (open) closeFile(fd);
        try {
          P.unlink(dir, a.temp, false);
        } catch {
          // already gone
        }
        throw err;
      }
      return { entry: settle(dir, baseOf(a.rel), a.rel, a.times, written, a.place.root), flushed, effects: out };
    } finally {
      closeQuietly(dir);
    }
  },

  /** Starts a streamed file: its temp file's descriptor. `keep` reuses one a stopped run left (--partial). */
  openTemp(a: { place: Place; rel: string; temp: string; attrs: Attrs; keep: boolean; policy: WritePolicy }): { fd: number; kept: number; effects: Effects } {
    const out = effects();
    const dir = ensureDir(a.place, parentOf(a.rel), a.policy, out);
    try {
      return { ...createTemp(dir, a.temp, a.attrs.mode, a.keep), effects: out };
    } finally {
      closeQuietly(dir);
    }
  },

  /**
   * Ends a streamed file: fdatasync, checks its size (`end`; a kept longer temp is cut to it),
   * attributes, close, rename over the final name (its directory reached afresh: a parent swapped
   * for a link since the temp was opened fails the file), times, re-stat.
   */
  commit(a: { place: Place; rel: string; temp: string; fd: number; end: number; times: Times; attrs: Attrs; resumed: boolean; policy: WritePolicy }): { entry: FileEntry; effects: Effects } {
    const out = effects();
    let written;
    try {
      let st = fstatSync(a.fd, { bigint: true });
      if (a.resumed && st.size > BigInt(a.end)) ftruncateSync(a.fd, a.end);
      fdatasyncSync(a.fd);
      written = st = fstatSync(a.fd, { bigint: true });
      if (st.size !== BigInt(a.end)) throw foreignWrite(a.rel, `holds ${st.size} bytes, ferry wrote ${a.end}`);
      applyAttrs(a.fd, a.attrs, out, a.resumed);
    } finally {
      closeFile(a.fd);
    }
    const dir = P.openDir(a.place, parentOf(a.rel));
    try {
      placeFinal(dir, a.temp, baseOf(a.rel), a.rel, a.policy, out, a.place.root);
      return { entry: settle(dir, baseOf(a.rel), a.rel, a.times, written, a.place.root), effects: out };
    } finally {
      closeQuietly(dir);
    }
  },

  /** Drops a streamed file: closes it and removes its temp file, unless `keep` (--partial). */
  abort(a: { place: Place; rel: string; temp: string; fd?: number; keep: boolean }): void {
    if (a.fd !== undefined) {
      try {
        closeFile(a.fd);
      } catch {
        // closed by a failed commit
      }
    }
    if (a.keep) return;
    let dir: Dir;
    try {
      dir = P.openDir(a.place, parentOf(a.rel));
    } catch {
      return; // its directory is gone, or no longer below the root: nothing of ours to remove there
    }
    try {
      P.unlink(dir, a.temp, false);
    } catch {
      // already gone
    } finally {
      closeQuietly(dir);
    }
  },

  /** Makes a directory (and its parents); `fix`: it was made on the way earlier, give it `attrs.mode` now. */
  mkdir(a: { place: Place; rel: string; attrs: Attrs; fix: boolean; policy: WritePolicy }): { created: boolean; effects: Effects } {
    const out = effects();
    const parent = ensureDir(a.place, parentOf(a.rel), a.policy, out);
    const name = baseOf(a.rel);
    try {
      let created = false;
      for (let attempt = 0; ; attempt++) {
        try {
          P.mkdir(parent, name, a.attrs.mode);
          created = true;
          break;
        } catch (err) {
          if (code(err) !== 'EEXIST' || attempt > 2) throw err;
          const f = P.stat(parent, name);
          if (!f) continue;
          const kind = kindOfFields(f);
          if (kind === 'dir') break;
          if (!mayReplace(a.policy, a.rel, f)) throw Object.assign(fileError('ENOTDIR', `${a.rel} on the destination is a ${kind}, not a directory`), { rel: a.rel, kind });
          moveAside(parent, name, a.rel, kind, a.policy, out, a.place.root);
        }
      }
      // An existing directory with bits its source no longer has (made private since) loses them.
      const now = created ? undefined : P.stat(parent, name);
      const extra = now ? Number(now[F.mode]!) & 0o777 & ~a.attrs.mode : 0;
      const attrs = extra && a.attrs.chmod === undefined && !a.fix ? { ...a.attrs, chmod: Number(now![F.mode]!) & 0o7777 & ~extra } : a.attrs;
      if (attrs.chmod !== undefined || attrs.owner || (!created && a.fix)) {
        const fd = P.openFile(parent, name, constants.O_RDONLY | constants.O_DIRECTORY, 0);
        try {
          applyAttrs(fd, attrs, out, !created && a.fix);
        } finally {
          closeFile(fd);
        }
      }
      return { created, effects: out };
    } finally {
      closeQuietly(parent);
    }
  },

  /** Creates (or replaces) a symlink atomically: a temp link, its times, then the rename. */
  symlink(a: { place: Place; rel: string; temp: string; linkTarget: string; times: Times; attrs: Attrs; policy: WritePolicy }): { effects: Effects } {
    const out = effects();
    const dir = ensureDir(a.place, parentOf(a.rel), a.policy, out);
    try {
      try {
        P.unlink(dir, a.temp, false);
      } catch {
        // no leftover
      }
      P.symlink(a.linkTarget, dir, a.temp);
      try {
        if (a.attrs.owner) {
          try {
            P.chown(dir, a.temp, a.attrs.owner.uid, a.attrs.owner.gid);
          } catch (err) {
            if (!['EPERM', 'EACCES', 'EOPNOTSUPP', 'ENOTSUP'].includes(code(err) ?? '')) throw err;
            out.refused.push('chown');
          }
        }
        P.setTimes(dir, a.temp, a.times.atimeNs, a.times.mtimeNs);
        placeFinal(dir, a.temp, baseOf(a.rel), a.rel, a.policy, out, a.place.root);
      } catch (err) {
        try {
          P.unlink(dir, a.temp, false);
        } catch {
          // already gone
        }
        throw err;
      }
      return { effects: out };
    } finally {
      closeQuietly(dir);
    }
  },

  /**
   * Removes a file, symlink or empty directory, or moves it to `trash` (under its relative path).
   * Resolves the trash path, or null; an entry already gone resolves null. A parent that is no
   * longer a directory (a link now) rejects ENOTDIR: nothing is ever deleted through a link.
   */
  remove(a: { place: Place; rel: string; trash?: Place }): string | null {
    let dir: Dir;
    try {
      dir = P.openDir(a.place, parentOf(a.rel));
    } catch (err) {
      if (code(err) === 'ENOENT') return null;
      throw err;
    }
    try {
      const name = baseOf(a.rel);
      const f = P.stat(dir, name);
      if (!f) return null;
      const kind = kindOfFields(f);
      if (!a.trash) {
        P.unlink(dir, name, kind === 'dir');
        return null;
      }
      if (kind === 'dir') {
        // Only ever empty directories: their entries went to the trash one by one.
        P.unlink(dir, name, true);
        const t = ensureDir(a.trash, a.rel, { replace: false, parentMode: 0o700 }, effects());
        closeQuietly(t);
        return join(a.trash.root, a.rel);
      }
      const out = effects();
      moveAside(dir, name, a.rel, kind, { replace: true, trash: a.trash, parentMode: 0o700 }, out, a.place.root);
      return out.replaced[0]?.trashedTo ?? null;
    } finally {
      closeQuietly(dir);
    }
  },

  /**
   * Renames the file or symlink `from` to `to` (its parents made as the policy says), never over
   * anything: EEXIST when something is at `to`, ENOENT when `from` is gone, EISDIR for a directory.
   */
  rename(a: { place: Place; from: string; to: string; policy: WritePolicy }): { effects: Effects } {
    const out = effects();
    const src = P.openDir(a.place, parentOf(a.from));
    try {
      const f = P.stat(src, baseOf(a.from));
      if (!f) throw Object.assign(fileError('ENOENT', `${a.from} is not there`), { rel: a.from });
      if (kindOfFields(f) === 'dir') throw Object.assign(fileError('EISDIR', `${a.from} is a directory`), { rel: a.from });
      const dst = ensureDir(a.place, parentOf(a.to), a.policy, out);
      try {
        P.rename(src, baseOf(a.from), dst, baseOf(a.to), true);
      } finally {
        closeQuietly(dst);
      }
      return { effects: out };
    } finally {
      closeQuietly(src);
    }
  },

  /** The live entry at rel (not following a final link), or null when absent or not below the root. */
  stat(a: { place: Place; rel: string }): FileEntry | null {
    let dir: Dir;
    try {
      dir = P.openDir(a.place, parentOf(a.rel));
    } catch (err) {
      if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return null;
      throw err;
    }
    try {
      return entryIn(dir, baseOf(a.rel), a.rel) ?? null;
    } finally {
      closeQuietly(dir);
    }
  },

  setTimes(a: { place: Place; rel: string; times: Times }): void {
    const dir = P.openDir(a.place, parentOf(a.rel));
    try {
      P.setTimes(dir, baseOf(a.rel), a.times.atimeNs, a.times.mtimeNs);
    } finally {
      closeQuietly(dir);
    }
  },
};

export type FsOps = typeof ops;
