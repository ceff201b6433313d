import type { FerryEvent } from '../core/events.js';

/** A value as one JSON line, bigints (times in ns) as decimal strings: nothing loses precision. */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`;
}

/** `--json`: every event as one JSON line (bigints as strings); stats samples included. */
export function ndjsonRenderer(write: (line: string) => void): (e: FerryEvent) => void {
  return (e) => write(jsonLine(e));
}
