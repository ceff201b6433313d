import { FerryError } from './errors.js';

const SUFFIX: Record<string, number> = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/**
 * Parses a byte size the way rsync and rclone do: plain bytes, or K/M/G/T (binary, 1024-based),
 * optionally followed by "B", "iB" or "/s" ("20M" = 20 MiB). Throws USAGE naming the option.
 */
export function parseSize(text: string, option: string, { allowZero = false } = {}): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?(?:\/s)?\s*$/i.exec(text);
  if (!m) {
    throw new FerryError('USAGE', `${option} takes a size such as 512K, 5M or 1G, not "${text}".`);
  }
  const value = Math.floor(Number(m[1]) * SUFFIX[m[2]!.toUpperCase()]!);
  if (!Number.isSafeInteger(value) || (!allowZero && value <= 0)) {
    throw new FerryError('USAGE', `${option} must be greater than zero, not "${text}".`);
  }
  return value;
}

export function parsePositiveInt(text: string, option: string, max = 1_000_000): number {
  if (!/^\s*\d+\s*$/.test(text) || Number(text) < 1 || Number(text) > max) {
    throw new FerryError('USAGE', `${option} takes a whole number from 1 to ${max}, not "${text}".`);
  }
  return Number(text);
}

/** A whole number of zero or more (a count such as --max-delete). */
export function parseCount(text: string, option: string): number {
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(Number(text))) throw new FerryError('USAGE', `${option} takes a whole number, not "${text}".`);
  return Number(text);
}

const DURATION: Record<string, bigint> = {
  ns: 1n, us: 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n,
};

/** Parses "0", "1ns", "500us", "2ms", "2s", "5m", "24h" into nanoseconds (no unit: seconds). */
export function parseDurationNs(text: string, option: string): bigint {
  const m = /^\s*(\d+)\s*(ns|us|ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw new FerryError('USAGE', `${option} takes a duration such as 0, 1us, 2ms, 2s, 5m or 24h, not "${text}".`);
  return BigInt(m[1]!) * DURATION[m[2] ?? 's']!;
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number | bigint): string {
  let v = Number(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

/** Seconds → "1h02m", "3m05s", "42s"; undefined or infinite → "--". */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

export function formatNsDuration(ns: bigint): string {
  if (ns === 0n) return '0';
  for (const [unit, size] of [['s', 1_000_000_000n], ['ms', 1_000_000n], ['us', 1_000n]] as const) {
    if (ns % size === 0n) return `${ns / size}${unit}`;
  }
  return `${ns}ns`;
}

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
