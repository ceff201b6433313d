import { nanosecondTimes } from '../io/native.js';

/**
 * The skip rule (§3.2): a destination file is up to date when it exists with the same size and an
 * mtime within the modify window of the source's. The window is the coarsest time step of either
 * tree, so a copy made by ferry (or by cp/rsync onto a FAT or SMB share) counts as unchanged.
 */

/**
 * The automatic modify window: the coarsest of the source's observed granularity, the destination's
 * probed precision, and the precision ferry sets times with. The rule compares |Δ| < window, so a
 * window of 1 ns means exact equality.
 */
export function modifyWindow(parts: { source: bigint; destination: bigint; setter: bigint }): bigint {
  let w = 1n;
  for (const v of [parts.source, parts.destination, parts.setter]) if (v > w) w = v;
  return w;
}

/** `--modify-window N`, as rsync means it: differences up to and including N count as equal. */
export function explicitWindow(ns: bigint): bigint {
  return ns + 1n;
}

/** The step ferry sets times in: 1 ns with the native helper, 1 µs without (Node's utimes). */
export const SETTER_PRECISION_NS: bigint = nanosecondTimes ? 1n : 1000n;
