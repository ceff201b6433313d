import { basename, dirname, resolve } from 'node:path';
import { locateWithin } from '../io/containment.js';

/** The files a SQLite database and a job's audit log bring with them. */
const SIBLINGS = ['', '-wal', '-shm', '-journal', '.lock', '.log'];

/** ferry's own files (databases, audit logs) with every sibling they bring (-wal, -shm, .lock…), absolute. */
export function withSiblings(files: string[]): string[] {
  return files.flatMap((f) => SIBLINGS.map((s) => resolve(f) + s));
}

/**
 * Which of ferry's own files (absolute paths, see `withSiblings`) sit inside `root`, as paths relative
 * to it: found by device and inode along their paths, so a root reached through a bind mount or a
 * symlink still knows its index for its own. Their changes are ferry's echoes, never the user's.
 */
export function ownFilesWithin(root: string, files: string[]): Set<string> {
  const rels = new Set<string>();
  for (const f of files) {
    // A sibling (-wal, .lock) may not exist yet: place it by its database's directory.
    const dir = locateWithin(root, dirname(f));
    if (dir !== undefined) rels.add(dir === '' ? basename(f) : `${dir}/${basename(f)}`);
  }
  return rels;
}
