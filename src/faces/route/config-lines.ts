/**
 * Where each key of a TOML text is written, so a validation error can name its line. A light reading
 * of the text (table headers, array-of-tables counters, `key =` lines), enough for the shapes a
 * route configuration has; a path it cannot find falls back to its nearest written parent.
 */
export type KeyPath = ReadonlyArray<string | number>;

const HEADER = /^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$/;
const KEY = /^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+(?:\s*\.\s*[A-Za-z0-9_-]+)*)\s*=/;

const unquote = (k: string): string => k.trim().replace(/^["'](.*)["']$/, '$1');

export function keyLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  const counters = new Map<string, number>();
  let table: Array<string | number> = [];
  let depth = 0; // open brackets of a multi-line array or inline table: its lines hold no keys
  text.split(/\r?\n/).forEach((line, i) => {
    const n = i + 1;
    if (depth === 0) {
      const h = HEADER.exec(line);
      if (h) {
        const name = h[2]!.split('.').map(unquote);
        if (h[1] === '[[') {
          const key = name.join('.');
          const index = counters.get(key) ?? 0;
          counters.set(key, index + 1);
          table = [...name, index];
        } else {
          table = name;
        }
        if (!lines.has(JSON.stringify(table))) lines.set(JSON.stringify(table), n);
        return;
      }
      const k = KEY.exec(line);
      if (k) {
        const path = [...table, ...k[1]!.split('.').map(unquote)];
        if (!lines.has(JSON.stringify(path))) lines.set(JSON.stringify(path), n);
      }
    }
    const code = line.replace(/"(?:[^"\\]|\\.)*"|'[^']*'|#.*$/g, '');
    for (const c of code) {
      if (c === '[' || c === '{') depth++;
      else if ((c === ']' || c === '}') && depth > 0) depth--;
    }
    if (HEADER.test(line)) depth = 0;
  });
  return lines;
}

/** The line of `path`, or of its nearest parent that is written; undefined when none is. */
export function lineOf(lines: Map<string, number>, path: KeyPath): number | undefined {
  for (let end = path.length; end > 0; end--) {
    const n = lines.get(JSON.stringify(path.slice(0, end)));
    if (n !== undefined) return n;
  }
  return undefined;
}

/** "drive[1].category" for ['drive', 1, 'category']. */
export function keyName(path: KeyPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || '(top level)';
}
