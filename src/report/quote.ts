/**
 * Names as a terminal or a log shows them. A file name may hold a newline (which would split the
 * line, and leave a stale line behind a redrawn panel) or an escape sequence (which the terminal
 * would obey): such a name is shown quoted the way a shell reads it back, $'a\nb', as `ls` does.
 * Names without control characters are shown as they are. JSON output needs none of this.
 */
// C0 controls, DEL and C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_ALL = /[\u0000-\u001f\u007f-\u009f]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\t': '\\t', '\r': '\\r', '\x1b': '\\e', '\b': '\\b', '\f': '\\f', '\v': '\\v', '\x07': '\\a' };

function escape(c: string): string {
  return NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/** A name (or path) ready to print: as it is, or $'…' quoted when it holds control characters. */
export function shown(name: string): string {
  if (!CONTROL.test(name)) return name;
  return `$'${name.replace(/[\\']/g, (c) => `\\${c}`).replace(CONTROL_ALL, escape)}'`;
}

/** A sentence ready to print: any control character in it (from a name inside it) written as an escape. */
export function clean(text: string): string {
  return CONTROL.test(text) ? text.replace(CONTROL_ALL, escape) : text;
}
