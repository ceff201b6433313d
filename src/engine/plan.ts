/**
 * The skip rule (§3.2): a destination file is up to date when it exists with the same size and an
 * mtime within the modify window of the source's. The window is the coarsest time step of either
 * tree, so a copy made by ferry (or by cp/rsync onto a FAT or SMB share) counts as unchanged.
 */

const STEPS = [2_000_000_000n, 1_000_000_000n, 100_000_000n, 10_000_000n, 1_000_000n, 1_000n, 100n, 1n];

/** Tracks the coarsest step that divides every mtime seen: 1s for a tree copied by a tool that drops ns. */
export class TimeGranularity {
  private step = STEPS[0]!;
  private seen = false;

  observe(mtimeNs: bigint): void {
    this.seen = true;
    while (this.step > 1n && mtimeNs % this.step !== 0n) {
      this.step = STEPS[STEPS.indexOf(this.step) + 1]!;
    }
  }

  /** The step, or 1 ns when nothing was observed (assume the finest). */
  get ns(): bigint {
    return this.seen ? this.step : 1n;
  }
}

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
