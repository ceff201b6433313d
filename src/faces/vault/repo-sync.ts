import { mergeKeepingBoth, type Conflict } from './merge.js';
import { countCommits, SPECIAL_REMOTE, type Vault } from './vault.js';

export interface RepoSyncReport {
  repo: string;
  upstream?: string;
  received: number;
  sent: number;
  conflicts: Conflict[];
  /** Annexed content: copied to the vault's cloud, and fetched from it. */
  annex: boolean;
  head: string;
}

/**
 * `ferry vault sync` inside another git repository: that repository's own pull → merge → push with
 * its upstream (conflicts kept both ways, as in the vault), and its annexed content to and from the
 * vault's cloud (the `ferry-vault` special remote `add` set up there). Uncommitted edits are left
 * alone: a merge that would overwrite them stops before it starts.
 */
export async function syncRepo(v: Vault, repo: string): Promise<RepoSyncReport> {
  const branch = (await v.t.run('git', ['symbolic-ref', '--short', '-q', 'HEAD'], { cwd: repo, what: 'read the branch', ok: [1] })).stdout.trim();
  const cfg = async (key: string): Promise<string> => (await v.t.run('git', ['config', '--get', key], { cwd: repo, what: 'read the upstream', ok: [1] })).stdout.trim();
  const remote = branch ? await cfg(`branch.${branch}.remote`) : '';
  const merge = branch ? await cfg(`branch.${branch}.merge`) : '';
  const upstream = remote && merge ? `${remote}/${merge.replace(/^refs\/heads\//, '')}` : undefined;
  let received = 0;
  let sent = 0;
  let conflicts: Conflict[] = [];
  if (upstream) {
    await v.t.git(repo, ['fetch', '-q', remote], `fetch from ${remote}`);
    const tracking = `refs/remotes/${upstream}`;
    const known = (await v.t.run('git', ['rev-parse', '--verify', '-q', tracking], { cwd: repo, what: 'read the upstream', ok: [1] })).code === 0;
    received = known ? await countCommits(v.t, repo, `HEAD..${tracking}`) : 0;
    if (received > 0) {
      conflicts = await mergeKeepingBoth(v.t, repo, {
        ref: tracking,
        what: `${upstream} in ${repo}`,
        device: v.device,
        message: `ferry vault sync: merge ${upstream}`,
        keptMessage: () => `ferry vault sync: merge ${upstream}, both versions kept`,
        theirDevice: async () => remote,
        hint: 'commit or move the files it names, then sync again',
      });
    }
    sent = known ? await countCommits(v.t, repo, `${tracking}..HEAD`) : await countCommits(v.t, repo, 'HEAD');
    if (sent > 0) await v.t.git(repo, ['push', '-q', remote, `HEAD:${merge}`], `push to ${upstream}`);
  }
  const annexed = (await v.t.run('git', ['config', '--get', `remote.${SPECIAL_REMOTE}.annex-uuid`], { cwd: repo, what: 'look for the vault remote', ok: [1] })).stdout.trim() !== '';
  if (annexed) {
    await v.t.annex(repo, ['merge', '--quiet'], 'merge the git-annex branches');
    await v.t.annex(repo, ['copy', '--all', '--fast', '--quiet', `--to=${SPECIAL_REMOTE}`], 'copy annexed content to the vault\'s cloud');
    if (v.config.sync_gets_content) await v.t.annex(repo, ['get', '--quiet', `--from=${SPECIAL_REMOTE}`], 'get annexed content from the vault\'s cloud');
    if (upstream) {
      const has = await v.t.run('git', ['rev-parse', '--verify', '-q', `refs/remotes/${remote}/git-annex`], { cwd: repo, what: 'look for the remote\'s git-annex branch', ok: [1] });
      if (has.code === 0 || sent > 0) await v.t.run('git', ['push', '-q', remote, 'git-annex'], { cwd: repo, what: `push the git-annex branch to ${remote}`, ok: [1] });
    }
  }
  const head = (await v.t.run('git', ['rev-parse', 'HEAD'], { cwd: repo, what: 'read HEAD', ok: [128] })).stdout.trim();
  return { repo, upstream, received, sent, conflicts, annex: annexed, head };
}

/**
 * Whether the vault keeps files of this repository (`ferry vault add` ran in it: `ferry.vault` in its
 * git config, or the `ferry-vault` remote of a clone): only then does `sync` there act on it.
 */
export async function keepsVaultFiles(v: Vault, repo: string): Promise<boolean> {
  for (const key of ['ferry.vault', `remote.${SPECIAL_REMOTE}.annex-uuid`]) {
    const r = await v.t.run('git', ['config', '--get', key], { cwd: repo, what: 'look for the vault in the repository', ok: [1] });
    if (r.stdout.trim() !== '') return true;
  }
  return false;
}
