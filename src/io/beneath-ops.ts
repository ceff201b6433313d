/**
 * What a target and a reader do below a root, each call one whole operation on the I/O threads
 * (fs-worker.ts): every directory on the way is opened from the root again without following links
 * (beneath.ts), so nothing checked by an earlier call is trusted by a later one. Arguments and
 * results are plain data; errors are Node-shaped (`code`), with `rel`/`kind` where they say more.
 */
import { constants, fchmodSync, fchownSync, fdatasyncSync, fstatSync, ftruncateSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { entryFromStats, type EntryKind, type FileEntry } from '../core/entry.js';
import { fileError } from '../core/errors.js';
import { createHasher, type Algorithm } from '../core/hash.js';
import { closeFile, kindOfFields, notADirectory, prims as P, type Dir, type ObstacleKind, type Place } from './beneath.js';
import { entryAt, F } from './list-dir.js';
import { NOATIME, SOURCE_FLAGS } from './open-flags.js';

/** An entry ferry moved out of the way: deleted, or moved to the trash. */
export interface Replaced {
  rel: string;
  kind: EntryKind;
  trashedTo?: string;
}

/** An entry the last scan saw at the destination where the source now has another kind. */
export interface Planned {
  rel: string;
  kind: string;
  size: bigint;
  modifiedNs: bigint;
}

/** What may stand where a directory or a file must go, and what becomes of it. */
export interface WritePolicy {
  /**
   * Replace it: a file or symlink where a directory goes, an empty directory where a file or a
   * symlink goes. Otherwise such a path fails (ENOTDIR, EISDIR). A directory that is not empty is
   * never deleted here (EISDIR with `notEmpty`); with `trash` it is moved there whole.
   */
  replace: boolean;
  /** Where replaced entries go, under their relative path, instead of being deleted (same filesystem). */
  trash?: Place;
  /**
   * Without a trash: replaced files and symlinks are renamed aside in their own directory
   * (`name.ferry-replaced-<aside>`), never deleted. Set when the copy is not a mirror: what stands
   * in the way may be the user's own. An empty directory is removed either way (nothing is lost).
   */
  aside?: string;
  /**
   * Files and directories that may be replaced: those the last scan saw there, as it saw them (the
   * plan knew of them). Anything else in the way (a file another process put there meanwhile) fails
   * the path instead. A symlink in the way is always replaced (its target is never touched).
   */
  replaceable?: Planned[];
  /** The mode of directories made on the way to a file (the umask applies). */
  parentMode: number;
}

/** The permissions a new entry gets. */
export interface Attrs {
  /** Creation mode (the umask applies): the source's permission bits, never wider. */
  mode: number;
  /** The process umask, for a mode set on an existing entry. */
  umask: number;
  /** --perms: set exactly these bits (special ones included). */
  chmod?: number;
  /** --owner: set this owner and group. */
  owner?: { uid: number; gid: number };
}

/** What an operation did on the way, besides its result. */
export interface Effects {
  replaced: Replaced[];
  /** Directories made on the way (relative paths). */
  created: string[];
  /** Attributes the destination would not take (a share that refuses chmod or chown). */
  refused: Array<'chmod' | 'chown'>;
}

const code = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;
const parentOf = (rel: string): string => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');
const baseOf = (rel: string): string => rel.slice(rel.lastIndexOf('/') + 1);
const effects = (): Effects => ({ replaced: [], created: [], refused: [] });

function closeQuietly(dir: Dir | undefined): void {
  if (dir === undefined) return;
  try {
    P.closeDir(dir);
  } catch {
    // the first error is the one that matters
  }
}

/** A directory where a file must go. `notEmpty`: ferry will not delete it here (the mirror may). */
function dirInTheWay(rel: string, notEmpty: boolean): Error {
  const e = fileError('EISDIR', `${rel} is a directory on the destination${notEmpty ? ' that is not empty; ferry replaces it by a file only when mirroring (--delete-extras)' : ''}`);
  return Object.assign(e, { rel, notEmpty });
}

/** Whether the policy lets `rel`, found as `f`, be moved out of the way. */
function mayReplace(policy: WritePolicy, rel: string, f: BigInt64Array): boolean {
  if (!policy.replace) return false;
  const kind = kindOfFields(f);
  if (kind === 'symlink') return true;
  const p = policy.replaceable?.find((e) => e.rel === rel);
  if (!p || p.kind !== kind) return false;
  if (kind === 'dir') return true;
  return p.size === f[F.size] && p.modifiedNs === f[F.mtimeS]! * 1_000_000_000n + f[F.mtimeNs]!;
}

/**
 * Moves `dir/name` (= rel) out of the way: a directory only when it is empty (removed: a directory
 * that still holds files is never moved here, trash or not; the mirror, with its guards, deals with
 * its contents); anything else to the trash, or aside in its own directory, or deleted.
 * `root` is the target's root, for the paths reported.
 */
function moveAside(dir: Dir, name: string, rel: string, kind: EntryKind, policy: WritePolicy, out: Effects, root: string): void {
  if (kind === 'dir') {
    P.unlink(dir, name, true); // ENOTEMPTY when it holds anything
    out.replaced.push({ rel, kind });
    return;
  }
  if (!policy.trash && policy.aside) {
    for (let n = 0; ; n++) {
      const as = `${name}.ferry-replaced-${policy.aside}${n === 0 ? '' : `.${n}`}`;
      try {
        P.rename(dir, name, dir, as, true);
        out.replaced.push({ rel, kind, trashedTo: join(root, parentOf(rel), as) });
        return;
      } catch (err) {
        if (code(err) !== 'EEXIST' || n >= 100) throw err;
      }
    }
  }
  if (policy.trash) {
    const trash = policy.trash;
    const into = ensureDir(trash, parentOf(rel), { replace: false, parentMode: 0o700 }, effects());
    try {
      for (let n = 0; ; n++) {
        const as = n === 0 ? name : `${name}.${n}`;
        try {
          P.rename(dir, name, into, as, true);
          out.replaced.push({ rel, kind, trashedTo: join(trash.root, parentOf(rel), as) });
          return;
        } catch (err) {
          if (code(err) !== 'EEXIST' || n >= 100) throw err;
        }
      }
    } finally {
      closeQuietly(into);
    }
  }
  P.unlink(dir, name, false);
  out.replaced.push({ rel, kind });
}

/**
 * Opens root/relDir, making what is missing (with policy.parentMode) and, when the policy allows,
 * replacing what stands in the way. The common case (it all exists) is one walk.
 */
function ensureDir(place: Place, relDir: string, policy: WritePolicy, out: Effects): Dir {
  try {
    return P.openDir(place, relDir);
  } catch (err) {
    if (code(err) !== 'ENOENT' && !(code(err) === 'ENOTDIR' && 'kind' in (err as object))) throw err;
  }
  let dir = P.openDir(place, '');
  try {
    const parts = relDir === '' ? [] : relDir.split('/');
    for (let i = 0; i < parts.length; i++) {
      const rel = parts.slice(0, i + 1).join('/');
      let next: Dir | undefined;
      for (let attempt = 0; next === undefined; attempt++) {
        try {
          next = P.openChild(dir, parts[i]!);
        } catch (err) {
          if (attempt >= 3) throw err;
          const kind = (err as { kind?: ObstacleKind }).kind;
          if (code(err) === 'ENOENT') {
            try {
              P.mkdir(dir, parts[i]!, policy.parentMode);
              out.created.push(rel);
            } catch (e) {
              if (code(e) !== 'EEXIST') throw e;
            }
          } else if (code(err) === 'ENOTDIR' && kind) {
            const f = P.stat(dir, parts[i]!);
            if (!f) continue;
            if (!mayReplace(policy, rel, f)) throw notADirectory(rel, kind);
            moveAside(dir, parts[i]!, rel, kindOfFields(f), policy, out, place.root);
          } else {
            throw err;
          }
        }
      }
      P.closeDir(dir);
      dir = next;
    }
    return dir;
  } catch (err) {
    closeQuietly(dir);
    throw err;
  }
}

/** Renames `from` over `name` in `dir`; a directory there is replaced as the policy says. */
function placeFinal(dir: Dir, from: string, name: string, rel: string, policy: WritePolicy, out: Effects, root: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      P.rename(dir, from, dir, name, false);
      return;
    } catch (err) {
      if (!['EISDIR', 'ENOTEMPTY', 'EEXIST'].includes(code(err) ?? '') || attempt > 0) throw err;
      const f = P.stat(dir, name);
      if (!f || kindOfFields(f) !== 'dir') throw err;
      if (!mayReplace(policy, rel, f)) throw dirInTheWay(rel, false);
      try {
        moveAside(dir, name, rel, 'dir', policy, out, root);
      } catch (e) {
        if (code(e) === 'ENOTEMPTY' || code(e) === 'EEXIST') throw dirInTheWay(rel, true);
        throw e;
      }
    }
  }
}

/** Creates this job's temp file afresh (one left by a run that stopped is removed first). */
function createTemp(dir: Dir, temp: string, mode: number, keep: boolean): { fd: number; kept: number } {
  const flags = (keep ? constants.O_RDWR : constants.O_WRONLY) | constants.O_CREAT | constants.O_EXCL;
  try {
    return { fd: P.openFile(dir, temp, flags, mode), kept: 0 };
  } catch (err) {
    if (code(err) !== 'EEXIST') throw err;
  }
  if (keep) {
    // --partial: the bytes a stopped run left are compared with the source before they are used.
    try {
      const fd = P.openFile(dir, temp, constants.O_RDWR, 0);
      return { fd, kept: Number(fstatSync(fd).size) };
    } catch (err) {
      if (code(err) !== 'EACCES') throw err;
    }
  }
  P.unlink(dir, temp, false);
  return { fd: P.openFile(dir, temp, flags, mode), kept: 0 };
}

function applyAttrs(fd: number, a: Attrs, out: Effects, fixMode?: boolean): void {
  const refused = (what: 'chmod' | 'chown', err: unknown): void => {
    if (!['EPERM', 'EACCES', 'EOPNOTSUPP', 'ENOTSUP', 'EROFS'].includes(code(err) ?? '')) throw err;
    if (!out.refused.includes(what)) out.refused.push(what);
  };
  if (a.owner) {
    try {
      fchownSync(fd, a.owner.uid, a.owner.gid);
    } catch (err) {
      refused('chown', err);
    }
  }
  const mode = a.chmod ?? (fixMode ? a.mode & ~a.umask : undefined);
  if (mode !== undefined) {
    try {
      fchmodSync(fd, mode);
    } catch (err) {
      refused('chmod', err);
    }
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  let n = 0;
  while (n < data.length) n += writeSync(fd, data, n, data.length - n, n);
}

/** Another process wrote into ferry's temp file or over its result: never record such a copy. */
function foreignWrite(rel: string, what: string): Error {
  return fileError('ECHANGED', `the copy of ${rel} ${what} (another process writing the same destination?)`);
}

function entryIn(dir: Dir, name: string, rel: string): FileEntry | undefined {
  const f = P.stat(dir, name);
  return f ? entryAt(rel, f, 0) : undefined;
}

/** Sets the times, re-stats, and checks the entry under the final name is the one written. */
function settle(dir: Dir, name: string, rel: string, t: Times, written: { dev: bigint; ino: bigint }): FileEntry {
  P.setTimes(dir, name, t.atimeNs, t.mtimeNs);
  const f = P.stat(dir, name);
  if (!f || f[F.dev] !== written.dev || f[F.ino] !== written.ino) throw foreignWrite(rel, 'was replaced after the rename');
  return entryAt(rel, f, 0);
}

export interface Times {
  atimeNs: bigint;
  mtimeNs: bigint;
}

/** Opens a source file below `root` read-only, never through a link, with O_NOATIME where allowed. */
function openSource(root: string, rel: string): number {
  const dir = P.openDir({ root, pinDev: -1n, pinIno: -1n }, parentOf(rel));
  try {
    try {
      return P.openFile(dir, baseOf(rel), SOURCE_FLAGS | NOATIME, 0);
    } catch (err) {
      if (NOATIME === 0 || code(err) !== 'EPERM') throw err;
      return P.openFile(dir, baseOf(rel), SOURCE_FLAGS, 0);
    }
  } finally {
    closeQuietly(dir);
  }
}

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
        applyAttrs(fd, a.attrs, out);
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
      return { entry: settle(dir, baseOf(a.rel), a.rel, a.times, written), flushed, effects: out };
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
      return { entry: settle(dir, baseOf(a.rel), a.rel, a.times, written), effects: out };
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

  /** Rejects ENOTDIR when a parent of rel is not a real directory; parents not there yet are fine. */
  checkParents(a: { place: Place; rel: string }): void {
    try {
      closeQuietly(P.openDir(a.place, parentOf(a.rel)));
    } catch (err) {
      if (code(err) !== 'ENOENT') throw err;
    }
  },
};

export type FsOps = typeof ops;
