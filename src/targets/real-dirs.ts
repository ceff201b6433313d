import { lstat, mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../core/errors.js';

const CACHE_LIMIT = 4096;

function notADirectory(rel: string, what: string): Error {
  return Object.assign(new Error(`${rel} on the destination is ${what}, not a directory`), { code: 'ENOTDIR' });
}

/**
 * Makes sure every directory on the way to a destination path is a real directory under the root,
 * never a symlink: `mkdir -p`, `open` and `rename` follow symlinks in parent directories, which
 * would let a stale link in the destination lead writes elsewhere (even into the source).
 * A symlink where the source has a directory is replaced by that directory; a file there is an error.
 * Verified directories are remembered (a bounded cache) so a tree costs about one lstat a directory.
 */
export class RealDirs {
  private readonly known = new Set<string>();

  /**
   * `beforeCreate` runs before any directory is made (a removable drive checks it is still mounted).
   * `keepSymlinks`: a symlink on the way is an error (ENOTDIR) instead of being replaced: on a drive
   * ferry only adds files, the user's links are theirs.
   */
  constructor(
    private readonly root: string,
    private readonly beforeCreate?: () => Promise<void>,
    private readonly keepSymlinks = false,
  ) {}

  /** Ensures `relDir` and its parents are real directories, creating the missing ones. */
  async ensure(relDir: string): Promise<void> {
    if (relDir === '' || relDir === '.' || this.known.has(relDir)) return;
    const cut = relDir.lastIndexOf('/');
    await this.ensure(cut < 0 ? '' : relDir.slice(0, cut));
    const path = join(this.root, relDir);
    let st;
    try {
      st = await lstat(path);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      await this.beforeCreate?.();
      await mkdir(path).catch((e: unknown) => {
        if (errnoCode(e) !== 'EEXIST') throw e;
      });
      st = await lstat(path);
    }
    if (st.isSymbolicLink()) {
      if (this.keepSymlinks) throw notADirectory(relDir, 'a symlink');
      await unlink(path);
      await mkdir(path);
      st = await lstat(path);
    }
    if (!st.isDirectory()) throw notADirectory(relDir, 'a file');
    this.remember(relDir);
  }

  /** Checks, without creating anything, that the parents of `rel` are real directories. */
  async check(rel: string): Promise<void> {
    const cut = rel.lastIndexOf('/');
    const parent = cut < 0 ? '' : rel.slice(0, cut);
    if (parent === '' || this.known.has(parent)) return;
    await this.check(parent);
    const st = await lstat(join(this.root, parent));
    if (!st.isDirectory()) throw notADirectory(parent, st.isSymbolicLink() ? 'a symlink' : 'a file');
    this.remember(parent);
  }

  private remember(relDir: string): void {
    if (this.known.size >= CACHE_LIMIT) this.known.clear();
    this.known.add(relDir);
  }
}
