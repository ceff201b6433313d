import { realpathSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** The real path of `p`, or of its nearest existing ancestor joined with the missing rest. */
export function realish(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(realish(parent), abs.slice(parent.length + 1));
  }
}

function identity(p: string): string | undefined {
  try {
    const st = statSync(p, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * Where `path` is below `root` (its relative path, '' for root itself), or undefined when it is not.
 * Judged by device and inode along the path, not by its letters: a bind mount of the root, or a
 * symlink to it, leads inside it under another name. A path that does not exist yet is placed by its
 * nearest existing ancestor; a root that does not exist holds nothing (unless the path is written below it).
 */
export function locateWithin(root: string, path: string): string | undefined {
  const real = realish(path);
  const rootId = identity(root);
  if (rootId === undefined) {
    const r = relative(realish(root), real);
    return r === '' || (r !== '..' && !r.startsWith(`..${sep}`) && !r.startsWith(sep)) ? r.split(sep).join('/') : undefined;
  }
  for (let cur = real; ; ) {
    if (identity(cur) === rootId) return relative(cur, real).split(sep).join('/');
    const up = dirname(cur);
    if (up === cur) return undefined;
    cur = up;
  }
}

/** Whether `path` is `root` or below it (see locateWithin). */
export function isWithin(root: string, path: string): boolean {
  return locateWithin(root, path) !== undefined;
}
