import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];
afterAll(() => {
  for (const d of made) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      // Trees deeper than PATH_MAX (the scan-error tests make one): GNU rm walks them with openat.
      execFileSync('rm', ['-rf', d]);
    }
  }
});

/** A fresh directory under the system temp dir, removed after the test file. */
export function tempDir(prefix = 'ferry-test-'): string {
  const d = mkdtempSync(join(process.env.FERRY_TEST_TMP ?? tmpdir(), prefix));
  made.push(d);
  return d;
}

export type TreeSpec = Record<string, string | Buffer | { symlink: string } | null>;

/**
 * Writes a tree: keys are relative paths; a string or Buffer is a file's content, `null` an empty
 * directory, `{ symlink }` a symbolic link. Returns the root.
 */
export function tempTree(spec: TreeSpec, root = tempDir()): string {
  for (const [rel, content] of Object.entries(spec)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    if (content === null) mkdirSync(p, { recursive: true });
    else if (typeof content === 'object' && !Buffer.isBuffer(content)) symlinkSync(content.symlink, p);
    else writeFileSync(p, content);
  }
  return root;
}

/** Deterministic incompressible bytes (a xorshift stream): the same seed gives the same content. */
export function randomBytes(size: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/**
 * Every regular file under root (relative POSIX path → "size:sha256"), for comparing trees.
 * Digests, not Buffers: a deep equality over megabytes of Buffers takes vitest tens of seconds.
 */
export function readTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const d of readdirSync(join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) walk(r);
      else if (d.isFile()) {
        const data = readFileSync(join(root, r));
        out.set(r, `${data.length}:${createHash('sha256').update(data).digest('hex')}`);
      }
    }
  };
  walk('');
  return out;
}

/** All names under root, files and directories, sorted (temp files included: tests look for them). */
export function listAll(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const d of readdirSync(join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      out.push(r);
      if (d.isDirectory()) walk(r);
    }
  };
  walk('');
  return out.sort();
}

export function mtimeNs(path: string): bigint {
  return statSync(path, { bigint: true }).mtimeNs;
}

/** Sets a file's times to whole seconds (a clock we choose, not the test's wall time). */
export function setTimes(path: string, atimeSec: number, mtimeSec: number): void {
  utimesSync(path, atimeSec, mtimeSec);
}
