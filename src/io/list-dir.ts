import { lstatSync, readdirSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import type { EntryKind, FileEntry } from '../core/entry.js';
import { addon } from './native.js';

/**
 * One directory's entries with their lstat, packed: `names[i]` and `fields[i * FIELDS …]`. With the
 * native helper it is one call (readdir + statx relative to the open directory, no Stats objects);
 * without it, readdirSync + lstatSync fill the same layout. Packed batches also cross threads cheaply:
 * a string and a transferred buffer instead of an object per file.
 */
export interface DirListing {
  names: string[];
  fields: BigInt64Array;
}

/** Per entry, in this order (native/native.h keeps the same). */
export const F = {
  kind: 0, mode: 1, uid: 2, gid: 3, size: 4, atimeS: 5, atimeNs: 6, mtimeS: 7, mtimeNs: 8,
  ctimeS: 9, ctimeNs: 10, btimeS: 11, btimeNs: 12, dev: 13, ino: 14, mnt: 15,
} as const;
/** `mnt` is the mount's id (0 where unknown: the portable listing); not a stable identity, only a boundary. */
export const FIELDS = 16;

/** F.kind values: the entry kinds, then the two ways an entry cannot be listed. */
export const KINDS: readonly EntryKind[] = ['file', 'dir', 'symlink', 'other'];
export const KIND_STAT_FAILED = -1n; // F.mode holds the errno
export const KIND_NOT_UTF8 = -2n;

const NS = 1_000_000_000n;

/**
 * The entries of `root/rel` (rel '' for the root itself). With the native helper the directory is
 * reached from the root one component at a time, never through a symlink: a directory of the tree
 * swapped for a link while it is walked fails ENOTDIR instead of being listed where the link leads.
 */
export function listDir(root: string, rel: string): DirListing {
  if (addon) {
    const r = addon.listDir(root, rel);
    return { names: r.names === '' ? [] : r.names.split('\0'), fields: r.fields };
  }
  return listDirPortable(rel === '' ? root : join(root, rel));
}

/** readdirSync + lstatSync into the packed layout; what runs when the native helper did not build. */
export function listDirPortable(path: string): DirListing {
  const names = readdirSync(path);
  const fields = new BigInt64Array(names.length * FIELDS);
  names.forEach((name, i) => {
    const at = i * FIELDS;
    let st;
    try {
      st = lstatSync(join(path, name), { bigint: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // readdir turned bytes that are not UTF-8 into U+FFFD: the name cannot be opened again.
      fields[at + F.kind] = code === 'ENOENT' && name.includes('\uFFFD') ? KIND_NOT_UTF8 : KIND_STAT_FAILED;
      fields[at + F.mode] = BigInt(-((err as NodeJS.ErrnoException).errno ?? -5));
      return;
    }
    fieldsOf(st, fields, i);
  });
  return { names, fields };
}

/** Fills the packed fields of one entry from a Node stat (the portable paths). */
export function fieldsOf(st: BigIntStats, into = new BigInt64Array(FIELDS), i = 0): BigInt64Array {
  const at = i * FIELDS;
  into[at + F.kind] = BigInt(st.isFile() ? 0 : st.isDirectory() ? 1 : st.isSymbolicLink() ? 2 : 3);
  into[at + F.mode] = st.mode;
  into[at + F.uid] = st.uid;
  into[at + F.gid] = st.gid;
  into[at + F.size] = st.size;
  into[at + F.dev] = st.dev;
  into[at + F.ino] = st.ino;
  const split = (ns: bigint, s: number): void => {
    into[at + s] = ns / NS;
    into[at + s + 1] = ns % NS;
  };
  split(st.atimeNs, F.atimeS);
  split(st.mtimeNs, F.mtimeS);
  split(st.ctimeNs, F.ctimeS);
  split(st.birthtimeNs, F.btimeS);
  return into;
}

/** The FileEntry for `rel`, from the packed fields at entry `i` (kind already known to be 0–3). */
export function entryAt(rel: string, fields: BigInt64Array, i: number): FileEntry {
  const at = i * FIELDS;
  return {
    rel,
    kind: KINDS[Number(fields[at + F.kind])]!,
    size: fields[at + F.size]!,
    mtimeNs: fields[at + F.mtimeS]! * NS + fields[at + F.mtimeNs]!,
    atimeNs: fields[at + F.atimeS]! * NS + fields[at + F.atimeNs]!,
    ctimeNs: fields[at + F.ctimeS]! * NS + fields[at + F.ctimeNs]!,
    birthtimeNs: fields[at + F.btimeS]! * NS + fields[at + F.btimeNs]!,
    mode: Number(fields[at + F.mode]),
    uid: Number(fields[at + F.uid]),
    gid: Number(fields[at + F.gid]),
  };
}
