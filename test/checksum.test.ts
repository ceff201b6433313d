import { Blake3Hasher } from '@napi-rs/blake-hash';
import { xxh3 } from '@node-rs/xxhash';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { randomBytes, readTree, tempDir, tempTree } from './helpers/tree.js';

const BLOCK = 64 * 1024;

/** An empty file, a 1-byte file, and one of several 64K blocks whose size is not a multiple of the block. */
const FILES: Record<string, Buffer> = {
  'empty.bin': Buffer.alloc(0),
  'one.bin': Buffer.from([0x61]),
  'dir/multi.bin': randomBytes(BLOCK * 5 + 12_345, 7),
};

const EMPTY_BLAKE3 = 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262';
const EMPTY_XXH3 = '2d06800538d394c2';

/** The path of a program on $PATH, or undefined. */
function which(tool: string): string | undefined {
  try {
    const out = execFileSync('which', [tool], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return out === '' ? undefined : out;
  } catch {
    return undefined;
  }
}

/**
 * The digest a `*sum`-style tool prints for one file: GNU style "<hex>  file" or BSD style
 * "ALGO (file) = <hex>" (what `xxhsum -H3` prints), with an "XXH3_" prefix removed.
 */
function toolDigest(tool: string, args: string[], file: string): string {
  const out = execFileSync(tool, [...args, file], { encoding: 'utf8' }).trim();
  const bsd = / = ([0-9a-fA-F]+)$/.exec(out);
  const hex = bsd ? bsd[1]! : out.split(/\s+/)[0]!;
  return hex.toLowerCase().replace(/^xxh3_/, '');
}

/** Independent one-shot digests (the whole file at once) from the libraries, for blake3 and xxh3. */
function libraryDigest(algorithm: 'blake3' | 'xxh3', file: string): string {
  const data = readFileSync(file);
  if (algorithm === 'xxh3') return xxh3.xxh64(data).toString(16).padStart(16, '0');
  const h = new Blake3Hasher();
  h.update(data);
  return h.digest('hex');
}

const SYSTEM_TOOL: Record<string, { tool: string; args: string[] }> = {
  md5: { tool: 'md5sum', args: [] },
  sha1: { tool: 'sha1sum', args: [] },
  sha256: { tool: 'sha256sum', args: [] },
  blake2b: { tool: 'b2sum', args: [] },
};

/** The reference digest of `file`: the system tool when there is one, else an independent one-shot hash. */
function referenceDigest(algorithm: string, file: string): string {
  const sys = SYSTEM_TOOL[algorithm];
  if (sys) return toolDigest(sys.tool, sys.args, file);
  if (algorithm === 'blake3') return which('b3sum') ? toolDigest('b3sum', [], file) : libraryDigest('blake3', file);
  if (algorithm === 'xxh3') return which('xxhsum') ? toolDigest('xxhsum', ['-H3'], file) : libraryDigest('xxh3', file);
  throw new Error(`no reference for ${algorithm}`);
}

interface AuditLine {
  time: string;
  status: string;
  source: string | null;
  destination: string;
  checksum: string | null;
  algorithm: string | null;
  size: number;
}

function readAudit(log: string): AuditLine[] {
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AuditLine);
}

function dbHashes(db: string): Map<string, { hash: string | null; algorithm: string | null }> {
  const d = new Database(db, { readonly: true });
  try {
    const rows = d.prepare(`SELECT rel, hash, algorithm FROM files WHERE kind = 'file'`).all() as Array<{
      rel: string;
      hash: string | null;
      algorithm: string | null;
    }>;
    return new Map(rows.map((r) => [r.rel, { hash: r.hash, algorithm: r.algorithm }]));
  } finally {
    d.close();
  }
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

async function copyWith(checksum: string): Promise<{ src: string; dst: string; db: string; log: string }> {
  const src = tempTree(FILES);
  const work = tempDir();
  const dst = join(work, 'dst');
  const db = join(work, 'job.db');
  const log = join(work, 'audit.jsonl');
  const r = await runCli(['copy', src, dst, '--checksum', checksum, '--block-size', '64K', '--db', db, '--log', log]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(readTree(dst)).toEqual(readTree(src));
  return { src, dst, db, log };
}

function checkAuditShape(line: AuditLine, src: string, dst: string, rel: string): void {
  expect(line.time).toMatch(ISO_8601);
  expect(Number.isNaN(Date.parse(line.time))).toBe(false);
  expect(line.status).toBe('synced');
  expect(line.source).toBe(join(src, rel));
  expect(line.destination).toBe(join(dst, rel));
  expect(line.size).toBe(FILES[rel]!.length);
  expect(line).toHaveProperty('checksum');
  expect(line).toHaveProperty('algorithm');
}

describe('--checksum: the stored and logged digests match independent tools', () => {
  it('has the reference tools this test relies on', () => {
    for (const { tool } of Object.values(SYSTEM_TOOL)) expect(which(tool), tool).toBeDefined();
  });

  it('the independent blake3 and xxh3 references agree with the known empty-input vectors', () => {
    const b = new Blake3Hasher();
    b.update(Buffer.alloc(0));
    expect(b.digest('hex')).toBe(EMPTY_BLAKE3);
    expect(xxh3.xxh64(Buffer.alloc(0)).toString(16).padStart(16, '0')).toBe(EMPTY_XXH3);
  });

  for (const algorithm of ['md5', 'sha1', 'sha256', 'blake2b', 'blake3', 'xxh3']) {
    it(`${algorithm}: files.hash and the audit checksum equal the reference digest of every file`, async () => {
      const { src, dst, db, log } = await copyWith(algorithm);
      const hashes = dbHashes(db);
      const audit = readAudit(log);
      expect(audit).toHaveLength(Object.keys(FILES).length);

      for (const rel of Object.keys(FILES)) {
        const expected = referenceDigest(algorithm, join(src, rel));
        // The copy hashes to the same value (a check of the reference, not of ferry).
        expect(referenceDigest(algorithm, join(dst, rel))).toBe(expected);

        const row = hashes.get(rel);
        expect(row, `files row of ${rel}`).toBeDefined();
        expect(row!.hash, `files.hash of ${rel}`).toBe(expected);
        expect(row!.algorithm).toBe(algorithm);

        const line = audit.find((l) => l.source === join(src, rel));
        expect(line, `audit line of ${rel}`).toBeDefined();
        checkAuditShape(line!, src, dst, rel);
        expect(line!.checksum, `audit checksum of ${rel}`).toBe(expected);
        expect(line!.algorithm).toBe(algorithm);
      }

      // Known vectors of the empty input and the one-shot library digests, whatever the reference above was.
      if (algorithm === 'blake3' || algorithm === 'xxh3') {
        for (const rel of Object.keys(FILES)) expect(hashes.get(rel)!.hash).toBe(libraryDigest(algorithm, join(src, rel)));
      }
      if (algorithm === 'blake3') expect(hashes.get('empty.bin')!.hash).toBe(EMPTY_BLAKE3);
      if (algorithm === 'xxh3') expect(hashes.get('empty.bin')!.hash).toBe(EMPTY_XXH3);
    });
  }

  it('none: files.hash is NULL and the audit checksum is null', async () => {
    const { src, dst, db, log } = await copyWith('none');
    const hashes = dbHashes(db);
    const audit = readAudit(log);
    expect(audit).toHaveLength(Object.keys(FILES).length);
    for (const rel of Object.keys(FILES)) {
      expect(hashes.get(rel)).toEqual({ hash: null, algorithm: null });
      const line = audit.find((l) => l.source === join(src, rel));
      expect(line, `audit line of ${rel}`).toBeDefined();
      checkAuditShape(line!, src, dst, rel);
      expect(line!.checksum).toBeNull();
      expect(line!.algorithm).toBeNull();
    }
  });
});
