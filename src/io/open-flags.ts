import { constants } from 'node:fs';

/**
 * How ferry opens files, in one place for the async paths and the I/O pool's sync ones.
 * Sources: read-only, never following a final symlink, never blocking on a FIFO that replaced a
 * file since the scan; O_NOATIME (keep the source's atime) is allowed only to the owner or root,
 * so callers retry without it on EPERM.
 */
export const SOURCE_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
export const NOATIME = constants.O_NOATIME ?? 0;

/** Temp files: created or truncated (a resumed run reuses its own), never through a symlink. */
export const TEMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | (constants.O_NOFOLLOW ?? 0);

/** Opens with `open(path, flags)` adding O_NOATIME where permitted. */
export function withNoatime<T>(open: (flags: number) => T): T {
  try {
    return open(SOURCE_FLAGS | NOATIME);
  } catch (err) {
    if (NOATIME === 0 || (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    return open(SOURCE_FLAGS);
  }
}

/** The same for an async open. */
export async function withNoatimeAsync<T>(open: (flags: number) => Promise<T>): Promise<T> {
  try {
    return await open(SOURCE_FLAGS | NOATIME);
  } catch (err) {
    if (NOATIME === 0 || (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    return open(SOURCE_FLAGS);
  }
}
