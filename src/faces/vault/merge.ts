import { existsSync } from 'node:fs';
import { FerryError } from '../../core/errors.js';
import { join, posix } from 'node:path';
import type { Tools } from './vault.js';

/** One path two devices changed at once: ours stays at `path`, theirs is kept beside it as `kept`. */
export interface Conflict {
  path: string;
  /** Where the other version is now (undefined when only one side was left: a deletion against an edit). */
  kept?: string;
  /** What happened, in words. */
  how: string;
}

/** The trailer every commit ferry makes carries, naming the device. */
export const DEVICE_TRAILER = 'Ferry-Device';

export function commitArgs(subject: string, device: string): string[] {
  return ['-m', subject, '-m', `${DEVICE_TRAILER}: ${device}`];
}

interface Stage {
  mode: string;
  sha: string;
}

/** "notes.txt" + "laptop" → "notes.conflict-laptop.txt" (then -2, -3… while taken). */
export function variantName(path: string, device: string, taken: (p: string) => boolean): string {
  const dir = posix.dirname(path);
  const base = posix.basename(path);
  const dot = base.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [base.slice(0, dot), base.slice(dot)] : [base, ''];
  const safe = device.replace(/[^\w.-]+/g, '-');
  for (let n = 1; ; n++) {
    const name = `${stem}.conflict-${safe}${n > 1 ? `-${n}` : ''}${ext}`;
    const p = dir === '.' ? name : `${dir}/${name}`;
    if (!taken(p)) return p;
  }
}

/**
 * Settles a merge git could not finish, keeping every version: where both sides changed a file, ours
 * stays at its path and theirs is added beside it under a variant name (an annexed file's symlink
 * as well as a plain file's bytes: both are blobs in the index); an edit against a deletion keeps the
 * edit. Nothing is resolved by dropping a side. The caller commits.
 */
export async function keepBothSides(t: Tools, repo: string, theirDevice: (path: string) => Promise<string>): Promise<Conflict[]> {
  const onDisk = (p: string): boolean => existsSync(join(repo, p));
  const out = await t.git(repo, ['ls-files', '-u', '-z'], 'list the merge conflicts');
  const byPath = new Map<string, Map<number, Stage>>();
  for (const rec of out.split('\0')) {
    const m = /^(\d+) ([0-9a-f]+) (\d)\t(.*)$/s.exec(rec);
    if (!m) continue;
    const stages = byPath.get(m[4]!) ?? new Map<number, Stage>();
    stages.set(Number(m[3]), { mode: m[1]!, sha: m[2]! });
    byPath.set(m[4]!, stages);
  }
  const tracked = new Set((await t.git(repo, ['ls-files', '-z'], 'list the tracked files')).split('\0'));
  const conflicts: Conflict[] = [];
  for (const [path, stages] of byPath) {
    const ours = stages.get(2);
    const theirs = stages.get(3);
    if (ours && theirs) {
      // Never onto a name that is taken, tracked or not (an untracked file of the user's stays as it is).
      const kept = variantName(path, await theirDevice(path), (p) => tracked.has(p) || byPath.has(p) || onDisk(p));
      tracked.add(kept);
      await t.git(repo, ['checkout', '--ours', '--', path], 'keep this device\'s version');
      await t.git(repo, ['add', '--', path], 'keep this device\'s version');
      await t.git(repo, ['update-index', '--add', '--cacheinfo', `${theirs.mode},${theirs.sha},${kept}`], 'keep the other device\'s version');
      await t.git(repo, ['checkout', '--', kept], 'write the other device\'s version');
      conflicts.push({ path, kept, how: 'both devices changed it: this device\'s version stays, the other one is kept beside it' });
    } else if (ours || theirs) {
      const side = ours ? '--ours' : '--theirs';
      await t.git(repo, ['checkout', side, '--', path], 'keep the edited version');
      await t.git(repo, ['add', '--', path], 'keep the edited version');
      conflicts.push({ path, how: `deleted on one device and edited on the other: the edit (${ours ? 'this device\'s' : 'the other device\'s'}) is kept` });
    } else {
      // Only the base: both sides moved or deleted it (a rename on each side); their new names are in the merge.
      await t.git(repo, ['rm', '-q', '--cached', '--ignore-unmatch', '--', path], 'settle a file both devices moved');
      conflicts.push({ path, how: 'moved or deleted on both devices: both new names are kept' });
    }
  }
  return conflicts;
}

export interface MergeRequest {
  /** What is merged (a ref), and in words for the messages ("the cloud's commits"). */
  ref: string;
  what: string;
  device: string;
  /** The merge commit's subject, and the one when conflicts were kept both ways. */
  message: string;
  keptMessage: (paths: string) => string;
  /** The name the other side's kept versions carry. */
  theirDevice: (path: string) => Promise<string>;
  hint: string;
}

/** Commits a merge git stopped on, every conflict kept both ways; a failure on the way aborts the merge. */
export async function settleMerge(t: Tools, repo: string, m: Pick<MergeRequest, 'device' | 'keptMessage' | 'theirDevice'>): Promise<Conflict[]> {
  try {
    const conflicts = await keepBothSides(t, repo, m.theirDevice);
    await t.git(repo, ['commit', '-q', '--no-edit', ...commitArgs(m.keptMessage(conflicts.map((c) => c.path).join(', ')), m.device)], 'commit the merge');
    return conflicts;
  } catch (e) {
    // Nothing half-merged is left behind: the next attempt starts from this side's commit again.
    await t.run('git', ['merge', '--abort'], { cwd: repo, what: 'abort the merge', ok: [128] });
    throw e;
  }
}

/**
 * The one merge of the vault (sync, a branch merged back, another repository's upstream): git's
 * merge; conflicts kept both ways and committed; a merge git refused before it started (an
 * untracked file or an uncommitted change in the way) aborted, with the files it names.
 */
export async function mergeKeepingBoth(t: Tools, repo: string, m: MergeRequest): Promise<Conflict[]> {
  const r = await t.run('git', ['merge', '-q', '--no-edit', ...commitArgs(m.message, m.device), m.ref], { cwd: repo, what: `merge ${m.what}`, ok: [1] });
  if (r.code === 0) return [];
  if ((await t.git(repo, ['ls-files', '-u'], 'list the merge conflicts')).trim() !== '') return settleMerge(t, repo, m);
  await t.run('git', ['merge', '--abort'], { cwd: repo, what: 'abort the merge', ok: [128] });
  const text = `${r.stderr}${r.stdout}`;
  const named = [...text.matchAll(/^\t(.+)$/gm)].map((x) => x[1]!.trim());
  const said = /untracked working tree files would be overwritten/.test(text)
    ? `these untracked files would be overwritten: ${named.join(', ')}`
    : /local changes .* would be overwritten/.test(text)
      ? `these uncommitted changes would be overwritten: ${named.join(', ')}`
      : (text.split('\n').find((l) => /^(error|fatal):/.test(l)) ?? 'it stopped').replace(/^(error|fatal): /, '').trim();
  throw new FerryError('TOOL_FAILED', `git could not merge ${m.what}, so nothing was changed here: ${said.replace(/[.:]$/, '')}.`, { hint: m.hint, detail: r.stderr });
}
