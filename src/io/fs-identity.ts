import { stat } from 'node:fs/promises';
import { F } from './list-dir.js';
import { fsLabels, mountOf, readMountTable } from './mounts.js';
import { addon } from './native.js';

/**
 * What names a directory, and the filesystem it is on, in a way that survives a remount and tells
 * a different filesystem mounted in the same place apart. Device and inode numbers alone do not: a
 * tmpfs mounted where another was gets the same st_dev, and its root the same inode. So ferry keeps:
 * - `fs`: the filesystem: its UUID where it is a block device whose UUID can be read; else its type,
 *   its source and what names the root of its mount (that root's file handle and birth time);
 * - `handle`: the directory's file handle (inode and generation, which filesystems draw at random
 *   for each new inode; stable across remounts of the same filesystem, as NFS relies on);
 * - `dev`, `ino`, `btime` (birth time), for filesystems without handles.
 * Numbers are decimal strings, so an identity is plain JSON.
 */
export interface DirIdentity {
  fs: string;
  handle: string;
  dev: string;
  ino: string;
  btime: string;
}

const NS = 1_000_000_000n;

async function statOf(path: string): Promise<{ handle: string; dev: bigint; ino: bigint; btime: bigint }> {
  if (addon) {
    const { handle, fields } = addon.identify(path);
    return { handle, dev: fields[F.dev]!, ino: fields[F.ino]!, btime: fields[F.btimeS]! * NS + fields[F.btimeNs]! };
  }
  const st = await stat(path, { bigint: true });
  return { handle: '', dev: st.dev, ino: st.ino, btime: st.birthtimeNs };
}

/** The identity of the directory at `path` (symlinks in the path followed). Rejects as stat does. */
export async function identify(path: string, table = readMountTable()): Promise<DirIdentity> {
  const dir = await statOf(path);
  const mount = mountOf(path, table);
  let fs = '';
  if (mount) {
    const uuid = mount.source.startsWith('/dev/') ? (await fsLabels(mount.source)).uuid : undefined;
    if (uuid) fs = `uuid:${uuid}`;
    else {
      const root = await statOf(mount.mountPoint).catch(() => undefined);
      fs = `${mount.fsType} ${mount.source} ${root ? `${root.handle || `${root.dev}:${root.ino}`} ${root.btime}` : ''}`.trim();
    }
  }
  return { fs, handle: dir.handle, dev: String(dir.dev), ino: String(dir.ino), btime: String(dir.btime) };
}

/**
 * A cheap key of the directory at `path` (no mount table, no blkid): its file handle, else device,
 * inode and birth time. What a watcher polls to notice its root was renamed away or replaced.
 */
export async function dirKey(path: string): Promise<string> {
  const d = await statOf(path);
  return d.handle || `${d.dev}:${d.ino}:${d.btime}`;
}

export type Sameness = 'same' | 'other-filesystem' | 'other-directory';

/** Whether `now` is the directory `was` named: the same one, one on another filesystem, or another one on the same. */
export function compareIdentity(was: DirIdentity, now: DirIdentity): Sameness {
  if (was.fs && now.fs && was.fs !== now.fs) return 'other-filesystem';
  if (was.handle && now.handle) return was.handle === now.handle ? 'same' : 'other-directory';
  if (was.dev !== now.dev) return 'other-filesystem';
  if (was.ino !== now.ino) return 'other-directory';
  if (was.btime !== '0' && now.btime !== '0' && was.btime !== now.btime) return 'other-directory';
  return 'same';
}

/** Parses a stored identity; undefined for none, or for text that is not one. */
export function parseIdentity(text: string | null | undefined): DirIdentity | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Partial<DirIdentity>;
    if (typeof v.fs === 'string' && typeof v.handle === 'string' && typeof v.dev === 'string' && typeof v.ino === 'string') {
      return { fs: v.fs, handle: v.handle, dev: v.dev, ino: v.ino, btime: typeof v.btime === 'string' ? v.btime : '0' };
    }
  } catch {
    // not an identity
  }
  return undefined;
}
