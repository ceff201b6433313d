/**
 * Paths below a root, the way ferry writes, deletes and reads them: every directory on the way is
 * opened relative to the one before without following links (openat with O_NOFOLLOW | O_DIRECTORY),
 * and every call acts on an entry relative to such a descriptor. Another process that swaps a
 * directory of the tree for a symlink while ferry works cannot lead ferry outside the root, and no
 * directory is trusted because it was checked once: each call walks from the root again.
 *
 * Two sets of the same primitives: the native helper's (descriptors), and a portable one for when it
 * did not build (checked absolute paths: each component is lstat'ed just before use, which leaves a
 * window of microseconds that descriptors do not). Everything here is synchronous: it runs on the I/O
 * threads (fs-worker.ts), never on the main thread.
 */
import { closeSync, constants, lchownSync, lstatSync, lutimesSync, mkdirSync, openSync, readlinkSync, renameSync, rmdirSync, statSync, symlinkSync, unlinkSync, existsSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { fileError } from '../core/errors.js';
import { fieldsOf, F } from './list-dir.js';
import { addon, toSeconds, type NativeAddon } from './native.js';

/** A root and, once pinned, the device and inode it must still have (-1n: not pinned). */
export interface Place {
  root: string;
  pinDev: bigint;
  pinIno: bigint;
}

/** A directory reached below a root: a descriptor, or (portable) an absolute path checked on the way. */
export type Dir = number | string;

export interface Prims {
  /** Opens root/rel, an existing directory, without following links on the way (see errors below). */
  openDir(place: Place, rel: string): Dir;
  /** The directory `name` inside `dir`, not through a link. */
  openChild(dir: Dir, name: string): Dir;
  closeDir(dir: Dir): void;
  /** openat(dir, name, flags | O_NOFOLLOW, mode): a file descriptor. */
  openFile(dir: Dir, name: string, flags: number, mode: number): number;
  rename(from: Dir, a: string, to: Dir, b: string, noReplace: boolean): void;
  unlink(dir: Dir, name: string, isDir: boolean): void;
  mkdir(dir: Dir, name: string, mode: number): void;
  symlink(linkTarget: string, dir: Dir, name: string): void;
  readlink(dir: Dir, name: string): string;
  /** Sets atime and mtime of dir/name without following a link; name '' is `dir` itself. */
  setTimes(dir: Dir, name: string, atimeNs: bigint, mtimeNs: bigint): void;
  chown(dir: Dir, name: string, uid: number, gid: number): void;
  /** lstat of dir/name ('' for dir itself) as packed fields (list-dir.ts), or undefined when absent. */
  stat(dir: Dir, name: string): BigInt64Array | undefined;
}

/*
 * Errors carry Node's shape (`code`), and two more properties where they help: ENOTDIR met on the
 * way has `rel` (the path up to the part that is not a directory) and `kind` (what is there
 * instead: "symlink", "file", "other"); ENXIO means the root is no longer the pinned directory.
 */

export type ObstacleKind = 'symlink' | 'file' | 'other';

export function notADirectory(rel: string, kind: ObstacleKind): Error {
  return Object.assign(fileError('ENOTDIR', `${rel} on the way is a ${kind}, not a directory`), { rel, kind });
}

function rootChanged(root: string): Error {
  return fileError('ENXIO', `${root} is no longer the directory this run began with (unmounted, or replaced)`);
}

const code = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

function kindOfFields(f: BigInt64Array): 'file' | 'dir' | 'symlink' | 'other' {
  return (['file', 'dir', 'symlink', 'other'] as const)[Number(f[F.kind])] ?? 'other';
}

function obstacle(f: BigInt64Array | undefined): ObstacleKind | undefined {
  if (!f) return undefined;
  const k = kindOfFields(f);
  return k === 'dir' ? undefined : k;
}

function nativePrims(n: NativeAddon): Prims {
  const DIR = constants.O_RDONLY | constants.O_DIRECTORY;
  const stat = (dir: Dir, name: string): BigInt64Array | undefined => {
    try {
      return n.statAt(dir as number, name);
    } catch (err) {
      if (code(err) === 'ENOENT') return undefined;
      throw err;
    }
  };
  return {
    openDir(place, rel) {
      try {
        return n.dirOpen(place.root, place.pinDev, place.pinIno, rel, false, 0);
      } catch (err) {
        if (code(err) === 'ENXIO') throw rootChanged(place.root);
        throw err;
      }
    },
    openChild(dir, name) {
      try {
        return n.openAt(dir as number, name, DIR, 0);
      } catch (err) {
        if (code(err) !== 'ELOOP' && code(err) !== 'ENOTDIR') throw err;
        const kind = obstacle(stat(dir, name));
        if (kind) throw notADirectory(name, kind);
        throw err;
      }
    },
    closeDir: (dir) => n.close(dir as number),
    openFile: (dir, name, flags, mode) => n.openAt(dir as number, name, flags, mode),
    rename(from, a, to, b, noReplace) {
      try {
        n.renameAt(from as number, a, to as number, b, noReplace);
      } catch (err) {
        // FUSE daemons of libfuse 2 (exFAT, NTFS) answer EINVAL to RENAME_NOREPLACE: look, then rename.
        if (!noReplace || code(err) !== 'EINVAL') throw err;
        if (stat(to, b)) throw Object.assign(new Error(`EEXIST: file already exists, '${b}'`), { code: 'EEXIST' });
        n.renameAt(from as number, a, to as number, b, false);
      }
    },
    unlink: (dir, name, isDir) => n.unlinkAt(dir as number, name, isDir),
    mkdir: (dir, name, mode) => n.mkdirAt(dir as number, name, mode),
    symlink: (target, dir, name) => n.symlinkAt(target, dir as number, name),
    readlink: (dir, name) => n.readlinkAt(dir as number, name),
    setTimes: (dir, name, atimeNs, mtimeNs) => n.utimensAt(dir as number, name, atimeNs, mtimeNs),
    chown: (dir, name, uid, gid) => n.chownAt(dir as number, name, uid, gid),
    stat,
  };
}

/** The portable set: absolute paths, each component lstat'ed as it is reached. */
function portablePrims(): Prims {
  const at = (dir: Dir, name: string): string => (name === '' ? (dir as string) : join(dir as string, name));
  const stat = (dir: Dir, name: string): BigInt64Array | undefined => {
    try {
      return fieldsOf(lstatSync(at(dir, name), { bigint: true }));
    } catch (err) {
      if (code(err) === 'ENOENT') return undefined;
      throw err;
    }
  };
  const child = (dir: Dir, name: string, rel: string): string => {
    const f = stat(dir, name);
    if (!f) throw Object.assign(new Error(`ENOENT: no such file or directory, '${rel}'`), { code: 'ENOENT' });
    const kind = obstacle(f);
    if (kind) throw notADirectory(rel, kind);
    return at(dir, name);
  };
  return {
    openDir(place, rel) {
      const st = statSync(place.root, { bigint: true });
      if (!st.isDirectory()) throw Object.assign(new Error(`${place.root} is not a directory`), { code: 'ENOTDIR' });
      if (place.pinDev >= 0n && (st.dev !== place.pinDev || st.ino !== place.pinIno)) throw rootChanged(place.root);
      let dir = place.root;
      const parts = rel === '' ? [] : rel.split('/');
      parts.forEach((part, i) => {
        dir = child(dir, part, parts.slice(0, i + 1).join('/'));
      });
      return dir;
    },
    openChild: (dir, name) => child(dir, name, name),
    closeDir: () => undefined,
    openFile: (dir, name, flags, mode) => openSync(at(dir, name), flags | (constants.O_NOFOLLOW ?? 0), mode),
    rename(from, a, to, b, noReplace) {
      if (noReplace && existsSync(at(to, b))) throw Object.assign(new Error(`EEXIST: file already exists, '${b}'`), { code: 'EEXIST' });
      renameSync(at(from, a), at(to, b));
    },
    unlink: (dir, name, isDir) => (isDir ? rmdirSync(at(dir, name)) : unlinkSync(at(dir, name))),
    mkdir: (dir, name, mode) => mkdirSync(at(dir, name), { mode }),
    symlink: (target, dir, name) => symlinkSync(target, at(dir, name)),
    readlink: (dir, name) => readlinkSync(at(dir, name)),
    setTimes(dir, name, atimeNs, mtimeNs) {
      // Microseconds at best: libuv takes seconds as a double.
      const s = toSeconds;
      if (name === '') utimesSync(dir as string, s(atimeNs), s(mtimeNs));
      else lutimesSync(at(dir, name), s(atimeNs), s(mtimeNs));
    },
    chown: (dir, name, uid, gid) => lchownSync(at(dir, name), uid, gid),
    stat,
  };
}

/**
 * Closes a file descriptor an operation opened. The native helper's descriptors are closed by it:
 * Node's fs.close warns about descriptors its own calls did not open on this thread.
 */
export const closeFile: (fd: number) => void = addon ? (fd) => addon!.close(fd) : (fd) => closeSync(fd);

/** The primitives this process uses: the native helper's when it is built. */
export const prims: Prims = addon ? nativePrims(addon) : portablePrims();

export { kindOfFields };
