import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, type CliResult } from './helpers/cli.js';
import { listAll, tempDir, tempTree } from './helpers/tree.js';

/** Everything under `root`: each name → "dir", "link" or the sha256 of the file's bytes. */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const rel of listAll(root)) {
    const p = join(root, rel);
    const st = lstatSync(p);
    if (st.isDirectory()) out.set(rel, 'dir');
    else if (st.isSymbolicLink()) out.set(rel, 'link');
    else out.set(rel, createHash('sha256').update(readFileSync(p)).digest('hex'));
  }
  return out;
}

interface Setup {
  work: string;
  src: string;
  dst: string;
  db: string;
  /** Where the default database would go: must stay absent. */
  state: string;
}

/** A work directory holding a small source tree; dst and db are paths that do not exist yet. */
function setup(): Setup {
  const work = tempDir();
  const src = tempTree({ 'a.txt': 'a', 'sub/b.txt': 'b' }, join(work, 'src'));
  return { work, src, dst: join(work, 'dst'), db: join(work, 'job.db'), state: join(work, 'state') };
}

/** Exactly one line "ferry: <message>" (plus optional hint lines), never a stack trace. */
function expectOneSentence(r: CliResult, mentions: RegExp): void {
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect.soft(lines.filter((l) => /^\s+at /.test(l)), `stack trace in:\n${r.stderr}`).toEqual([]);
  expect.soft(r.stderr).not.toMatch(/internal error/i);
  expect.soft(lines.length, `stderr:\n${r.stderr}`).toBeGreaterThanOrEqual(1);
  expect.soft(lines[0]).toMatch(/^ferry: \S/);
  expect.soft(lines[0]).toMatch(mentions);
  // Anything after the sentence is a hint, not a second error or a dump of the usage.
  for (const l of lines.slice(1)) expect.soft(l).toMatch(/^(hint: |\(run with --help for usage\)$)/);
  expect.soft(r.stdout).toBe('');
}

/**
 * Runs `args` (XDG_STATE_HOME pointed inside the work dir) and checks the exit code, the one sentence
 * on stderr, and that nothing under the work dir changed: no destination, no database, no log.
 * The checks after the exit code are soft: a failing test lists every way it went wrong.
 */
async function expectRejected(s: Setup, args: string[], code: 2 | 3, mentions: RegExp): Promise<CliResult> {
  const before = snapshot(s.work);
  const r = await runCli(args, { XDG_STATE_HOME: s.state });
  expect(r.code, `exit code; stderr:\n${r.stderr}`).toBe(code);
  expectOneSentence(r, mentions);
  expect.soft(snapshot(s.work), 'the work directory after the run').toEqual(before);
  return r;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('bad input: one sentence, the documented exit code, nothing written', () => {
  describe('roots', () => {
    it('a missing source exits 3', async () => {
      const s = setup();
      const missing = join(s.work, 'nope');
      await expectRejected(s, ['copy', missing, s.dst, '--db', s.db], 3, new RegExp(escape(missing)));
    });

    it('a source that is a file exits 3', async () => {
      const s = setup();
      const file = join(s.src, 'a.txt');
      await expectRejected(s, ['copy', file, s.dst, '--db', s.db], 3, /not a directory/);
    });

    it('a destination inside the source exits 2', async () => {
      const s = setup();
      await expectRejected(s, ['copy', s.src, join(s.src, 'inner'), '--db', s.db], 2, /inside the source/);
    });

    it('a source inside the destination exits 2', async () => {
      const s = setup();
      const outer = join(s.work, 'outer');
      const src = tempTree({ 'c.txt': 'c' }, join(outer, 'src'));
      await expectRejected(s, ['copy', src, outer, '--db', s.db], 2, /inside the destination/);
    });

    it('the same path for source and destination exits 2', async () => {
      const s = setup();
      await expectRejected(s, ['copy', s.src, s.src, '--db', s.db], 2, /inside/);
    });
  });

  describe('option values', () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['an unknown checksum', ['--checksum', 'crc32'], /--checksum.*crc32/],
      ['a bandwidth limit that is not a size', ['--bwlimit', 'fast'], /--bwlimit.*fast/],
      ['a zero block size', ['--block-size', '0'], /--block-size/],
      ['a zero queue capacity', ['--queue-capacity', '0'], /--queue-capacity/],
      ['a transfer count that is not a number', ['--transfers', 'abc'], /--transfers.*abc/],
      ['a modify window that is not a duration', ['--modify-window', 'soon'], /--modify-window.*soon/],
    ];
    for (const [name, flags, mentions] of cases) {
      it(`${name} (${flags.join(' ')}) exits 2`, async () => {
        const s = setup();
        await expectRejected(s, ['copy', s.src, s.dst, '--db', s.db, ...flags], 2, mentions);
      });
    }

    it('--trash without --delete-extras is taken: only what gives way to an entry of another kind goes there', async () => {
      const s = setup();
      const r = await runCli(['copy', s.src, s.dst, '--db', s.db, '--trash', join(s.work, 'trash')]);
      expect(r.code).toBe(0);
      expect(readdirSync(join(s.work, 'trash')).flatMap((run) => readdirSync(join(s.work, 'trash', run)))).toEqual([]);
    });

    it('--max-delete without --delete-extras exits 2', async () => {
      const s = setup();
      await expectRejected(s, ['copy', s.src, s.dst, '--db', s.db, '--max-delete', '5'], 2, /--max-delete.*--delete-extras/);
    });
  });

  describe('the command line itself', () => {
    it('an unknown option exits 2', async () => {
      const s = setup();
      await expectRejected(s, ['copy', s.src, s.dst, '--db', s.db, '--frobnicate'], 2, /--frobnicate/);
    });

    it('a missing argument (ferry copy onlyone) exits 2', async () => {
      const s = setup();
      await expectRejected(s, ['copy', s.src], 2, /destination/);
    });
  });

  describe('the database', () => {
    it('an unwritable --db (/proc/ferry.db) exits 2', async () => {
      const s = setup();
      await expectRejected(s, ['copy', s.src, s.dst, '--db', '/proc/ferry.db'], 2, /\/proc\/ferry\.db/);
    });

    it('a --db under a regular file exits 2', async () => {
      const s = setup();
      const file = join(s.work, 'plain.txt');
      writeFileSync(file, 'not a directory');
      await expectRejected(s, ['copy', s.src, s.dst, '--db', join(file, 'x.db')], 2, /plain\.txt\/x\.db/);
    });

    it('a foreign SQLite database exits 2, says it is not a ferry database, and is left as it was', async () => {
      const s = setup();
      const foreign = join(s.work, 'foreign.db');
      const d = new Database(foreign);
      d.exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me');`);
      d.close();
      await expectRejected(s, ['copy', s.src, s.dst, '--db', foreign], 2, /not a ferry database/);
      // Bytes 18 and 19 of the header are 1 in rollback-journal mode and 2 in WAL mode.
      const header = readFileSync(foreign).subarray(18, 20);
      expect(Array.from(header), 'journal mode bytes of the foreign database').toEqual([1, 1]);
      const check = new Database(foreign, { readonly: true });
      expect(check.prepare('SELECT body FROM notes').all()).toEqual([{ body: 'keep me' }]);
      check.close();
    });

    it('a text file as --db exits 2 and is left as it was', async () => {
      const s = setup();
      const text = join(s.work, 'notes.txt');
      writeFileSync(text, 'just some text, not a database\n'.repeat(20));
      await expectRejected(s, ['copy', s.src, s.dst, '--db', text], 2, /not a ferry database/);
    });

    it('a --db of another SOURCE → DESTINATION pair exits 2 and names that pair', async () => {
      const s = setup();
      const first = await runCli(['copy', s.src, s.dst, '--db', s.db], { XDG_STATE_HOME: s.state });
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      const src2 = tempTree({ 'other.txt': 'other' }, join(s.work, 'src2'));
      const dst2 = join(s.work, 'dst2');
      const r = await expectRejected(
        s,
        ['copy', src2, dst2, '--db', s.db, '--log', join(s.work, 'second.log')],
        2,
        new RegExp(`${escape(s.src)}.*${escape(s.dst)}`),
      );
      expect(r.stderr).toContain(src2);
    });
  });
});

describe('help and version', () => {
  const OPTIONS = ['--bwlimit', '--checksum', '--delete-extras', '--rescan', '--block-size', '--queue-capacity', '--db', '--log'];

  it('ferry --help exits 0 and lists the copy command', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^\s+copy \[options\] \[source\] \[destination\]/m); // both optional only with --status
  });

  for (const args of [['copy', '--help'], ['help', 'copy']]) {
    it(`ferry ${args.join(' ')} exits 0 and lists every copy option`, async () => {
      const r = await runCli(args);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      for (const option of OPTIONS) expect(r.stdout).toMatch(new RegExp(`^\\s+${option}\\b`, 'm'));
    });
  }

  it('ferry --version exits 0 and prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(pkg.version);
  });
});
