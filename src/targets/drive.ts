import { lstat, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, FerryError } from '../core/errors.js';
import { LocalTarget } from './local.js';

/**
 * A removable drive as a Target: its folder (made one level at a time, never through a symlink,
 * never onto another filesystem), pinned to the drive's device. Should the drive be unmounted
 * mid-delivery, its path becomes a bare mount point on the system disk, and every write there fails
 * (ENXIO) instead of landing. Ferry only adds on a drive: what stands in a file's way is not replaced.
 */
export async function openDriveTarget(mountRoot: string, folder: string | undefined, identity: string, label: string): Promise<LocalTarget> {
  const top = await stat(mountRoot, { bigint: true });
  const device = top.dev;
  let dir = mountRoot;
  let inode = top.ino;
  for (const part of folder ? folder.split('/') : []) {
    dir = join(dir, part);
    await mkdir(dir).catch((err: unknown) => {
      if (errnoCode(err) !== 'EEXIST') throw err;
    });
    const f = await lstat(dir, { bigint: true });
    if (!f.isDirectory() || f.dev !== device) {
      throw new FerryError('DEST_UNAVAILABLE', `${dir} on ${label} is ${f.isSymbolicLink() ? 'a symlink' : f.isDirectory() ? 'on another filesystem' : 'not a directory'}; nothing was written.`);
    }
    inode = f.ino;
  }
  // Pinned to the directory checked here: one swapped in after the check (a link elsewhere) is refused at first use.
  return new LocalTarget(folder ? join(mountRoot, folder) : mountRoot, identity, { device, inode, replace: false });
}
