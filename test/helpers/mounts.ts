import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { tempDir } from './tree.js';

const mounted: string[] = [];
afterAll(() => {
  for (const m of mounted.reverse()) {
    try {
      execFileSync('umount', ['-l', m]);
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
