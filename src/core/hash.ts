import { Blake3Hasher } from '@napi-rs/blake-hash';
import { xxh3 } from '@node-rs/xxhash';
import { createHash } from 'node:crypto';

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
      const h = new Blake3Hasher();
      return { update: (d) => void h.update(d), digest: () => h.digest('hex') };
    }
    case 'xxh3': {
      const h = xxh3.Xxh3.withSeed();
      return { update: (d) => void h.update(d), digest: () => h.digest().toString(16).padStart(16, '0') };
    }
  }
}

export function isAlgorithm(name: string): name is Algorithm {
  return (ALGORITHMS as readonly string[]).includes(name);
}
