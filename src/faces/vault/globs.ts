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

type Kind = 'home' | 'root' | 'rel';
const kindOf = (p: string): Kind => (p.startsWith('~/') ? 'home' : p.startsWith('/') ? 'root' : 'rel');
const patternOf = (p: string): string => (p.startsWith('~/') ? p.slice(1) : p);

/** One matcher per kind of anchor for a whole list: most paths match nothing, and are told so in one test each. */
const lists = new Map<string, Record<Kind, ReturnType<typeof ignore> | undefined>>();
function listMatcher(patterns: readonly string[]): Record<Kind, ReturnType<typeof ignore> | undefined> {
  const key = patterns.join('\n');
  let m = lists.get(key);
  if (!m) {
    m = { home: undefined, root: undefined, rel: undefined };
    for (const p of patterns) (m[kindOf(p)] ??= ignore()).add(patternOf(p));
    lists.set(key, m);
  }
  return m;
}

function pathFor(kind: Kind, s: GlobSubject): string | undefined {
  if (kind === 'home') return below(s.home, s.abs);
  if (kind === 'root') return s.abs.slice(1);
  return s.rel ?? s.abs.slice(1);
}

/**
 * The first of `patterns` (gitignore syntax) that matches, or undefined. `~/x` is anchored at the
 * home directory, `/x` at the filesystem's root; any other pattern is matched from the repository's
 * top (a pattern without a slash matches a name at any depth), or along the absolute path outside one.
 */
export function firstMatch(patterns: readonly string[], s: GlobSubject): string | undefined {
  const lists = listMatcher(patterns);
  let any = false;
  for (const kind of ['home', 'root', 'rel'] as const) {
    const path = lists[kind] && pathFor(kind, s);
    if (path && lists[kind]!.ignores(path)) any = true;
  }
  if (!any) return undefined;
  for (const p of patterns) {
    const path = pathFor(kindOf(p), s);
    if (path && matcher(patternOf(p)).ignores(path)) return p;
  }
  return undefined;
}
