import { existsSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { FerryError } from '../../core/errors.js';
import { commitArgs, DEVICE_TRAILER } from './merge.js';
import { gitTop, type Vault } from './vault.js';

export interface LogEntry {
  commit: string;
  date: string;
  author: string;
  device?: string;
  subject: string;
}

/** A file of a repository of the vault: the repository and the path from its top. */
export interface RepoFile {
  repo: string;
  rel: string;
}

/** Where FILE is: the managed repository by default; a path inside another git repository is that one's. */
export async function locate(v: Vault, file: string): Promise<RepoFile> {
  const abs = resolve(file);
  let dir = dirname(abs);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const repo = await gitTop(v.t, dir);
  if (repo) {
    const rel = relative(repo, abs).split(sep).join('/');
    if (!rel.startsWith('..')) return { repo, rel };
  }
  // A path as the managed repository names it ("documents/notes.md"), from wherever the command runs.
  if (!file.startsWith('/')) return { repo: v.managed, rel: file.replace(/^\.\//, '') };
  throw new FerryError('USAGE', `${file} is in no git repository of the vault.`);
}

const FORMAT = `%H%x1f%aI%x1f%an%x1f%(trailers:key=${DEVICE_TRAILER},valueonly,separator=%x2C)%x1f%s%x1e`;

function parseLog(out: string): LogEntry[] {
  return out
    .split('\x1e')
    .map((r) => r.trim())
    .filter(Boolean)
    .map((r) => {
      const [commit = '', date = '', author = '', device = '', subject = ''] = r.split('\x1f');
      return { commit, date, author, device: device.trim() || undefined, subject };
    });
}

/** `ferry vault log [FILE]`: the history of the managed repository, or of one file (following renames). */
export async function log(v: Vault, file?: string, limit = 1000): Promise<LogEntry[]> {
  if (!file) return parseLog(await v.t.git(v.managed, ['log', `-n${limit}`, `--format=${FORMAT}`], 'read the history'));
  const f = await locate(v, file);
  return parseLog(await v.t.git(f.repo, ['log', `-n${limit}`, '--follow', `--format=${FORMAT}`, '--', f.rel], `read the history of ${f.rel}`));
}

/**
 * A version as a user names it: a commit, `HEAD~N`, a branch, or a date ("2026-11-30", "2 days
 * ago": the file as it was then, its last commit before that time). Resolves to a full commit id.
 */
export async function resolveVersion(v: Vault, f: RepoFile, version: string): Promise<string> {
  if (version.startsWith('-')) throw new FerryError('USAGE', `"${version}" is not a version: give a commit, HEAD~N or a date.`);
  const asCommit = await v.t.run('git', ['rev-parse', '--verify', '-q', `${version}^{commit}`], { cwd: f.repo, what: 'read the version', ok: [1, 128] });
  if (asCommit.code === 0) return asCommit.stdout.trim();
  if (/\d/.test(version) || /ago|yesterday|today/i.test(version)) {
    const at = await v.t.run('git', ['rev-list', '-1', `--before=${version}`, 'HEAD', '--', f.rel], { cwd: f.repo, what: 'find the version at that date', ok: [128] });
    if (at.code === 0 && at.stdout.trim()) return at.stdout.trim();
    throw new FerryError('USAGE', `${f.rel} has no version from before ${version}.`);
  }
  throw new FerryError('USAGE', `"${version}" is not a commit, HEAD~N or a date of this repository's history.`);
}

/** What a path is at a version: a git blob, an annexed key (with its size and hash), or nothing. */
export interface VersionOf {
  commit: string;
  kind: 'git' | 'annex' | 'absent';
  key?: string;
  size?: number;
  hash?: string;
}

const KEY = /(?:^|\/)((?:SHA256E?|SHA512E?|SHA1E?|MD5E?|BLAKE2B256E?|WORM|URL)-s(\d+)--([^/.\s]+)[^/\s]*)$/;

export async function versionOf(v: Vault, f: RepoFile, commit: string): Promise<VersionOf> {
  const r = await v.t.run('git', ['cat-file', '-p', `${commit}:${f.rel}`], { cwd: f.repo, what: 'read the version', ok: [128] });
  if (r.code !== 0) return { commit, kind: 'absent' };
  const first = r.stdout.split('\n')[0] ?? '';
  const m = r.stdout.length < 1024 ? KEY.exec(first.trim()) : null;
  if (m && (first.includes('.git/annex/objects') || first.startsWith('/annex/objects'))) return { commit, kind: 'annex', key: m[1], size: Number(m[2]), hash: m[3] };
  return { commit, kind: 'git' };
}

export interface DiffReport {
  file: string;
  from: VersionOf;
  to: VersionOf;
  /** The text diff, for files in git. */
  text?: string;
  identical: boolean;
}

/** `ferry vault diff FILE --between V1 V2`: a text diff for a file in git; sizes and hashes for an annexed one. */
export async function diff(v: Vault, file: string, v1: string, v2: string): Promise<DiffReport> {
  const f = await locate(v, file);
  const a = await versionOf(v, f, await resolveVersion(v, f, v1));
  const b = await versionOf(v, f, await resolveVersion(v, f, v2));
  if (a.kind === 'absent' && b.kind === 'absent') throw new FerryError('USAGE', `${f.rel} exists at neither ${v1} nor ${v2}.`);
  if (a.kind === 'git' && b.kind === 'git') {
    const text = await v.t.git(f.repo, ['diff', '--no-color', a.commit, b.commit, '--', f.rel], `compare the versions of ${f.rel}`);
    return { file: f.rel, from: a, to: b, text, identical: text === '' };
  }
  return { file: f.rel, from: a, to: b, identical: a.key !== undefined && a.key === b.key };
}

export interface RollbackReport {
  file: string;
  to: string;
  commit?: string;
  annexed: boolean;
  unchanged: boolean;
}

/**
 * `ferry vault rollback FILE --to VERSION`: the file as it was at VERSION, committed as a new
 * version (history is never rewritten); annexed content is fetched when this device lacks it. A file
 * with uncommitted edits is refused, so nothing unsaved is lost.
 */
export async function rollback(v: Vault, file: string, version: string): Promise<RollbackReport> {
  const f = await locate(v, file);
  const commit = await resolveVersion(v, f, version);
  const at = await versionOf(v, f, commit);
  if (at.kind === 'absent') throw new FerryError('USAGE', `${f.rel} did not exist at ${version} (${commit.slice(0, 10)}).`);
  const dirty = await v.t.git(f.repo, ['status', '--porcelain=v1', '--', f.rel], 'read the file\'s status');
  if (dirty.trim() !== '') throw new FerryError('USAGE', `${f.rel} has changes that are not committed; rolling back would lose them.`, { hint: '`ferry vault sync` (or commit) first, then roll back' });
  // The old content first (by its key), so a cloud that cannot give it leaves the file as it was.
  if (at.kind === 'annex' && at.key) await v.t.annex(f.repo, ['get', '--quiet', `--key=${at.key}`], `get the content of ${f.rel} at ${version}`);
  await v.t.git(f.repo, ['checkout', commit, '--', f.rel], `restore ${f.rel}`);
  const staged = await v.t.run('git', ['diff', '--cached', '--quiet', '--', f.rel], { cwd: f.repo, what: 'see what changed', ok: [1] });
  const short = commit.slice(0, 10);
  if (staged.code === 0) return { file: f.rel, to: short, annexed: at.kind === 'annex', unchanged: true };
  await v.t.git(f.repo, ['commit', '-q', ...commitArgs(`ferry vault rollback: ${f.rel} to ${short} (${version})`, v.device), '--', f.rel], `commit the rollback of ${f.rel}`);
  const id = (await v.t.git(f.repo, ['rev-parse', '--short', 'HEAD'], 'read the commit')).trim();
  return { file: f.rel, to: short, commit: id, annexed: at.kind === 'annex', unchanged: false };
}
