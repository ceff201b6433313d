import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/tree.js';

// git-annex-remote-ferry, driven by the real git-annex and rclone: a local rclone remote `cloud`
// (a directory) stands in for the cloud.
const REMOTE_BIN = fileURLToPath(new URL('../bin/git-annex-remote-ferry.js', import.meta.url));

interface Run {
  code: number | null;
  out: string; // stdout and stderr together, for the messages git-annex prints on either
}

let root = '';
let repo = '';
let storage = ''; // the directory behind cloud:…/git-annex-storage
let env: NodeJS.ProcessEnv = {};

function run(cmd: string, args: string[], input?: string): Run {
  const r = spawnSync(cmd, args, { cwd: repo, env, input, encoding: 'utf8', timeout: 50_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const annex = (...args: string[]): Run => run('git', ['annex', ...args]);

function ok(r: Run): string {
  expect(r.code, r.out).toBe(0);
  return r.out;
}

beforeAll(() => {
  root = tempDir('ferry-annex-');
  const bin = join(root, 'bin');
  mkdirSync(bin);
  symlinkSync(REMOTE_BIN, join(bin, 'git-annex-remote-ferry'));
  writeFileSync(join(root, 'rclone.conf'), '[cloud]\ntype = local\n');
  env = {
    ...process.env,
    PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    RCLONE_CONFIG: join(root, 'rclone.conf'),
    HOME: root,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Ferry Test',
    GIT_AUTHOR_EMAIL: 'test@ferry.invalid',
    GIT_COMMITTER_NAME: 'Ferry Test',
    GIT_COMMITTER_EMAIL: 'test@ferry.invalid',
  };
  repo = join(root, 'repo');
  storage = join(root, 'store', 'git-annex-storage');
  mkdirSync(repo);
  ok(run('git', ['init', '-q']));
  ok(annex('init', '-q', 'test'));
  // testremote removes keys: this remote allows it (the vault's own does not, see the last test).
  ok(annex('initremote', 'cloud', 'type=external', 'externaltype=ferry', 'encryption=none', `target=cloud:${storage}`, 'allow_remove=yes'));
});

// git-annex leaves its objects read-only: make them writable so the temp dir can be removed.
afterAll(() => void spawnSync('chmod', ['-R', 'u+w', root]));

describe('git-annex-remote-ferry', () => {
  it('passes git annex testremote', () => {
    const out = ok(annex('testremote', 'cloud', '--fast'));
    expect(out).toMatch(/All \d+ tests passed/);
  });

  it('stores a key at <target>/<dirhash>/<key>, and drop and get check the cloud live', () => {
    writeFileSync(join(repo, 'hello.txt'), 'hello');
    ok(annex('add', 'hello.txt'));
    ok(run('git', ['commit', '-q', '-m', 'hello']));
    const key = ok(annex('lookupkey', 'hello.txt')).trim();
    const hash = ok(annex('examinekey', '--format=${hashdirlower}', key)).trim();
    expect(hash).toMatch(/^[0-9a-f]{3}\/[0-9a-f]{3}\/$/);

    ok(annex('copy', '--to', 'cloud', 'hello.txt'));
    expect(readFileSync(join(storage, hash, key), 'utf8')).toBe('hello');
    expect(readdirSync(join(storage, 'tmp'))).toEqual([]); // moved into place, nothing left half way

    ok(annex('drop', 'hello.txt')); // numcopies 1: git-annex has checked the copy in the cloud
    expect(ok(annex('find', '--in', 'here'))).toBe('');
    ok(annex('get', 'hello.txt'));
    expect(readFileSync(join(repo, 'hello.txt'), 'utf8')).toBe('hello');
  });

  it('sees a key deleted behind its back: fsck reports it, a local drop is refused', () => {
    const key = ok(annex('lookupkey', 'hello.txt')).trim();
    const hash = ok(annex('examinekey', '--format=${hashdirlower}', key)).trim();
    rmSync(join(storage, hash, key));

    const drop = annex('drop', 'hello.txt');
    expect(drop.code, drop.out).not.toBe(0);
    expect(drop.out).toMatch(/numcopies|Could only verify/i);
    expect(existsSync(join(repo, 'hello.txt'))).toBe(true);

    const fsck = annex('fsck', '--from', 'cloud', '--fast', 'hello.txt');
    expect(fsck.code, fsck.out).not.toBe(0);
    expect(fsck.out).toMatch(/missing/);

    // Removing a key that is not there is a success (git-annex is told it is there first).
    const uuid = ok(run('git', ['config', 'remote.cloud.annex-uuid'])).trim();
    ok(annex('setpresentkey', key, uuid, '1'));
    ok(annex('drop', '--from', 'cloud', 'hello.txt'));
    expect(ok(annex('find', '--in', 'cloud'))).toBe('');
  });

  it('without allow_remove, keeps every key: a drop --from it is refused (the storage may be shared)', () => {
    ok(annex('initremote', 'shared', 'type=external', 'externaltype=ferry', 'encryption=none', `target=cloud:${storage}-shared`));
    writeFileSync(join(repo, 'kept.txt'), 'kept');
    ok(annex('add', 'kept.txt'));
    ok(run('git', ['commit', '-q', '-m', 'kept']));
    ok(annex('copy', '--to', 'shared', 'kept.txt'));
    const drop = annex('drop', '--from', 'shared', 'kept.txt');
    expect(drop.code, drop.out).not.toBe(0);
    expect(drop.out).toMatch(/allow_remove=yes/);
    expect(ok(annex('find', '--in', 'shared'))).toBe('kept.txt\n');
  });

  it('refuses initremote without a target or on an rclone remote that does not exist', () => {
    const none = annex('initremote', 'bare', 'type=external', 'externaltype=ferry', 'encryption=none');
    expect(none.code).not.toBe(0);
    expect(none.out).toContain('target is not set');
    const nope = annex('initremote', 'nope', 'type=external', 'externaltype=ferry', 'encryption=none', 'target=nope:vault');
    expect(nope.code).not.toBe(0);
    expect(nope.out).toMatch(/rclone mkdir failed: .*didn't find section in config file/);
  });

  it('speaks the protocol on its own: unknown requests, an unreachable remote, no rclone, EOF', () => {
    const key = 'SHA256E-s5--0000.txt';
    const session = (target: string, rcloneBin: string): string[] => {
      const input = ['EXTENSIONS INFO ASYNC', 'FROBNICATE', 'PREPARE', `VALUE ${target}`, `VALUE ${rcloneBin}`, 'VALUE yes',
        `CHECKPRESENT ${key}`, 'VALUE f87/4d5/', `REMOVE ${key}`, 'VALUE f87/4d5/', ''].join('\n');
      const r = run(REMOTE_BIN, [], input);
      expect(r.code, r.out).toBe(0); // the end of the input ends the session quietly
      return r.out.trim().split('\n');
    };
    const unreachable = session('nope:vault', '');
    expect(unreachable.slice(0, 7)).toEqual(['VERSION 1', 'EXTENSIONS', 'UNSUPPORTED-REQUEST',
      'GETCONFIG target', 'GETCONFIG rclone_bin', 'GETCONFIG allow_remove', 'PREPARE-SUCCESS']);
    expect(unreachable[8]).toMatch(new RegExp(`^CHECKPRESENT-UNKNOWN ${key} rclone lsjson failed: .*didn't find section`));
    expect(unreachable[10]).toMatch(new RegExp(`^REMOVE-FAILURE ${key} rclone lsjson failed: `));
    const missing = session(`cloud:${storage}`, join(root, 'no-such-rclone'));
    expect(missing[8]).toMatch(/^CHECKPRESENT-UNKNOWN \S+ rclone is not installed \(Debian package rclone\)/);
  });
});
