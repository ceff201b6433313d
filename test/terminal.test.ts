import { execFileSync, spawn } from 'node:child_process';
import { readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN } from './helpers/cli.js';
import { randomBytes, tempDir, tempTree } from './helpers/tree.js';

/** Runs the CLI under a real pseudo-terminal (util-linux `script`), as a user at a terminal would. */
function onTerminal(args: string[]): string {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return execFileSync('script', ['-qefc', command, '/dev/null'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '100' } });
}

describe('ferry copy on a terminal', () => {
  it('draws the live panel (current file, rates, ETA, totals, queue) and redraws it in place', () => {
    const src = tempTree({ 'big.bin': randomBytes(3 * 1024 * 1024, 5), 'small.txt': 's' });
    const work = tempDir();
    const out = onTerminal(['copy', src, join(work, 'dst'), '--db', join(work, 'db'), '--bwlimit', '1M', '--block-size', '64K']);
    expect(out).toMatch(/ferry transferring/);
    expect(out).toMatch(/big\.bin +\d.* \d+% {2}ETA /);
    expect(out).toMatch(/rate +[\d.]+ [KM]iB\/s now · [\d.]+ [KM]iB\/s avg +queue \d+\/20/);
    expect(out).toMatch(/done +\d+ file\(s\) · .* this run · .* overall/);
    expect(out).toMatch(/left +\d+ file\(s\) · .* · ETA /);
    expect(out).toContain('\x1b[2K'); // redrawn in place, not appended
    expect(out).toMatch(/done: copied 2 file\(s\)/);
  });

  it('prints plain lines without escape codes when piped, and none at all with --json but events', () => {
    const src = tempTree({ 'a.txt': 'a' });
    const work = tempDir();
    const plain = execFileSync(process.execPath, [BIN, 'copy', src, join(work, 'dst'), '--db', join(work, 'db')], { encoding: 'utf8' });
    expect(plain).not.toContain('\x1b[');
    expect(plain).toMatch(/^plan: 1 to copy/m);
  });
});

describe('ferry copy on a terminal, stopped and with odd names', () => {
  it('Ctrl-C clears the live panel, keeps "stopping:" readable, and draws no panel after it', async () => {
    const src = tempTree({ 'big.bin': randomBytes(4 * 1024 * 1024, 6) });
    const work = tempDir();
    const db = join(work, 'stop-me.db');
    const command = [process.execPath, BIN, 'copy', src, join(work, 'dst'), '--db', db, '--bwlimit', '512K', '--block-size', '64K']
      .map((a) => `'${a}'`).join(' ');
    const term = spawn('script', ['-qefc', command, '/dev/null'], { env: { ...process.env, COLUMNS: '100' } });
    let out = '';
    term.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (/ferry transferring/.test(out)) resolve();
      };
      term.stdout.on('data', check);
    });
    // The signal a terminal's Ctrl-C sends, to ferry itself: not to `script`, nor to the `sh -c` that
    // `script` runs the command through when $SHELL is dash (which, unlike bash, does not exec it).
    const node = realpathSync(process.execPath);
    const pid = execFileSync('pgrep', ['-f', db], { encoding: 'utf8' }).trim().split('\n').map(Number)
      .find((p) => { try { return readlinkSync(`/proc/${p}/exe`) === node; } catch { return false; } });
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGINT');
    await new Promise((resolve) => term.once('close', resolve));
    const after = out.slice(out.lastIndexOf('stopping: finishing the database writes'));
    expect(after).toMatch(/^stopping: finishing the database writes/);
    expect(after).not.toMatch(/ferry transferring/);
    expect(after).not.toMatch(new RegExp(`${String.fromCharCode(27)}\\[\\d+A`)); // nothing moves up over it
    expect(after).toMatch(/interrupted: .*\n.*to resume: /s);
  });

  it('a name with a newline is shown quoted in the panel, so each redraw clears all of it', () => {
    const src = tempTree({ 'two\nlines.bin': randomBytes(2 * 1024 * 1024, 7) });
    const work = tempDir();
    const out = onTerminal(['copy', src, join(work, 'dst'), '--db', join(work, 'db'), '--bwlimit', '1M', '--block-size', '64K']);
    expect(out).toContain("$'two\\nlines.bin'");
    expect(out).not.toMatch(/two\r?\nlines/);
  });
});
