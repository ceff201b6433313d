import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { events, finished, runCli, startCli, waitForEvent } from './helpers/cli.js';
import { routeWorld } from './helpers/route.js';
import * as sample from './helpers/samples.js';
import { tempDir } from './helpers/tree.js';

const COMMANDS = ['init', 'register-drive', 'list-drives', 'list-connected', 'sync-once', 'run', 'status', 'process-pending', 'clear', 'validate', 'explain'];

/** No stack trace, no internal error: one sentence (and perhaps a hint). */
function clean(stderr: string): void {
  expect(stderr).not.toMatch(/\n\s+at |internal error/);
}

describe('ferry route: configuration', () => {
  it('init writes a commented example that validates, and will not overwrite it', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'in'));
    const config = join(dir, 'conf', 'route.toml');
    const r = await runCli(['route', 'init', '--config', config, '--source', join(dir, 'in')]);
    expect(r.code).toBe(0);
    expect(readFileSync(config, 'utf8')).toContain('# ferry route');
    const v = await runCli(['route', 'validate', '--config', config, '--json']);
    expect(JSON.parse(v.stdout)).toMatchObject({ valid: true, problems: [] });
    const again = await runCli(['route', 'init', '--config', config]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists; nothing was written');
    expect((await runCli(['route', 'init', '--config', config, '--force', '--source', join(dir, 'in')])).code).toBe(0);
  });

  it('validate names each problem of the shape with its file, line and key', async () => {
    const w = routeWorld([], '\n[[rule]]\ncategory = "raw photos"\nextensions = ["cr2"]\nsize = 3\n');
    writeFileSync(w.config, readFileSync(w.config, 'utf8').replace('debounce = "100ms"', 'debounce = "100ms"\nmount_pol = "2s"'));
    const lines = readFileSync(w.config, 'utf8').split('\n');
    const at = (text: string): number => lines.findIndex((l) => l.startsWith(text)) + 1;
    const r = await w.route('validate');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${w.config}:${at('mount_pol =')}: options.mount_pol: is not a known key`);
    expect(r.stderr).toContain(`${w.config}:${at('category = "raw photos"')}: rule[1].category: takes lower-case letters`);
    expect(r.stderr).toContain(`${w.config}:${at('size = 3')}: rule[1].size: is not a known key`);
    clean(r.stderr);
  });

  it('validate names each problem of meaning: bad durations and sizes, empty rules, unknown categories, repeated drives', async () => {
    const w = routeWorld(['rescan_every = "soon"', 'bwlimit = "fast"'], [
      '[[rule]]', 'category = "empty"', '',
      '[[rule]]', 'category = "big"', 'min_size = "2G"', 'max_size = "1G"', '',
      '[[drive]]', 'id = "d1"', 'label = "One"', 'category = "imagez"', '',
      '[[drive]]', 'id = "d1"', 'label = "one"', 'category = "big"', 'folder = "../up"', '',
    ].join('\n'));
    const lines = readFileSync(w.config, 'utf8').split('\n');
    const at = (text: string, nth = 0): number => lines.map((l, i) => (l.startsWith(text) ? i + 1 : 0)).filter(Boolean)[nth]!;
    const r = await w.route('validate', '--json');
    expect(r.code).toBe(2);
    const problems = (JSON.parse(r.stdout) as { problems: Array<{ line: number; key: string; message: string }> }).problems;
    const where = problems.map((p) => `${p.line} ${p.key}`);
    expect(where).toEqual(expect.arrayContaining([
      `${at('rescan_every')} options.rescan_every`,
      `${at('bwlimit')} options.bwlimit`,
      `${at('[[rule]]')} rule[1]`,
      `${at('min_size')} rule[2].min_size`,
      `${at('category = "imagez"')} drive[1].category`,
      `${at('id = "d1"', 1)} drive[2].id`,
      `${at('label = "one"')} drive[2].label`,
      `${at('folder')} drive[2].folder`,
    ]));
    expect(problems.find((p) => p.key === 'drive[1].category')!.message).toContain('"imagez" is neither built in');
  });

  it('a syntax error names its line; a missing file says how to make one', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'broken.toml'), 'source = "/x"\n\n[[drive]\nlabel = "a"\n');
    const r = await runCli(['route', 'validate', '--config', join(dir, 'broken.toml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/broken\.toml:3: \(syntax\): not valid TOML/);
    const missing = await runCli(['route', 'sync-once', '--config', join(dir, 'none.toml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('there is no configuration file here (create one with `ferry route init`)');
    clean(missing.stderr);
  });

  it('every command refuses a bad configuration with the first problem and exit 2', async () => {
    const w = routeWorld(['rescan_every = "later"']);
    for (const cmd of ['list-drives', 'list-connected', 'sync-once', 'run', 'status', 'process-pending', 'clear']) {
      const result = await w.route(...(cmd === 'clear' ? [cmd, '--yes'] : [cmd]));
      expect(result.code, cmd).toBe(2);
      expect(result.stderr, cmd).toMatch(/route\.toml:\d+: options\.rescan_every: takes a duration/);
      clean(result.stderr);
    }
  });
});

describe('ferry route: bad input', () => {
  it('every command has --help', async () => {
    for (const cmd of COMMANDS) {
      const r = await runCli(['route', cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toContain('--config');
    }
    const unknown = await runCli(['route', 'teleport']);
    expect(unknown.code).toBe(2);
    clean(unknown.stderr);
  });

  it('register-drive: unknown category, a label taken, a missing path, a path already registered, no volume with the label', async () => {
    const w = routeWorld();
    const taken = await w.dirDrive('Photos', 'images');
    const cases: Array<[string[], string]> = [
      [['--label', 'X', '--category', 'pictures', '--path', w.dir], '"pictures" is not a category'],
      [['--label', 'photos', '--category', 'images', '--path', w.dir], 'A drive labelled "Photos" is already registered'],
      [['--label', 'Y', '--category', 'images', '--path', join(w.dir, 'nowhere')], 'does not exist'],
      [['--label', 'Z', '--category', 'audio', '--path', taken], 'is already registered as the drive "Photos"'],
      [['--label', 'NO-SUCH-VOLUME-LABEL', '--category', 'audio'], 'No mounted volume has the label "NO-SUCH-VOLUME-LABEL"'],
      [['--category', 'audio'], "Required option '--label <label>' not specified"],
    ];
    const before = readFileSync(w.config, 'utf8');
    for (const [args, message] of cases) {
      const r = await w.route('register-drive', ...args);
      expect(r.code, message).toBe(2);
      expect(r.stderr).toContain(message);
      clean(r.stderr);
    }
    expect(readFileSync(w.config, 'utf8')).toBe(before);
  });

  it('process-pending, clear, explain: unknown drives, a drive that is away, no confirmation, missing files', async () => {
    const w = routeWorld();
    const drive = await w.dirDrive('Docs', 'documents');
    sample.put(w.source, 'a.pdf', sample.pdf('a'));
    expect((await w.route('sync-once')).code).toBe(0);

    expect((await w.route('process-pending', '--drive', 'Nope')).code).toBe(2);
    const away = join(w.dir, 'away');
    const { renameSync } = await import('node:fs');
    renameSync(drive, away);
    const notHere = await w.route('process-pending', '--drive', 'docs');
    expect(notHere.code).toBe(3);
    expect(notHere.stderr).toContain('The drive "docs" is not here; its files stay queued.');
    renameSync(away, drive);

    const noConfirm = await w.route('clear');
    expect(noConfirm.code).toBe(2);
    expect(noConfirm.stderr).toContain('confirm with --yes');
    expect((await w.route('clear', '--drive', 'Nope', '--yes')).code).toBe(2);
    expect(JSON.parse((await w.route('status', '--json')).stdout)[0]).toMatchObject({ delivered: 1 });

    for (const [file, message] of [[join(w.dir, 'missing.pdf'), 'does not exist'], [w.dir, 'is not a regular file']] as const) {
      const r = await w.route('explain', file);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
      clean(r.stderr);
    }
  });

  it('sync-once and run with a source that is not there: one sentence, exit 3', async () => {
    const w = routeWorld();
    const { rmSync } = await import('node:fs');
    rmSync(w.source, { recursive: true });
    for (const cmd of ['sync-once', 'run']) {
      const r = await w.route(cmd);
      expect(r.code, cmd).toBe(3);
      expect(r.stderr, cmd).toContain('is missing or not a directory; nothing was changed');
      clean(r.stderr);
    }
  });

  it('refuses a database that is not ferry\'s, and a second writer while run holds the database; status still reads', async () => {
    const w = routeWorld();
    await w.dirDrive('Docs', 'documents');
    const child = startCli(['route', 'run', '--json', '--config', w.config]);
    try {
      await waitForEvent(child, 'drive.online');
      const second = await w.route('sync-once');
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/Another ferry process \(pid \d+\) is using the database/);
      const status = await w.route('status', '--json');
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout)).toEqual([expect.objectContaining({ label: 'Docs' })]);
    } finally {
      child.kill('SIGINT');
    }
    expect((await finished(child)).code).toBe(0);
    writeFileSync(join(w.dir, 'route.db'), 'not a database at all, just text that is long enough to be read');
    const foreign = await w.route('sync-once');
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toContain('is not a ferry database');
    clean(foreign.stderr);
  });
});

describe('ferry route: explain, clear', () => {
  it('explain shows the magic bytes, each rule\'s verdict, the category and each drive\'s state', async () => {
    const w = routeWorld([], '\n[[rule]]\ncategory = "raw"\nextensions = ["cr2"]\n\n[[rule]]\ncategory = "big-images"\nmime = ["image/*"]\nmin_size = "1M"\n');
    await w.dirDrive('Pics', 'images');
    const path = sample.put(w.source, 'shot.png', sample.png(12));
    const r = await w.route('explain', path);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('content   image/png: magic bytes (png)');
    expect(r.stdout).toContain('rule 1    → raw: no (extension .png is not one of .cr2)');
    expect(r.stdout).toMatch(/rule 2 {4}→ big-images: no \(type image\/png matches image\/\*; size \d+ < min_size 1048576\)/);
    expect(r.stdout).toContain('category  images (built-in table, no rule matched)');
    expect(r.stdout).toContain('drive     Pics (here): not delivered yet');
    expect((await w.route('sync-once')).code).toBe(0);
    const after = JSON.parse((await w.route('explain', path, '--json')).stdout) as { drives: Array<{ state: string }> };
    expect(after.drives[0]!.state).toBe('delivered as shot.png');
  });

  it('clear --yes forgets the history; the next sync finds the same content on the drive and copies nothing', async () => {
    const w = routeWorld();
    await w.dirDrive('Docs', 'documents');
    sample.put(w.source, 'a.pdf', sample.pdf('a'));
    expect((await w.route('sync-once')).code).toBe(0);
    const cleared = await w.route('clear', '--yes', '--json');
    expect(JSON.parse(cleared.stdout)).toEqual({ deliveries: 1, pending: 0 });
    const again = await w.route('sync-once', '--json');
    const e = events(again.stdout);
    expect(e.filter((x) => x.type === 'file.done')).toEqual([]);
    expect(e.find((x) => x.type === 'route.present')).toMatchObject({ path: 'a.pdf', drive: 'Docs' });
  });
});
