import { CLOUD, SPECIAL_REMOTE, type Vault } from './vault.js';

/**
 * Makes a repository able to keep annexed files in the vault's cloud: git-annex initialised in it
 * (when it is not), and the vault's special remote enabled (when its git-annex branch knows it) or
 * set up, storing keys beside the managed repository's (the same content is one key, kept once).
 */
export async function ensureRepoAnnex(v: Vault, repo: string): Promise<void> {
  if (repo === v.managed) return;
  const uuid = await v.t.run('git', ['config', '--get', 'annex.uuid'], { cwd: repo, what: 'read the git-annex UUID', ok: [1] });
  if (uuid.stdout.trim() === '') await v.t.annex(repo, ['init', '--quiet', v.device], 'initialise git-annex in the repository');
  const known = await v.t.run('git', ['config', '--get', `remote.${SPECIAL_REMOTE}.annex-uuid`], { cwd: repo, what: 'look for the vault remote', ok: [1] });
  if (known.stdout.trim() !== '') return;
  const enabled = await v.t.run('git-annex', ['enableremote', SPECIAL_REMOTE], { cwd: repo, what: 'enable the vault remote', ok: [1] });
  if (enabled.code === 0) return;
  await v.t.annex(repo, ['initremote', SPECIAL_REMOTE, 'type=external', 'externaltype=ferry', 'encryption=none', `target=${v.cloud(CLOUD.annex)}`, 'autoenable=true'], 'set up the vault\'s cloud as a git-annex special remote');
}
