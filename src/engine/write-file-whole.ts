import { constants } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { makeDirs } from '../io/make-dirs.js';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces a small file whole and durably: a temp file beside it, fsync, rename, fsync of the
 * directory. A failure leaves the old file as it was and no temp file behind. Creates the directory.
 */
export async function writeFileWhole(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  makeDirs(dir);
  const temp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  try {
    const fh = await open(temp, 'w', 0o644);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  const d = await open(dir, constants.O_RDONLY);
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
