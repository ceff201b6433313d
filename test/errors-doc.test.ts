import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, EXIT } from '../dist/index.js';

const doc = (p: string): string => readFileSync(new URL(`../${p}`, import.meta.url), 'utf8');

describe('the error catalogue and its documentation', () => {
  it('docs/errors.md lists every code with its exit code, and nothing else', () => {
    const rows = [...doc('docs/errors.md').matchAll(/^\| `([A-Z_]+)` \| (\d+) \|/gm)].map((m) => [m[1], Number(m[2])]);
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(Object.entries(ERROR_CODES).map(([k, v]) => [k, v.exit])));
  });

  it('the README documents every exit code', () => {
    const documented = [...doc('README.md').matchAll(/^\| (\d+) \| /gm)].map((m) => Number(m[1])).sort((a, b) => a - b);
    expect(documented).toEqual(Object.values(EXIT).sort((a, b) => a - b));
  });
});
