import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerStore } from '../core/server-store.js';

/** A new key: 32 random bytes, URL-safe; only its hash is stored. */
export function newApiKey(): string {
  return `fk_${randomBytes(32).toString('base64url')}`;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * Whether a request may go on: true when no key is configured (keys are optional, as in the seed),
 * else when `given` hashes to one of the stored keys, each compared in constant time. The keys are
 * read on every call, so one added or revoked counts at once.
 */
export async function keyAccepted(store: ServerStore, given: string | undefined): Promise<boolean> {
  const keys = await store.listKeys();
  if (keys.length === 0) return true;
  if (!given) return false;
  const mine = Buffer.from(hashApiKey(given), 'hex');
  let ok = false;
  for (const k of keys) {
    const theirs = Buffer.from(k.hash, 'hex');
    if (theirs.length === mine.length && timingSafeEqual(theirs, mine)) ok = true;
  }
  return ok;
}

/** The key a request carries: `Authorization: Bearer KEY`, `X-API-Key: KEY`, or (a WebSocket) `?api_key=KEY`. */
export function keyOf(headers: Record<string, string | string[] | undefined>, query: unknown): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  const x = headers['x-api-key'];
  if (typeof x === 'string' && x !== '') return x;
  const q = (query as { api_key?: unknown } | undefined)?.api_key;
  return typeof q === 'string' && q !== '' ? q : undefined;
}
