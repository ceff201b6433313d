import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

// The two native hash packages load on first use: each costs ~10 ms at start-up, and most runs use neither.
const require = createRequire(import.meta.url);
const blake3 = (): typeof import('@napi-rs/blake-hash') => require('@napi-rs/blake-hash') as typeof import('@napi-rs/blake-hash');
const xxhash = (): typeof import('@node-rs/xxhash') => require('@node-rs/xxhash') as typeof import('@node-rs/xxhash');

export const ALGORITHMS = ['md5', 'sha1', 'sha256', 'blake2b', 'blake3', 'xxh3'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

/** An incremental hash: feed it blocks in order, then read the hex digest once. */
export interface Hasher {
  update(data: Buffer): void;
  digest(): string;
}

/**
 * md5, sha1, sha256 and blake2b (BLAKE2b-512, what `b2sum` prints) come from node:crypto;
 * blake3 from @napi-rs/blake-hash and xxh3 (64-bit) from @node-rs/xxhash, both native.
 */
export function createHasher(algorithm: Algorithm): Hasher {
  switch (algorithm) {
    case 'md5':
    case 'sha1':
    case 'sha256':
    case 'blake2b': {
      const h = createHash(algorithm === 'blake2b' ? 'blake2b512' : algorithm);
      return { update: (d) => void h.update(d), digest: () => h.digest('hex') };
    }
    case 'blake3': {
      const h = new (blake3().Blake3Hasher)();
      return { update: (d) => void h.update(d), digest: () => h.digest('hex') };
    }
    case 'xxh3': {
      const h = xxhash().xxh3.Xxh3.withSeed();
      return { update: (d) => void h.update(d), digest: () => h.digest().toString(16).padStart(16, '0') };
    }
  }
}

export function isAlgorithm(name: string): name is Algorithm {
  return (ALGORITHMS as readonly string[]).includes(name);
}
