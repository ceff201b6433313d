import type { BigIntStats } from 'node:fs';

export type EntryKind = 'file' | 'dir' | 'symlink' | 'other';

/**
 * One thing found in a tree. `rel` is the POSIX path relative to the root (no leading "./").
 * Times are nanoseconds since the epoch as bigint: a double loses precision past microseconds.
 */
export interface FileEntry {
  rel: string;
  kind: EntryKind;
  size: bigint;
  mtimeNs: bigint;
  atimeNs: bigint;
  ctimeNs: bigint;
  birthtimeNs: bigint;
  mode: number;
  uid: number;
  gid: number;
}

export function kindOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EntryKind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

export function entryFromStats(rel: string, st: BigIntStats): FileEntry {
  return {
    rel,
    kind: kindOf(st),
    size: st.size,
    mtimeNs: st.mtimeNs,
    atimeNs: st.atimeNs,
    ctimeNs: st.ctimeNs,
    birthtimeNs: st.birthtimeNs,
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
  };
}
