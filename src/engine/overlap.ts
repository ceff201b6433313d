import { locateWithin } from '../io/containment.js';

/**
 * How two trees stand to each other, judged by device and inode along their paths, never by path
 * letters: a bind mount or a symlink of a tree is that tree. Every face refuses to write a tree into
 * itself (a copy into its source, a drive inside route's source, a watch target inside its root).
 */
export type Overlap = 'same' | 'inside' | 'holds';

/** Whether `place` is `tree` itself, inside it, or holds it; undefined when they are apart. */
export function overlap(place: string, tree: string): Overlap | undefined {
  const inTree = locateWithin(tree, place);
  if (inTree === '') return 'same';
  if (inTree !== undefined) return 'inside';
  return locateWithin(place, tree) !== undefined ? 'holds' : undefined;
}

/** `path` as a path of `tree` ('' for its root), or undefined when it is not inside it. */
export function pathInTree(tree: string, path: string): string | undefined {
  return locateWithin(tree, path);
}
