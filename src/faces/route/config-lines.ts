/**
 * Where each key of a TOML text is written, so a validation error can name its line. A light reading
 * of the text (table headers, array-of-tables counters, `key =` lines), enough for the shapes a
 * route configuration has; a path it cannot find falls back to its nearest written parent.
 */
export type KeyPath = ReadonlyArray<string | number>;

const HEADER = /^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$/;
const KEY = /^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+(?:\s*\.\s*[A-Za-z0-9_-]+)*)\s*=/;

const unquote = (k: string): string => k.trim().replace(/^["'](.*)["']$/, '$1');

/**
 * Scans one line's code for brackets outside strings and comments. `open` is the multi-line string
 * delimiter (three double or three single quotes) the line starts inside, if any; returns the
 * bracket balance and the delimiter still open at the line's end.
 */
function scan(line: string, open: string | null): { balance: number; open: string | null } {
  let balance = 0;
  let i = 0;
  while (i < line.length) {
    if (open) {
      const end = line.indexOf(open, i);
      if (end < 0) return { balance, open };
      i = end + 3;
      open = null;
      continue;
    }
    const c = line[i]!;
    if (c === '#') break;
    if (line.startsWith('"""', i) || line.startsWith("'''", i)) {
      open = line.slice(i, i + 3);
      i += 3;
    } else if (c === '"' || c === "'") {
      i++;
      while (i < line.length && line[i] !== c) i += c === '"' && line[i] === '\\' ? 2 : 1;
      i++;
    } else {
      if (c === '[' || c === '{') balance++;
      else if (c === ']' || c === '}') balance--;
      i++;
    }
  }
  return { balance, open };
}

export function keyLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  const counters = new Map<string, number>();
  let table: Array<string | number> = [];
  let depth = 0; // open brackets of a multi-line array or inline table: its lines hold no keys
  let open: string | null = null; // inside a multi-line string: its lines hold no keys either
  text.split(/\r?\n/).forEach((line, i) => {
    const n = i + 1;
    if (depth === 0 && open === null) {
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
    const r = scan(line, open);
    open = r.open;
    depth = Math.max(0, depth + r.balance);
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
  // Tables of an array are counted from 1, as the messages that name them ("drive 2") count them.
  return path.map((p, i) => (typeof p === 'number' ? `[${p + 1}]` : i === 0 ? p : `.${p}`)).join('') || '(top level)';
}
