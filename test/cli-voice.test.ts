import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { routeWorld } from './helpers/route.js';
import { tempDir, tempTree } from './helpers/tree.js';

/** One voice: every message a sentence (a capital, a full stop), every hint a command that exists. */
describe('ferry speaks with one voice', () => {
  it('hints for nested subcommands name the whole command', async () => {
    const r = await runCli(['roots', 'add']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ferry: Missing required argument 'id'\.\nhint: run `ferry roots add --help` for usage\n/);
    const i = await runCli(['index', 'files']);
    expect(i.stderr).toMatch(/hint: run `ferry index files --help` for usage/);
  });

  it('a command that does not exist is refused, even with --help, and the command that has it is named', async () => {
    const r = await runCli(['register-drive', '--help']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('ferry: There is no command "register-drive". Did you mean `ferry route register-drive`?\nhint: run `ferry --help` for the commands\n');
    const other = await runCli(['frobnicate']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/^ferry: There is no command "frobnicate"\.\n/);
  });

  it('commander\'s own messages read as ferry\'s: a capital and a full stop', async () => {
    const r = await runCli(['copy', tempDir(), tempDir(), '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(/^ferry: Unknown option '--bogus'\.( \(Did you mean .*\))?$/);
  });

  it('route commands describe themselves as the others do', async () => {
    const r = await runCli(['route', '--help']);
    for (const line of r.stdout.split('\n').filter((l) => /^ {2}[a-z-]+( \[options\])?( <file>)? {2,}/.test(l))) {
      const description = line.replace(/^ {2}\S+( \[options\])?( <file>)? +/, '');
      if (description.startsWith('display help')) continue; // commander's own help entry
      expect(description, line).toMatch(/^[A-Z]/); // (a long one wraps: its full stop is on a later line)
    }
  });

  it('validate names a wrong type as such, with the right article, in line order', async () => {
    const w = routeWorld();
    writeFileSync(w.config, 'source = 42\n\n[options]\nignore = "*.tmp"\n\n[[drive]]\nid = "x"\n');
    const r = await runCli(['route', 'validate', '--config', w.config]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toBe(`${w.config}:1: source: takes a string, not a number`);
    expect(lines[1]).toBe(`${w.config}:4: options.ignore: takes an array, not a string`);
    const numbers = lines.map((l) => Number(/:(\d+):/.exec(l)?.[1] ?? Infinity));
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(r.stderr).toMatch(/drive\[1\]\.label: is required/);
  });

  it('no message says "the Store"', async () => {
    const src = tempTree({ 'a.txt': 'a' });
    const work = tempDir();
    const r = await runCli(['copy', src, join(work, 'dst'), '--db', join(work, 'db')]);
    expect(r.stdout + r.stderr).not.toMatch(/\bStore\b/);
  });
});
