import { FerryError } from '../../core/errors.js';
import { listCloud } from './cloud.js';
import { mergeKeepingBoth, type Conflict } from './merge.js';
import { annexedFiles } from './status.js';
import { BRANCH, CLOUD, CLOUD_GIT, type Vault } from './vault.js';

export interface VersionedFile {
  path: string;
  tool: 'git' | 'git-annex' | 'rclone';
  /** Commits that changed it (1 for a backup: not versioned). */
  versions: number;
  /** Where its content is: in git (every clone), here and/or in the cloud (git-annex), the cloud's backups/. */
  content: string;
  size?: number;
}

/** `ferry vault versions`: every file the vault keeps, how many versions, where its content lives. */
export async function versions(v: Vault): Promise<VersionedFile[]> {
  const out = await v.t.git(v.managed, ['log', '--format=%x00', '--name-only', '--no-renames', 'HEAD'], 'read the history');
  const counts = new Map<string, number>();
  for (const name of out.split('\n')) {
    const n = name.replace(/\0/g, '').trim();
    if (n) counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  const current = (await v.t.git(v.managed, ['ls-files', '-z'], 'list the files')).split('\0').filter((p) => p && !p.endsWith('.gitkeep'));
  const annexed = new Map((await annexedFiles(v)).map((a) => [a.file, a]));
  const files: VersionedFile[] = current.map((path) => {
    const a = annexed.get(path);
    const where = a ? [a.here ? 'here' : '', a.inCloud ? 'cloud' : ''].filter(Boolean).join(' + ') || 'nowhere reachable' : 'git';
    return { path, tool: a ? 'git-annex' : 'git', versions: counts.get(path) ?? 1, content: where };
  });
  for (const e of await listCloud(v.t, v.cloud(CLOUD.backups), 'list the backups', { recursive: true, filesOnly: true })) {
    files.push({ path: `${CLOUD.backups}/${e.Path}`, tool: 'rclone', versions: 1, content: 'cloud backups (not versioned)', size: e.Size });
  }
  return files;
}

export interface BranchReport {
  action: 'created' | 'switched' | 'merged' | 'listed' | 'deleted';
  branch: string;
  branches: Array<{ name: string; current: boolean }>;
  conflicts: Conflict[];
}

async function branches(v: Vault): Promise<Array<{ name: string; current: boolean }>> {
  const out = await v.t.git(v.managed, ['branch', '--format=%(HEAD)%(refname:short)'], 'list the branches');
  return out.split('\n').filter(Boolean).map((l) => ({ name: l.slice(1), current: l.startsWith('*') })).filter((b) => b.name !== 'git-annex' && !b.name.startsWith('synced/'));
}

async function exists(v: Vault, ref: string): Promise<boolean> {
  return (await v.t.run('git', ['rev-parse', '--verify', '-q', ref], { cwd: v.managed, what: 'read a branch', ok: [1] })).code === 0;
}

/**
 * `ferry vault branch`: NAME creates an experimental branch from here (or takes the cloud's) and
 * switches to it; `merge` brings a branch back into main (conflicts kept both ways) and switches to
 * main; `remove` deletes a branch that is merged. Sync publishes every branch.
 */
export async function branch(v: Vault, name: string | undefined, op: { merge?: boolean; remove?: boolean } = {}): Promise<BranchReport> {
  if (name !== undefined && (!/^[\w][\w./-]*$/.test(name) || name.includes('..') || name === 'git-annex')) {
    throw new FerryError('USAGE', `"${name}" cannot be a branch name: use letters, digits, '.', '/', '-' and '_'.`);
  }
  const current = (await branches(v)).find((b) => b.current)?.name ?? BRANCH;
  if (op.merge) {
    const from = name ?? current;
    if (from === BRANCH) throw new FerryError('USAGE', `Name the branch to merge into ${BRANCH} (you are on ${BRANCH}).`);
    if (!(await exists(v, `refs/heads/${from}`))) throw new FerryError('USAGE', `There is no branch "${from}".`);
    await v.t.git(v.managed, ['switch', '-q', BRANCH], `switch to ${BRANCH}`);
    const conflicts = await mergeKeepingBoth(v.t, v.managed, {
      ref: from,
      what: `${from} into ${BRANCH}`,
      device: v.device,
      message: `ferry vault branch: merge ${from} into ${BRANCH}`,
      keptMessage: () => `ferry vault branch: merge ${from} into ${BRANCH}, both versions kept`,
      theirDevice: async () => from,
      hint: 'commit or move the files it names, then merge again',
    });
    return { action: 'merged', branch: from, branches: await branches(v), conflicts };
  }
  if (op.remove) {
    if (!name) throw new FerryError('USAGE', 'Name the branch to remove.');
    if (name === BRANCH) throw new FerryError('USAGE', `${BRANCH} cannot be removed.`);
    await v.t.git(v.managed, ['branch', '-q', '-d', name], `remove the branch ${name} (only a merged branch is removed)`);
    return { action: 'deleted', branch: name, branches: await branches(v), conflicts: [] };
  }
  if (!name) return { action: 'listed', branch: current, branches: await branches(v), conflicts: [] };
  if (await exists(v, `refs/heads/${name}`)) {
    await v.t.git(v.managed, ['switch', '-q', name], `switch to ${name}`);
    return { action: 'switched', branch: name, branches: await branches(v), conflicts: [] };
  }
  const start = (await exists(v, `refs/remotes/${CLOUD_GIT}/${name}`)) ? `${CLOUD_GIT}/${name}` : 'HEAD';
  await v.t.git(v.managed, ['switch', '-q', '-c', name, start, '--no-track'], `create the branch ${name}`);
  return { action: 'created', branch: name, branches: await branches(v), conflicts: [] };
}
