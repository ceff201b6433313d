import { createRequire } from 'node:module';
import { lutimes } from 'node:fs/promises';

/** ferry's native helper (native/ferry_native.c), when it was built. */
export interface NativeAddon {
  utimens(path: string, atimeNs: bigint, mtimeNs: bigint): void;
  syncfs(fd: number): void;
  /** One directory's entries: names joined by NUL, 13 numbers each (see list-dir.ts). */
  listDir(path: string): { names: string; fields: BigInt64Array };
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

function toSeconds(ns: bigint): number {
  const sec = ns / 1_000_000_000n;
  // Round to the microsecond and nudge half a microsecond up, so libuv's truncation keeps it.
  const us = (ns % 1_000_000_000n) / 1000n;
  return Number(sec) + (Number(us) + 0.5) / 1e6;
}
