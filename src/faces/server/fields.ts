import { badRequest } from './api-error.js';

/** A time in nanoseconds (or a size) as the API carries it: decimal digits in a string (or a safe integer). */
export function parseNs(v: unknown, name: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^\d{1,20}$/.test(v) && BigInt(v) < 2n ** 63n) return BigInt(v);
  throw badRequest(`${name} is a whole number of nanoseconds since the epoch, as decimal digits.`);
}

/** A SHA-256 field: 64 hex digits, or empty/absent/null for none. */
export function shaOrNull(v: unknown, name: string): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'string' && /^[0-9a-f]{64}$/i.test(v)) return v.toLowerCase();
  throw badRequest(`${name} is a SHA-256 as 64 hexadecimal digits.`);
}
