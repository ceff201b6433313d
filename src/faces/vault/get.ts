import { existsSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { FerryError } from '../../core/errors.js';
import { transferList } from '../../engine/list-backlog.js';
import { LocalTree } from '../../targets/local-tree.js';
import { LocalTarget } from '../../targets/local.js';
import { listCloud } from './cloud.js';
import { readDedupeRecords, type DedupeRecord } from './dedupe.js';
import { ensureRepoAnnex } from './repo-annex.js';
import { sync } from './sync.js';
import { CLOUD, gitTop, type Vault } from './vault.js';

export interface Got {
  path: string;
  /** How it was brought here. */
  by: 'git' | 'git-annex' | 'rclone' | 'here';
  from?: string;
}

/** The nearest existing directory of `dir` (a file's directory may be gone too). */
function existingDir(dir: string): string {
  let d = dir;
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  return d;
}

async function isTracked(v: Vault, repo: string, rel: string, ref = 'HEAD'): Promise<boolean> {
  const r = await v.t.run('git', ['cat-file', '-e', `${ref}:${rel}`], { cwd: repo, what: 'look the file up', ok: [1, 128] });
  return r.code === 0;
}

async function isAnnexed(v: Vault, repo: string, rel: string): Promise<boolean> {
  const r = await v.t.run('git-annex', ['lookupkey', '--', rel], { cwd: repo, what: 'look the file up in git-annex', ok: [1] });
  return r.code === 0;
}

/** Where a file from outside the repositories was backed up: backups/<device>/<its path from home>. */
function backupCandidates(v: Vault, abs: string, arg: string): string[] {
  const home = homedir();
  const fromHome = abs.startsWith(`${home}/`) ? abs.slice(home.length + 1) : abs.replace(/^\/+/, '');
  const c = [`${v.device}/${fromHome}`];
  if (!arg.startsWith('/') && !arg.startsWith('.')) c.push(arg.replace(/^backups\//, ''));
  return c;
}

/** A backup name `dedupe --apply` removed: its bytes are the annexed key recorded with it, fetched by that key. */
async function fromDeduped(v: Vault, rec: DedupeRecord, dest: string): Promise<Got> {
  if (existsSync(dest)) throw new FerryError('USAGE', `${dest} exists; it was not overwritten.`, { hint: 'move it away first' });
  await v.t.annex(v.managed, ['get', '--quiet', `--key=${rec.key}`], `get the content of ${rec.name}`);
  const source = join(v.managed, (await v.t.annex(v.managed, ['contentlocation', rec.key], `find the content of ${rec.name}`)).trim());
  const st = await lstat(source, { bigint: true });
  const listed = [{ sourceRel: basename(source), destRel: basename(dest), entry: { size: st.size, mtimeNs: st.mtimeNs } }];
  const moved = (await transferList(new LocalTree(dirname(source)), new LocalTarget(dirname(dest)), listed, { algorithm: 'sha256', timeToleranceNs: 1_000n })).get(basename(source));
  if (!moved?.ok) throw new FerryError('USAGE', `${rec.name} could not be written to ${dest}: ${moved && !moved.ok ? moved.error : 'it was not copied'}.`);
  if (moved.hash !== rec.sha256) throw new FerryError('USAGE', `The content of ${rec.key} is not what ${rec.name} held (sha256 ${moved.hash}, recorded ${rec.sha256}).`);
  return { path: dest, by: 'git-annex', from: `${rec.key} (${rec.name} was deduplicated)` };
}

/**
 * `ferry vault get FILE…`, the retrieval each tool needs: a file of the managed repository is pulled
 * (a sync) and restored when missing, one of another repository is pulled from its upstream; its
 * annexed content is then fetched with git annex get; a file kept in backups/ is copied back with
 * rclone. A local file that differs from the backup is never overwritten.
 */
export async function get(v: Vault, files: readonly string[]): Promise<Got[]> {
  if (files.length === 0) throw new FerryError('USAGE', 'ferry vault get needs at least one FILE.');
  const got: Got[] = [];
  let pulled = false;
  for (const arg of files) {
    const abs = resolve(arg);
    const repo = await gitTop(v.t, existingDir(dirname(abs)));
    const rel = repo ? relative(repo, abs).split(sep).join('/') : undefined;
    if (repo && rel && !rel.startsWith('..')) {
      // A tracked file missing here is restored before the pull: a sync would commit its absence.
      const missing = !existsSync(abs) && (await isTracked(v, repo, rel));
      if (missing) await v.t.git(repo, ['checkout', 'HEAD', '--', rel], 'restore the file');
      if (repo === v.managed && !pulled) {
        await sync(v, { getContent: false });
        pulled = true;
      } else if (repo !== v.managed) {
        const up = await v.t.run('git', ['rev-parse', '--abbrev-ref', '@{upstream}'], { cwd: repo, what: 'find the upstream', ok: [128] });
        if (up.code === 0) await v.t.git(repo, ['pull', '-q', '--ff-only'], 'pull from the upstream');
      }
      if (repo !== v.managed) {
        // A clone of a repository whose files the vault keeps: git-annex there, with the vault's cloud enabled.
        const branch = await v.t.run('git', ['for-each-ref', '--count=1', '--format=%(refname)', 'refs/heads/git-annex', 'refs/remotes/*/git-annex'], { cwd: repo, what: 'look for git-annex' });
        if (branch.stdout.trim() !== '') await ensureRepoAnnex(v, repo);
      }
      if (await isTracked(v, repo, rel)) {
        if (!existsSync(abs)) await v.t.git(repo, ['checkout', 'HEAD', '--', rel], 'restore the file');
        if (await isAnnexed(v, repo, rel)) {
          await v.t.annex(repo, ['get', '--quiet', '--', rel], `get ${rel}`);
          got.push({ path: abs, by: 'git-annex' });
        } else got.push({ path: abs, by: 'git' });
        continue;
      }
    }
    let found: string | undefined;
    for (const c of backupCandidates(v, abs, arg)) {
      const there = await listCloud(v.t, v.cloud(`${CLOUD.backups}/${c}`), 'look for the file in the backups', { filesOnly: true });
      if (there.length === 1 && !there[0]!.IsDir) {
        found = c;
        break;
      }
    }
    if (!found) {
      const records = await readDedupeRecords(v);
      const rec = backupCandidates(v, abs, arg).map((c) => records.find((r) => r.name === `${CLOUD.backups}/${c}`)).find(Boolean);
      if (!rec) throw new FerryError('USAGE', `${arg} is in no repository of the vault and not in its backups.`, { hint: '`ferry vault versions` lists what the vault keeps' });
      got.push(await fromDeduped(v, rec, abs));
      continue;
    }
    const dest = arg.startsWith('/') || arg.startsWith('.') || existsSync(dirname(abs)) ? abs : resolve(found.split('/').pop()!);
    if (existsSync(dest)) {
      const r = await v.t.run('rclone', ['check', '--one-way', '--include', `/${dest.split('/').pop()}`, dirname(dest), v.cloud(`${CLOUD.backups}/${dirname(found)}`)], { what: 'compare with the backup', ok: [1] });
      if (r.code !== 0) throw new FerryError('USAGE', `${dest} exists and differs from its backup; it was not overwritten.`, { hint: 'move it away first' });
      got.push({ path: dest, by: 'here', from: `${CLOUD.backups}/${found}` });
      continue;
    }
    await v.t.rclone(['copyto', v.cloud(`${CLOUD.backups}/${found}`), dest], `copy ${found} back from the backups`);
    got.push({ path: dest, by: 'rclone', from: `${CLOUD.backups}/${found}` });
  }
  return got;
}
