import { createRequire } from 'node:module';
import { lutimes } from 'node:fs/promises';

/** ferry's native helper (native/*.c), when it was built. Every call is synchronous. */
export interface NativeAddon {
  utimens(path: string, atimeNs: bigint, mtimeNs: bigint): void;
  syncfs(fd: number): void;
  /** The entries of root/rel, reached without following links: names joined by NUL, FIELDS numbers each (list-dir.ts). */
  listDir(root: string, rel: string): { names: string; fields: BigInt64Array };
  /** A path's file handle ("type:hex", or "" where the filesystem has none) and its stat fields. */
  identify(path: string): { handle: string; fields: BigInt64Array };
  /**
   * Opens root/relDir one component at a time without following links (beneath.c); pinDev -1n for
   * no pin, else the root must still be that device and inode (ENXIO). Returns the descriptor.
   * ENOTDIR errors carry `rel` (the path up to the part that is not a directory) and `kind`.
   */
  dirOpen(root: string, pinDev: bigint, pinIno: bigint, relDir: string, create: boolean, dirMode: number): number;
  /** openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode). */
  openAt(dirfd: number, name: string, flags: number, mode: number): number;
  renameAt(fromDirfd: number, from: string, toDirfd: number, to: string, noReplace: boolean): void;
  unlinkAt(dirfd: number, name: string, isDir: boolean): void;
  mkdirAt(dirfd: number, name: string, mode: number): void;
  symlinkAt(linkTarget: string, dirfd: number, name: string): void;
  readlinkAt(dirfd: number, name: string): string;
  utimensAt(dirfd: number, name: string, atimeNs: bigint, mtimeNs: bigint): void;
  chownAt(dirfd: number, name: string, uid: number, gid: number): void;
  /** lstat of dirfd/name ("" for dirfd itself) as FIELDS numbers. */
  statAt(dirfd: number, name: string): BigInt64Array;
  flock(fd: number, exclusive: boolean, wait: boolean): void;
  /** close(2), for descriptors this helper opened (Node's fs.close warns about those). */
  close(fd: number): void;
}

function loadAddon(): NativeAddon | undefined {
  if (process.env.FERRY_NO_NATIVE === '1') return undefined;
  try {
    return createRequire(import.meta.url)('../../build/Release/ferry_native.node') as NativeAddon;
  } catch {
    return undefined;
  }
}

/** Undefined when the helper did not build (or FERRY_NO_NATIVE=1): ferry then keeps µs times. */
export const addon = loadAddon();

/** True when times are set to the nanosecond (the native addon is built); else to the microsecond. */
export const nanosecondTimes = addon !== undefined;

/**
 * Sets atime and mtime without following a final symlink. With the addon: utimensat, exact.
 * Without it: libuv's lutimes, which takes seconds as a double and truncates to the microsecond.
 */
export async function setTimesNs(path: string, atimeNs: bigint, mtimeNs: bigint): Promise<void> {
  if (addon) {
    addon.utimens(path, atimeNs, mtimeNs);
    return;
  }
  await lutimes(path, toSeconds(atimeNs), toSeconds(mtimeNs));
}

/** Nanoseconds as libuv's seconds (a double), rounded so that its truncation keeps the microsecond. */
export function toSeconds(ns: bigint): number {
  const sec = ns / 1_000_000_000n;
  // Round to the microsecond and nudge half a microsecond up, so libuv's truncation keeps it.
  const us = (ns % 1_000_000_000n) / 1000n;
  return Number(sec) + (Number(us) + 0.5) / 1e6;
}
