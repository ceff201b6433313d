import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { tempDir } from './tree.js';

const mounted: string[] = [];
afterAll(() => {
  for (const m of mounted.reverse()) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      // already unmounted by the test
    }
  }
});

/** Whether this process may mount filesystems (root, and a kernel that lets it): probed once. */
export const canMount: boolean = (() => {
  if (process.getuid?.() !== 0) return false;
  const probe = join(tempDir('ferry-mount-probe-'), 'm');
  mkdirSync(probe);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

export const NO_MOUNT_REASON = 'needs root and mount(2) for a real tmpfs: skipped here';

/** A real tmpfs of `sizeKiB` mounted on a new directory; unmounted after the test file. */
export function tmpfs(sizeKiB: number): string {
  const dir = join(tempDir('ferry-tmpfs-'), 'mnt');
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k`, 'tmpfs', dir]);
  mounted.push(dir);
  return dir;
}

export function remount(dir: string, options: string): void {
  execFileSync('mount', ['-o', `remount,${options}`, dir]);
}

/** Whether loop-mounted ext4 images work here (root, losetup, mkfs.ext4): probed once. */
export const canLoopMount: boolean = (() => {
  if (!canMount) return false;
  const dir = tempDir('ferry-loop-probe-');
  try {
    execFileSync('truncate', ['-s', '4M', join(dir, 'p.img')]);
    execFileSync('mkfs.ext4', ['-q', join(dir, 'p.img')], { stdio: 'ignore' });
    mkdirSync(join(dir, 'm'));
    execFileSync('mount', ['-o', 'loop', join(dir, 'p.img'), join(dir, 'm')], { stdio: 'ignore' });
    execFileSync('umount', [join(dir, 'm')], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

export const NO_LOOP_REASON = 'needs root, loop devices and mkfs.ext4 for a real drive image: skipped here';

/** A USB stick, as near as a test gets: an ext4 image with a filesystem label, plugged by mounting it. */
export interface LoopDrive {
  image: string;
  mountPoint: string;
  /** Mounts the image (waiting until the kernel has let go of an earlier, lazily unmounted, mount of it). */
  plug(): void;
  /** Unmounts it; `lazy` detaches it even while ferry is writing to it, as pulling the stick out does. */
  unplug(lazy?: boolean): void;
}

function attached(image: string): boolean {
  return execFileSync('losetup', ['-j', image], { encoding: 'utf8' }).trim() !== '';
}

export function loopDrive(label: string, sizeMiB = 16, mountPoint?: string): LoopDrive {
  const dir = tempDir('ferry-drive-');
  const image = join(dir, `${label}.img`);
  execFileSync('truncate', ['-s', `${sizeMiB}M`, image]);
  execFileSync('mkfs.ext4', ['-q', '-L', label, image], { stdio: 'ignore' });
  const mp = mountPoint ?? join(dir, 'mnt');
  mkdirSync(mp, { recursive: true });
  const drive: LoopDrive = {
    image,
    mountPoint: mp,
    plug() {
      for (let i = 0; i < 200 && attached(image); i++) execFileSync('sleep', ['0.05']);
      execFileSync('mount', ['-o', 'loop', image, mp]);
      mounted.push(mp);
    },
    unplug(lazy = false) {
      execFileSync('umount', lazy ? ['-l', mp] : [mp]);
    },
  };
  return drive;
}
