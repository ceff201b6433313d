import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from './helpers/cli.js';
import { initDevice, vaultWorld, type VaultDevice } from './helpers/vault.js';

// Bad input to every `ferry vault` command: one sentence (and at most a hint), the documented exit
// code (docs/errors.md), never a stack trace, and nothing changed on disk or in the cloud.
const w = vaultWorld();
const fresh = w.device('fresh'); // never ran init: "no vault yet", and explain with the defaults
let a: VaultDevice; // has the vault at w.remote
const T = { timeout: 120_000 };

beforeAll(async () => {
  a = await initDevice(w, 'a');
}, 120_000);
// git-annex leaves its objects read-only: make them writable so the temp dir can be removed.
afterAll(() => void spawnSync('chmod', ['-R', 'u+w', w.root]));

/** One sentence on stderr (`ferry: …`, a full stop), then only hints; no stack; the exit code. */
function refused(r: CliResult, code: number, message: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
  const [first = '', ...rest] = r.stderr.trimEnd().split('\n');
  expect(first).toMatch(/^ferry: .*[.!?]$/);
  expect(first).toMatch(message);
  for (const l of rest) expect(l, r.stderr).toMatch(/^hint: /);
  expect(r.stdout).toBe('');
}

/** Every file below the dirs (.git directories aside) with its content's hash, and the managed repository's HEAD and status. */
function snapshot(): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.git') continue;
      const p = join(d, e.name);
      if (e.isSymbolicLink()) out.push(`${p} -> ${readlinkSync(p)}`);
      else if (e.isDirectory()) {
        out.push(`${p}/`);
        walk(p);
      } else out.push(`${p} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
    }
  };
  for (const d of [w.cloudDir, fresh.home, a.home]) walk(d);
  out.push(a.sh('git', ['rev-parse', 'HEAD'], a.managed), a.sh('git', ['status', '--porcelain'], a.managed));
  return out.sort();
}

/** Runs `ferry vault ARGS` as the device (with more environment) and checks that nothing changed. */
async function unchanged(d: VaultDevice, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const before = snapshot();
  const r = await runCli(['vault', ...args], { ...d.env, ...env }, d.home);
  expect(snapshot(), `ferry vault ${args.join(' ')}\n${r.stderr}`).toEqual(before);
  return r;
}

/** A PATH of one directory with links to these tools only. */
function toolPath(name: string, tools: string[]): string {
  const bin = join(w.root, name);
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  for (const t of tools) {
    const dir = (process.env.PATH ?? '').split(delimiter).find((p) => p && existsSync(join(p, t)));
    if (!dir) throw new Error(`${t} is not on PATH`);
    symlinkSync(join(dir, t), join(bin, t));
  }
  return bin;
}

describe('ferry vault: bad input gets one sentence and changes nothing', () => {
  it('without a vault, every command says so and names init', T, async () => {
    for (const args of [['status'], ['sync'], ['add', 'x'], ['log'], ['devices']]) {
      const r = await unchanged(fresh, args);
      refused(r, 2, /^ferry: No vault is set up/);
      expect(r.stderr).toMatch(/^hint: .*init/m);
    }
    refused(await unchanged(fresh, ['status', '--managed', '/nonexistent']), 2, /\/nonexistent/);
    refused(await unchanged(fresh, ['explain', 'x', '--managed', '/nonexistent']), 2, /\/nonexistent/);
    expect(existsSync(fresh.managed)).toBe(false);
  });

  it('init refuses a bad --remote, --device or --managed before it creates anything', T, async () => {
    refused(await unchanged(fresh, ['init']), 2, /--remote/);
    refused(await unchanged(fresh, ['init', '--remote', 'nocolon']), 2, /REMOTE:PATH.*"nocolon"/);
    refused(await unchanged(fresh, ['init', '--remote', 'cloud:']), 2, /REMOTE:PATH.*"cloud:"/);
    refused(await unchanged(fresh, ['init', '--remote', 'nosuchremote:x']), 2, /"nosuchremote"/);
    refused(await unchanged(fresh, ['init', '--remote', w.remote, '--device', 'bad name']), 2, /--device.*"bad name"/);
    const busy = fresh.write('busy/keep.txt', 'mine\n');
    const r = await unchanged(fresh, ['init', '--remote', w.remote, '--managed', join(fresh.home, 'busy')]);
    refused(r, 2, /busy exists and is not empty/);
    expect(readdirSync(join(fresh.home, 'busy'))).toEqual(['keep.txt']);
    expect(readFileSync(busy, 'utf8')).toBe('mine\n');
    expect(existsSync(fresh.managed)).toBe(false);
  });

  it('init again: the same remote is ready, another one is refused', T, async () => {
    expect((await a.ok(['init', '--remote', w.remote])).stdout).toMatch(/ready/);
    refused(await unchanged(a, ['init', '--remote', `cloud:${w.cloudDir}/other`]), 2, /already the vault of/);
    expect(existsSync(join(w.cloudDir, 'other'))).toBe(false);
  });

  const m2 = join(fresh.home, 'm2');
  const initV2 = ['init', '--remote', `cloud:${w.cloudDir}/v2`, '--managed', m2];
  // git-annex runs as `git annex`: git is there, and finds no git-annex on the PATH.
  it('a missing git-annex names its Debian package (exit 3)', T, async () => {
    const r = await unchanged(fresh, initV2, { PATH: toolPath('bin-no-annex', ['git', 'rclone']) });
    refused(r, 3, /git-annex is not installed.*Debian package git-annex/);
    expect(existsSync(m2)).toBe(false);
  });

  it('a missing rclone names its Debian package (exit 3)', T, async () => {
    const PATH = toolPath('bin-no-rclone', ['git', 'git-annex']);
    refused(await unchanged(fresh, initV2, { PATH }), 3, /rclone is not installed.*Debian package rclone/);
    refused(await unchanged(a, ['sync', '--wait', '0'], { PATH }), 3, /rclone is not installed.*Debian package rclone/);
    expect(existsSync(m2)).toBe(false);
  });

  it('add and explain name a missing path; explain works without a vault', T, async () => {
    refused(await unchanged(a, ['add', join(a.home, 'missing.txt')]), 2, /missing\.txt does not exist/);
    refused(await unchanged(a, ['add']), 2, /Missing required argument 'paths'/);
    refused(await unchanged(a, ['explain', join(a.home, 'missing.txt')]), 2, /missing\.txt does not exist/);
    refused(await unchanged(fresh, ['explain', join(fresh.home, 'missing.txt')]), 2, /missing\.txt does not exist/);
    fresh.write('notes.txt', 'hello\n');
    const r = await unchanged(fresh, ['explain', 'notes.txt']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/notes\.txt\n\s+→ git/);
  });

  it('rollback, diff and log refuse versions and numbers they cannot use', T, async () => {
    refused(await unchanged(a, ['rollback', '.gitignore']), 2, /--to/);
    refused(await unchanged(a, ['rollback', '.gitignore', '--to', 'nosuchrev']), 2, /"nosuchrev" is not a commit/);
    refused(await unchanged(a, ['rollback', '.gitignore', '--to', '-x']), 2, /"-x" is not a version/);
    refused(await unchanged(a, ['rollback', 'documents/never.txt', '--to', 'HEAD']), 2, /never\.txt did not exist at HEAD/);
    refused(await unchanged(a, ['diff', '.gitignore', '--between', 'HEAD']), 2, /--between takes two versions, not 1/);
    refused(await unchanged(a, ['diff', '.gitignore', '--between', 'HEAD', 'HEAD', 'HEAD']), 2, /not 3/);
    refused(await unchanged(a, ['log', '-n', 'abc']), 2, /--max-count takes a number, not "abc"/);
  });

  it('sync, backup and get refuse bad values and paths', T, async () => {
    refused(await unchanged(a, ['sync', '--wait', 'abc']), 2, /--wait takes a number of seconds, not "abc"/);
    refused(await unchanged(a, ['backup', join(a.home, 'missing')]), 2, /missing does not exist/);
    const file = a.write('big.bin', 'x'.repeat(1000));
    refused(await unchanged(a, ['backup', file, '--bwlimit', 'fast']), 2, /--bwlimit.*"fast"/);
    refused(await unchanged(a, ['get', '/nonexistent/file']), 2, /\/nonexistent\/file is in no repository of the vault and not in its backups/);
    unlinkSync(file);
  });

  it('a malformed .ferry/config.json or tool-preferences.json is named with its field', T, async () => {
    const config = join(a.managed, '.ferry', 'config.json');
    const prefs = join(a.managed, '.ferry', 'tool-preferences.json');
    const [keptConfig, keptPrefs] = [readFileSync(config), readFileSync(prefs)];
    try {
      writeFileSync(config, '{ "numcopies": 1,');
      for (const args of [['status'], ['sync'], ['explain', prefs]]) {
        refused(await unchanged(a, args), 2, new RegExp(`${config.replace(/[.]/g, '\\.')} is not valid JSON`));
      }
      writeFileSync(config, '{ "numcopies": "x" }\n');
      refused(await unchanged(a, ['status']), 2, /\.ferry\/config\.json: numcopies: .*number/);
      writeFileSync(config, keptConfig);
      writeFileSync(prefs, '{ "rules": [{ "tool": "svn" }] }\n');
      refused(await unchanged(a, ['explain', config]), 2, /\.ferry\/tool-preferences\.json: rules\.0\.tool: .*"git-annex"/);
      refused(await unchanged(a, ['add', '--dry-run', config]), 2, /tool-preferences\.json: rules\.0\.tool/);
    } finally {
      writeFileSync(config, keptConfig);
      writeFileSync(prefs, keptPrefs);
    }
    expect(a.sh('git', ['status', '--porcelain'], a.managed)).toBe('');
  });

  it('a held lock refuses sync naming its holder (exit 3); an expired one is taken', T, async () => {
    const lock = join(w.cloudDir, 'vault', 'coordination', 'locks', 'vault.lock');
    const lease = (expires: number): string =>
      JSON.stringify({ owner: 'other', host: 'h', pid: 1, token: 't', purpose: 'sync', acquired: new Date().toISOString(), expires: new Date(expires).toISOString() });
    const held = lease(Date.now() + 60_000);
    writeFileSync(lock, held);
    const r = await unchanged(a, ['sync', '--wait', '0']);
    refused(r, 3, /^ferry: The vault is locked by other \(host h, pid 1, sync\) until /);
    expect(readFileSync(lock, 'utf8')).toBe(held);
    writeFileSync(lock, lease(Date.now() - 1000)); // a dead device's lease
    const ok = await a.ok(['sync', '--wait', '0']);
    expect(ok.stderr).toBe('');
    expect(existsSync(lock)).toBe(false);
  });

  it('a tool failure is one sentence naming the tool; --verbose adds its own words', T, async () => {
    const kept = readFileSync(w.rcloneConfig);
    const pass = spawnSync('rclone', ['obscure', 'x'], { encoding: 'utf8' }).stdout.trim();
    // Connection refused at once; one low-level try, not rclone's ten.
    const env = { RCLONE_LOW_LEVEL_RETRIES: '1' };
    try {
      writeFileSync(w.rcloneConfig, `[cloud]\ntype = sftp\nhost = 127.0.0.1\nport = 1\nuser = u\npass = ${pass}\n`);
      const r = await unchanged(a, ['sync', '--wait', '0'], env);
      expect([1, 3]).toContain(r.code);
      refused(r, r.code ?? NaN, /^ferry: rclone could not /);
      expect(r.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('hint: '))).toHaveLength(1);
      const v = await unchanged(a, ['sync', '--wait', '0', '--verbose'], env);
      expect(v.code).toBe(r.code);
      const lines = v.stderr.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^ferry: rclone could not /);
      expect(lines.length).toBeGreaterThan(1);
      expect(lines.slice(1).join('\n')).toMatch(/connection refused/);
      expect(v.stderr).not.toMatch(/\n\s+at |internal error/);
    } finally {
      writeFileSync(w.rcloneConfig, kept);
    }
    await a.ok(['status']);
  });

  it('help lists the commands and options; an unknown command is refused', T, async () => {
    const h = await a.vault(['--help']);
    expect(h.code).toBe(0);
    for (const c of ['init', 'explain', 'add', 'sync', 'status', 'get', 'rollback', 'log', 'diff', 'backup', 'devices']) expect(h.stdout).toMatch(new RegExp(`^ {2}${c} `, 'm'));
    const s = await a.vault(['sync', '--help']);
    expect(s.code).toBe(0);
    for (const o of ['--wait <seconds>', '--no-get', '--managed <dir>', '--verbose', '--json']) expect(s.stdout).toContain(o);
    refused(await unchanged(a, ['nosuch']), 2, /nosuch/);
  });
});
