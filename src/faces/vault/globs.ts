import ignore from 'ignore';
import { isAbsolute, relative, sep } from 'node:path';

/** Where a path is, for matching: absolute, and from its repository's top when it is in one. */
export interface GlobSubject {
  abs: string;
  home: string;
  /** From the top of the git repository the path is in. */
  rel?: string;
}

const cache = new Map<string, ReturnType<typeof ignore>>();
function matcher(pattern: string): ReturnType<typeof ignore> {
  let m = cache.get(pattern);
  if (!m) cache.set(pattern, (m = ignore().add(pattern)));
  return m;
}

function below(root: string, abs: string): string | undefined {
  const r = relative(root, abs);
  return r === '' || r.startsWith('..') || isAbsolute(r) ? undefined : r.split(sep).join('/');
}

/**
 * The first of `patterns` (gitignore syntax) that matches, or undefined. `~/x` is anchored at the
 * home directory, `/x` at the filesystem's root; any other pattern is matched from the repository's
 * top (a pattern without a slash matches a name at any depth), or along the absolute path outside one.
 */
export function firstMatch(patterns: readonly string[], s: GlobSubject): string | undefined {
  for (const p of patterns) {
    let path: string | undefined;
    let pattern = p;
    if (p.startsWith('~/')) {
      path = below(s.home, s.abs);
      pattern = p.slice(1);
    } else if (p.startsWith('/')) path = s.abs.slice(1);
    else path = s.rel ?? s.abs.slice(1);
    if (path && matcher(pattern).ignores(path)) return p;
  }
  return undefined;
}

/** A MIME glob ("image/*") against a type. */
export function mimeMatches(glob: string, mime: string): boolean {
  const re = new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
  return re.test(mime);
}
