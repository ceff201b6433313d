import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { AnnexChannel, Presence, SpecialRemote } from './protocol.js';

/** What one rclone run left: its exit code and output. */
interface RcloneResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** rclone's exit codes for "directory not found" and "file not found". */
const DIR_NOT_FOUND = 3;
const FILE_NOT_FOUND = 4;

/** The last line rclone wrote to stderr, without its date and time. */
function lastLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return (lines.at(-1) ?? '').replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d(\.\d+)? /, '');
}

/** One sentence for a failed rclone command: which subcommand, and rclone's last word on it. */
function failure(subcommand: string, r: RcloneResult): Error {
  const line = lastLine(r.stderr);
  return new Error(line ? `rclone ${subcommand} failed: ${line}` : `rclone ${subcommand} failed with exit code ${r.code}`);
}

/**
 * Runs `bin args…` without a shell, in our environment (so RCLONE_CONFIG and the like apply), and
 * collects its output. Rejects only when rclone cannot be started at all.
 */
function runRclone(bin: string, args: string[]): Promise<RcloneResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        const which = bin === 'rclone' ? '' : ` (rclone_bin=${bin} not found)`;
        reject(new Error(`rclone is not installed (Debian package rclone)${which}`));
      } else reject(new Error(`cannot run ${bin}: ${err.message}`));
    });
    child.on('close', (code, signal) => resolveRun({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/**
 * Keys in an rclone path: `<target>/<DIRHASH-LOWER><KEY>`, e.g.
 * `cloud:vault/git-annex-storage/f87/4d5/SHA256E-s5--….txt`. Uploads go to `<target>/tmp/<KEY>` first
 * and are moved into place whole, so a key is never seen half there.
 */
export class RcloneStore {
  /**
   * @param target an rclone path, `REMOTE:PATH` (or a local path)
   * @param bin the rclone program, found in PATH unless it is a path
   */
  constructor(
    readonly target: string,
    readonly bin = 'rclone',
  ) {}

  /** `<target>/<rel>`, also for a target that is a remote's root (`cloud:`). */
  private path(rel: string): string {
    return /[:/]$/.test(this.target) ? this.target + rel : `${this.target}/${rel}`;
  }

  /** The directory of a key, from its DIRHASH-LOWER (`f87/4d5/`). */
  private dir(hash: string): string {
    return this.path(hash.replace(/\/+$/, ''));
  }

  private async run(subcommand: string, ...args: string[]): Promise<RcloneResult> {
    return runRclone(this.bin, [subcommand, ...args]);
  }

  private async check(subcommand: string, ...args: string[]): Promise<void> {
    const r = await this.run(subcommand, ...args);
    if (r.code !== 0) throw failure(subcommand, r);
  }

  /** Creates the target (idempotent): also proves the remote is configured and reachable. */
  async mkdir(): Promise<void> {
    await this.check('mkdir', this.target);
  }

  /**
   * Uploads `file` as the key: to a name of its own in `tmp/` (`<key>.<epoch ms>.<random>`: two
   * uploads of one key never share a temp file, and `ferry vault clean` can tell an old one by its
   * name, not by the modification time rclone copies from the source), then moved to its final name.
   */
  async upload(key: string, hash: string, file: string): Promise<void> {
    const source = await realpath(file).catch(() => resolve(file));
    const temp = this.path(`tmp/${key}.${Date.now()}.${randomBytes(4).toString('hex')}`);
    await this.check('copyto', '--ignore-times', source, temp);
    await this.check('moveto', temp, this.path(hash + key));
  }

  /** Downloads the key into `file` (whole: a partial file there is overwritten). */
  async download(key: string, hash: string, file: string): Promise<void> {
    await this.check('copyto', '--ignore-times', this.path(hash + key), resolve(file));
  }

  /** A live look at the key's directory. */
  async presence(key: string, hash: string): Promise<Presence> {
    const r = await this.run('lsjson', '--files-only', '--no-modtime', '--no-mimetype', this.dir(hash));
    if (r.code === DIR_NOT_FOUND || r.code === FILE_NOT_FOUND) return { state: 'absent' };
    if (r.code !== 0) return { state: 'unknown', reason: failure('lsjson', r).message };
    let entries: unknown;
    try {
      entries = JSON.parse(r.stdout);
    } catch {
      return { state: 'unknown', reason: 'rclone lsjson printed something that is not JSON' };
    }
    if (!Array.isArray(entries)) return { state: 'unknown', reason: 'rclone lsjson printed JSON that is not a list' };
    const entry = entries.find((e: unknown) => typeof e === 'object' && e !== null && (e as { Name?: unknown }).Name === key) as { Size?: unknown } | undefined;
    if (!entry) return { state: 'absent' };
    // A key that names its size (SHA256E-s1234--…) is present only whole.
    const size = /^[A-Z0-9]+-s(\d+)--/.exec(key)?.[1];
    if (size !== undefined && typeof entry.Size === 'number' && entry.Size !== Number(size)) return { state: 'absent' };
    return { state: 'present' };
  }

  /** Deletes the key; a key that is not there is no failure (rclone's own exit code says too little). */
  async delete(key: string, hash: string): Promise<void> {
    const before = await this.presence(key, hash);
    if (before.state === 'absent') return;
    if (before.state === 'unknown') throw new Error(before.reason);
    const r = await this.run('deletefile', this.path(hash + key));
    if (r.code === 0) return;
    if ((await this.presence(key, hash)).state !== 'absent') throw failure('deletefile', r);
  }
}

/** The settings the remote takes at `git annex initremote … KEY=VALUE`. */
const CONFIGS = [
  ['target', 'the rclone path to store keys in, REMOTE:PATH (required)'],
  ['rclone_bin', 'the rclone program to run (default: rclone from PATH)'],
  ['allow_remove', 'yes to let git-annex remove keys (default no: several repositories may share the storage)'],
] as const;

/** ferry's external special remote (`externaltype=ferry`): keys stored through rclone. */
export class RcloneRemote implements SpecialRemote {
  readonly configs = CONFIGS;
  readonly cost = 200; // semi-expensive: a network remote
  readonly availability = 'GLOBAL';
  private rclone: RcloneStore | undefined;
  private allowRemove = false;

  /** Reads `target` and `rclone_bin` from git-annex. */
  private async load(annex: AnnexChannel): Promise<RcloneStore> {
    const target = (await annex.getConfig('target')).trim();
    if (target === '') throw new Error('target is not set: give target=REMOTE:PATH to git annex initremote');
    const bin = (await annex.getConfig('rclone_bin')).trim() || 'rclone';
    this.allowRemove = (await annex.getConfig('allow_remove')).trim() === 'yes';
    this.rclone = new RcloneStore(target, bin);
    return this.rclone;
  }

  private async ready(annex: AnnexChannel): Promise<RcloneStore> {
    return this.rclone ?? this.load(annex);
  }

  private async hash(annex: AnnexChannel, key: string): Promise<string> {
    const hash = await annex.dirhashLower(key);
    if (hash === '' || hash.split('/').includes('..')) throw new Error(`git-annex gave no usable DIRHASH-LOWER for ${key}`);
    return hash.endsWith('/') ? hash : `${hash}/`;
  }

  async initRemote(annex: AnnexChannel): Promise<void> {
    await (await this.load(annex)).mkdir();
  }

  async prepare(annex: AnnexChannel): Promise<void> {
    await this.load(annex);
  }

  async store(annex: AnnexChannel, key: string, file: string): Promise<void> {
    const store = await this.ready(annex);
    await store.upload(key, await this.hash(annex, key), file);
  }

  async retrieve(annex: AnnexChannel, key: string, file: string): Promise<void> {
    const store = await this.ready(annex);
    await store.download(key, await this.hash(annex, key), file);
  }

  async checkPresent(annex: AnnexChannel, key: string): Promise<Presence> {
    const store = await this.ready(annex);
    return store.presence(key, await this.hash(annex, key));
  }

  async remove(annex: AnnexChannel, key: string): Promise<void> {
    const store = await this.ready(annex);
    if (!this.allowRemove) {
      // The vault's storage is shared by the managed repository and every other repository that
      // keeps files in it, each with its own location log: none of them can know the key is unused.
      throw new Error('this storage keeps every key (several repositories may share it); initremote it with allow_remove=yes to let git-annex remove keys');
    }
    await store.delete(key, await this.hash(annex, key));
  }
}
