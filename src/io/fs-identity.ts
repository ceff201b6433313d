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
    if (uuid) fs = `${mount.fsType} uuid:${uuid}`;
    else {
      // No UUID (tmpfs, a share, or a device whose superblock this user may not read): the type, the
      // source where it names something stable (a share's server path, not a device node that a
      // loop device reattached renames), and what names the mount's root: its handle and birth time
      // (both stable across remounts of the same filesystem; never device or inode numbers, which are not).
      const root = await statOf(mount.mountPoint).catch(() => undefined);
      const source = mount.source.startsWith('/dev/') ? '' : mount.source;
      fs = [mount.fsType, source, root?.handle ?? '', root && root.btime !== 0n ? String(root.btime) : ''].join(' ').replace(/ +/g, ' ').trim();
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
  // Another type is another filesystem. A UUID is compared with a UUID only: one side may have had
  // none readable (blkid not found, not root), and then the handles decide.
  if (was.fs && now.fs) {
    const uuid = (f: string): boolean => f.split(' ')[1]?.startsWith('uuid:') === true;
    if (was.fs.split(' ')[0] !== now.fs.split(' ')[0]) return 'other-filesystem';
    if (uuid(was.fs) === uuid(now.fs) && was.fs !== now.fs) return 'other-filesystem';
    // UUIDs not to compare: a handle alone does not tell two filesystems apart (every ext4 root is
    // inode 2, generation 0), the birth time does (each was made at another moment).
    if (uuid(was.fs) !== uuid(now.fs) && was.btime !== '0' && now.btime !== '0' && was.btime !== now.btime) return 'other-filesystem';
  }
  if (was.handle && now.handle) return was.handle === now.handle ? 'same' : 'other-directory';
  if (was.btime !== '0' && now.btime !== '0' && was.btime !== now.btime) return 'other-directory';
  // Without handles, device and inode numbers are all that is left where the filesystem is unknown;
  // where it is known, they say nothing (a share remounted gets a new device number).
  if (!was.fs || !now.fs) {
    if (was.dev !== now.dev) return 'other-filesystem';
    if (was.ino !== now.ino) return 'other-directory';
  }
  return 'same';
}

/**
 * The identity of a directory recorded before ferry kept identities: its device and inode only, so
 * only those are compared (compareIdentity: no filesystem, no handle, no birth time).
 */
export function legacyIdentity(dev: bigint | null, ino: bigint | null): string | undefined {
  if (dev === null) return undefined;
  return JSON.stringify({ fs: '', handle: '', dev: String(dev), ino: String(ino ?? ''), btime: '0' });
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
