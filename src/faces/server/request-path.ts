import { badTreePath } from '../../core/tree.js';
import { ApiError } from './api-error.js';

const MAX_NAME_BYTES = 255;
const MAX_PATH_BYTES = 4096;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * The path a request names, checked before anything touches the filesystem: POSIX, relative, no
 * '.' or '..' component (the URL was decoded once by the router, so `%2e%2e` arrives as '..'), no
 * empty component, backslash, control character or NUL, no name over 255 bytes, no name that
 * decodes (once or more) to '.', '..' or a separator (`%2e%2e`, `%252e%252e`, `..%2f`: a `%` that
 * decodes to nothing of the kind, as in `100%` or `a%2eb`, is just a name), not one of the
 * names ferry keeps for itself (`reserved`). Anything else is a 400 BAD_PATH.
 */
export function requestPath(raw: unknown, reserved: RegExp, what = 'path'): string {
  if (typeof raw !== 'string' || raw === '') throw bad(`the ${what} is missing`);
  const reason = whyBad(raw, reserved);
  if (reason) throw bad(`the ${what} ${JSON.stringify(raw.slice(0, 200))} is refused: ${reason}`);
  return raw;
}

function whyBad(rel: string, reserved: RegExp): string | undefined {
  if (CONTROL.test(rel)) return 'it holds a control character';
  if (rel.includes('\\')) return 'it holds a backslash';
  const tree = badTreePath(rel);
  if (tree) return tree;
  if (Buffer.byteLength(rel) > MAX_PATH_BYTES) return `it is longer than ${MAX_PATH_BYTES} bytes`;
  for (const name of rel.split('/')) {
    if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `a name in it is longer than ${MAX_NAME_BYTES} bytes`;
    if (reserved.test(name)) return 'ferry keeps that name for its own temp files';
    if (encodedEscape(name)) return 'it is a percent-encoded "." or ".." or holds an encoded separator';
  }
  return undefined;
}

const bad = (message: string): ApiError => new ApiError(400, 'BAD_PATH', `${message.charAt(0).toUpperCase()}${message.slice(1)}.`);

/** Whether a name, percent-decoded up to three times, is '.' or '..' or holds a '/', '\\' or NUL. */
function encodedEscape(name: string): boolean {
  let n = name;
  for (let i = 0; i < 3 && n.includes('%'); i++) {
    try {
      n = decodeURIComponent(n);
    } catch {
      return false; // not percent-encoding: a literal '%'
    }
    if (n === '.' || n === '..' || /[/\\\0]/.test(n)) return true;
  }
  return false;
}
