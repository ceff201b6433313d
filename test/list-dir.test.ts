import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIELDS, listDir, listDirPortable } from '../dist/io/list-dir.js';
import { addon } from '../dist/io/native.js';
import { tempTree } from './helpers/tree.js';

/** The scan's two ways to list a directory must agree to the last field. */
describe('listing a directory: the native helper and the portable fallback agree', () => {
  it('the native helper is built here (npm install builds it; the fallback is tested below all the same)', () => {
    expect(addon).toBeDefined();
  });

  it('gives the same names, kinds, sizes, modes, owners and nanosecond times', () => {
    const dir = tempTree({ 'a.txt': 'hello', 'empty': '', 'sub/b.bin': Buffer.alloc(70_000, 1) });
    symlinkSync('a.txt', join(dir, 'link'));
    mkdirSync(join(dir, 'emptydir'));
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/caf`), Buffer.from([0xe9])]), 'latin-1 name');

    // All but the mount id, which only the native helper knows (Node's stat does not give it).
    const byName = (l: { names: string[]; fields: BigInt64Array }): Record<string, bigint[]> =>
      Object.fromEntries(l.names.map((n, i) => [n, [...l.fields.subarray(i * FIELDS, (i + 1) * FIELDS - 1)]]));
    const native = byName(listDir(dir, ''));
    const portable = byName(listDirPortable(dir));
    expect(Object.keys(native).sort()).toEqual(['a.txt', 'caf\uFFFD', 'empty', 'emptydir', 'link', 'pipe', 'sub']);
    const { ['caf\uFFFD']: badNative, ...restNative } = native;
    const { ['caf\uFFFD']: badPortable, ...restPortable } = portable;
    expect(restNative).toEqual(restPortable);
    expect(native['a.txt']![0]).toBe(0n); // file
    expect(native['sub']![0]).toBe(1n); // dir
    expect(native['link']![0]).toBe(2n); // symlink
    expect(native['pipe']![0]).toBe(3n); // other
    expect(native['a.txt']![4]).toBe(5n); // size
    expect(badNative![0]).toBe(-2n); // not UTF-8: reported, never copied under a mangled name
    expect(badPortable![0]).toBe(-2n);
  });

  it('throws the same error code for a directory that is not there', () => {
    const root = tempTree({});
    const missing = join(root, 'nope');
    expect(() => listDir(root, 'nope')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => listDirPortable(missing)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('never lists through a symlink on the way: a directory swapped for a link fails ENOTDIR', () => {
    const elsewhere = tempTree({ 'secret.txt': 'outside the root' });
    const root = tempTree({ 'a/b/f.txt': 'inside' });
    expect(listDir(root, 'a/b').names).toEqual(['f.txt']);
    execFileSync('rm', ['-rf', join(root, 'a')]);
    symlinkSync(elsewhere, join(root, 'a'));
    expect(() => listDir(root, 'a')).toThrow(expect.objectContaining({ code: 'ENOTDIR', rel: 'a', kind: 'symlink' }));
    expect(() => listDir(root, 'a/b')).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
  });
});
