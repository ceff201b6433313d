import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { listCloud } from './cloud.js';
import { CLOUD, CLOUD_GIT, MIRROR_DIR, type Tools, type Vault } from './vault.js';

/**
 * Git has no rclone transport, so the cloud keeps a bare repository (managed/) that devices change
 * only while they hold the vault lock. A device works on a copy of it inside its own .git
 * (`.git/ferry/cloud.git`, the git remote `ferry-cloud`): it downloads it, fetches from it, merges,
 * pushes into it, and uploads what changed: objects first, refs last, so the cloud never names a
 * commit it does not have. The copy never packs or prunes (gc.auto 0): every file once uploaded
 * stays as it was, and a ref is a file of its own.
 */
export function mirrorPath(managed: string): string {
  return join(managed, MIRROR_DIR);
}

/** What the cloud's refs are now (names, sizes, times), in one listing: to see whether anyone pushed since. */
export async function cloudRefs(v: Vault): Promise<string> {
  const refs = await listCloud(v.t, v.cloud(CLOUD.managed), 'list the cloud repository\'s refs', { recursive: true, filesOnly: true, include: ['/refs/**', '/packed-refs'] });
  return JSON.stringify(refs.map((e) => [e.Path, e.Size, e.ModTime]).sort());
}

/** Whether the cloud has a vault repository yet. */
export async function cloudHasRepo(t: Tools, managedCloud: string): Promise<boolean> {
  const top = await listCloud(t, managedCloud, 'look for the vault in the cloud', { filesOnly: true });
  return top.some((e) => e.Name === 'HEAD');
}

/** Makes the local copy equal to the cloud's repository (it is only ever a copy: nothing of its own is lost). A push arrives as one pack file (transfer.unpackLimit 1): few files to upload.. */
export async function download(v: Vault): Promise<void> {
  const mirror = mirrorPath(v.managed);
  await v.t.rclone(['sync', v.cloud(CLOUD.managed), mirror, '--exclude', '/refs/**', '--create-empty-src-dirs'], 'download the vault\'s git repository from the cloud');
  // Every ref is a 41-byte file: compared by size (where a remote keeps no times) a moved ref would
  // look unchanged, so refs are always copied.
  await v.t.rclone(['sync', v.cloud(`${CLOUD.managed}/refs`), join(mirror, 'refs'), '--ignore-times', '--create-empty-src-dirs'], 'download the vault\'s refs from the cloud');
}

/** Sends what the local copy has that the cloud does not: everything but refs, then the refs. */
export async function upload(v: Vault): Promise<void> {
  const mirror = mirrorPath(v.managed);
  await v.t.rclone(['copy', mirror, v.cloud(CLOUD.managed), '--exclude', '/refs/**', '--create-empty-src-dirs'], 'upload the vault\'s git objects to the cloud');
  await v.t.rclone(['copy', join(mirror, 'refs'), v.cloud(`${CLOUD.managed}/refs`), '--ignore-times', '--create-empty-src-dirs'], 'upload the vault\'s refs to the cloud');
}

/** Creates the local copy for a new vault: a bare repository that never packs, and the remote naming it. */
export async function createMirror(t: Tools, managed: string, branch: string): Promise<void> {
  const mirror = mirrorPath(managed);
  if (!existsSync(join(mirror, 'HEAD'))) await t.git(managed, ['init', '-q', '--bare', `--initial-branch=${branch}`, mirror], 'create the local copy of the cloud repository');
  await configureMirror(t, managed);
}

/** The settings that keep the copy file-stable, and the git remote that names it (git-annex leaves it alone). */
export async function configureMirror(t: Tools, managed: string): Promise<void> {
  const mirror = mirrorPath(managed);
  for (const [k, val] of [['gc.auto', '0'], ['receive.autogc', 'false'], ['core.logAllRefUpdates', 'false'], ['transfer.unpackLimit', '1']] as const) {
    await t.git(mirror, ['config', k, val], 'configure the local copy of the cloud repository');
  }
  const has = await t.run('git', ['remote', 'get-url', CLOUD_GIT], { cwd: managed, what: 'read the cloud remote', ok: [2] });
  if (has.code !== 0) await t.git(managed, ['remote', 'add', CLOUD_GIT, mirror], 'add the cloud remote');
  else await t.git(managed, ['remote', 'set-url', CLOUD_GIT, mirror], 'set the cloud remote');
  await t.git(managed, ['config', `remote.${CLOUD_GIT}.annex-ignore`, 'true'], 'configure the cloud remote');
}
