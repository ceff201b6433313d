import type { FerryEvent } from '../core/events.js';

/** `--json`: every event as one JSON line (bigints as strings); stats samples included. */
export function ndjsonRenderer(write: (line: string) => void): (e: FerryEvent) => void {
  return (e) => write(`${JSON.stringify(e, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
}
