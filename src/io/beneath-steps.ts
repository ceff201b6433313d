/**
 * The steps every operation of beneath-ops.ts is made of, on the I/O threads: reaching a directory
 * below a root (making what is missing, moving out of the way what the policy lets go), placing a
 * temp file under its final name, giving a new entry its permission bits, checking the result.
 */
import { constants, fchmodSync, fchownSync, fstatSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { EntryKind, FileEntry } from '../core/entry.js';
import { fileError } from '../core/errors.js';
import { kindOfFields, notADirectory, prims as P, type Dir, type ObstacleKind, type Place } from './beneath.js';
import { FUSE_SUPER_MAGIC } from './fs-kind.js';
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

export const code = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;
export const parentOf = (rel: string): string => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');
export const baseOf = (rel: string): string => rel.slice(rel.lastIndexOf('/') + 1);
export const effects = (): Effects => ({ replaced: [], created: [], refused: [] });

export function closeQuietly(dir: Dir | undefined): void {
  if (dir === undefined) return;
  try {
    P.closeDir(dir);
  } catch {
    // the first error is the one that matters
  }
}

/** A directory where a file must go. `notEmpty`: ferry will not delete it here (the mirror may). */
export function dirInTheWay(rel: string, notEmpty: boolean): Error {
  const e = fileError('EISDIR', `${rel} is a directory on the destination${notEmpty ? ' that is not empty; it gives way to the file only once a mirror (--delete-extras) has removed its contents' : ''}`);
  return Object.assign(e, { rel, notEmpty });
}

/** Whether the policy lets `rel`, found as `f`, be moved out of the way. */
export function mayReplace(policy: WritePolicy, rel: string, f: BigInt64Array): boolean {
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
export function moveAside(dir: Dir, name: string, rel: string, kind: EntryKind, policy: WritePolicy, out: Effects, root: string): void {
  if (kind === 'dir') {
    P.unlink(dir, name, true); // ENOTEMPTY when it holds anything
    out.replaced.push({ rel, kind });
    return;
  }
  if (!policy.trash && policy.aside) {
    // A name near the 255-byte limit is cut (on a character) to leave room for the suffix.
    let stem = name;
    while (Buffer.byteLength(stem) > 200) stem = stem.slice(0, -1);
    for (let n = 0; ; n++) {
      const as = `${stem}.ferry-replaced-${policy.aside}${n === 0 ? '' : `.${n}`}`;
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
export function ensureDir(place: Place, relDir: string, policy: WritePolicy, out: Effects): Dir {
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
export function placeFinal(dir: Dir, from: string, name: string, rel: string, policy: WritePolicy, out: Effects, root: string): void {
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
export function createTemp(dir: Dir, temp: string, mode: number, keep: boolean): { fd: number; kept: number } {
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

/**
 * Gives a new entry (open as `fd`) its owner and bits: --owner, --perms (`chmod`), a directory made on
 * the way that now gets its own mode (`fixMode`); and in every case takes away any bit the
 * destination gave it beyond what was asked (a share's "force create mode", an inherited ACL), so
 * it is never wider than its source's. setuid and setgid stay only on a copy that has its source's
 * owner and group.
 */
export function applyAttrs(fd: number, a: Attrs, out: Effects, fixMode?: boolean, known?: { mode: number | bigint; uid: number | bigint; gid: number | bigint }): void {
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
  let mode = a.chmod ?? (fixMode ? a.mode & ~a.umask : undefined);
  // The fstat the caller made right after writing, unless an owner was set since.
  const got = known && !a.owner ? known : fstatSync(fd);
  const st = { mode: Number(got.mode), uid: Number(got.uid), gid: Number(got.gid) };
  if (mode !== undefined && mode & 0o6000 && (!a.owner || st.uid !== a.owner.uid || st.gid !== a.owner.gid)) mode &= ~0o6000;
  if (mode === undefined) {
    const extra = st.mode & 0o777 & ~(a.mode & ~a.umask);
    if (extra) mode = st.mode & 0o7777 & ~extra;
  }
  if (mode !== undefined && mode !== (st.mode & 0o7777)) {
    try {
      fchmodSync(fd, mode);
    } catch (err) {
      refused('chmod', err);
    }
  }
}

export function writeAll(fd: number, data: Uint8Array): void {
  let n = 0;
  while (n < data.length) n += writeSync(fd, data, n, data.length - n, n);
}

/** Another process wrote into ferry's temp file or over its result: never record such a copy. */
export function foreignWrite(rel: string, what: string): Error {
  return fileError('ECHANGED', `the copy of ${rel} ${what} (another process writing the same destination?)`);
}

export function entryIn(dir: Dir, name: string, rel: string): FileEntry | undefined {
  const f = P.stat(dir, name);
  return f ? entryAt(rel, f, 0) : undefined;
}

/**
 * Sets the times, re-stats, and checks the entry under the final name is the one written: the same
 * inode; on FUSE (sshfs, rclone mount), where the server may number a file anew when it is renamed
 * (rclone derives the number from the path), a regular file of the size written.
 */
export function settle(dir: Dir, name: string, rel: string, t: Times, written: { dev: bigint; ino: bigint; size: bigint }, root: string): FileEntry {
  P.setTimes(dir, name, t.atimeNs, t.mtimeNs);
  const f = P.stat(dir, name);
  const same = f !== undefined && f[F.dev] === written.dev &&
    (f[F.ino] === written.ino || (f[F.size] === written.size && f[F.kind] === 0n && onFuse(root, written.dev)));
  if (!same) throw foreignWrite(rel, 'was replaced after the rename');
  return entryAt(rel, f, 0);
}

/** By st_dev: whether the filesystem is FUSE (asked once). */
const fuse = new Map<bigint, boolean>();

function onFuse(root: string, dev: bigint): boolean {
  let known = fuse.get(dev);
  if (known === undefined) {
    try {
      known = statfsSync(root).type === FUSE_SUPER_MAGIC;
    } catch {
      known = false; // cannot tell: keep the strict check
    }
    fuse.set(dev, known);
  }
  return known;
}

export interface Times {
  atimeNs: bigint;
  mtimeNs: bigint;
}

/** Opens a source file below `root` read-only, never through a link, with O_NOATIME where allowed. */
export function openSource(root: string, rel: string): number {
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

