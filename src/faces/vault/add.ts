import { lstat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { entryFromStats, type FileEntry } from '../../core/entry.js';
import { errnoCode, FerryError } from '../../core/errors.js';
import { mapLimit } from '../../core/map-limit.js';
import { transferList, type ListedFile } from '../../engine/list-backlog.js';
import { LocalTarget } from '../../targets/local.js';
import { LocalTree } from '../../targets/local-tree.js';
import { loadPreferences } from './config.js';
import { decideFile, RepoFinder, type Decided, type DecisionSettings } from './context.js';
import { commitArgs } from './merge.js';
import { ensureRepoAnnex } from './repo-annex.js';
import { CLOUD, SPECIAL_REMOTE, type Vault } from './vault.js';

export interface AddOptions {
  dryRun?: boolean;
  message?: string;
  onFile?: (d: Decided, done: number, total: number) => void;
}

export interface AddReport {
  files: Decided[];
  /** Commits made, by repository. */
  commits: Array<{ repo: string; files: number; commit: string }>;
  backedUp: number;
  dryRun: boolean;
}

export function settingsOf(v: Vault): DecisionSettings {
  return { managed: v.managed, device: v.device, config: v.config, rules: loadPreferences(v.managed).rules };
}

/** The files named, directories walked (nothing below a .git), each with the path it is added as. */
/** A file found for an add: its path, the path it is added as, and where it is read from (a tree and its path there). */
export interface Found {
  path: string;
  addedAs?: string;
  /** The tree it is read from: the directory named, or the parent of a directory walked. */
  root: string;
  rel: string;
  entry: FileEntry;
}

/** The files named, directories walked (nothing below a .git), each with the path it is added as. */
export async function expand(paths: readonly string[]): Promise<Found[]> {
  const out: Found[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    if (abs.split(sep).includes('.git')) throw new FerryError('USAGE', `${p} is inside a .git directory: git's own files are not added.`);
    let st;
    try {
      st = await lstat(abs, { bigint: true });
    } catch (e) {
      throw new FerryError('USAGE', errnoCode(e) === 'ENOENT' ? `${p} does not exist.` : `${p} cannot be read: ${(e as Error).message}.`);
    }
    if (!st.isDirectory()) {
      out.push({ path: abs, root: dirname(abs), rel: basename(abs), entry: entryFromStats(basename(abs), st) });
      continue;
    }
    const parent = dirname(abs);
    for await (const batch of new LocalTree(abs).list()) {
      for (const e of batch.entries) {
        if (e.kind !== 'file' || e.rel.split('/').includes('.git')) continue;
        const path = join(abs, e.rel);
        const addedAs = relative(parent, path).split(sep).join('/');
        out.push({ path, addedAs, root: parent, rel: addedAs, entry: e });
      }
      const err = batch.errors[0];
      if (err) throw new FerryError('USAGE', `${join(abs, err.rel)} cannot be read: ${err.message}.`);
    }
  }
  return out;
}

/**
 * Copies the files bound for the managed repository into it through the engine's transfer (the
 * one pipeline: small files written whole and flushed together, large ones streamed, each landing
 * whole under its name), one transfer per tree they are read from. The first failure stops the add
 * before anything is committed.
 */
async function copyIntoManaged(v: Vault, files: Array<{ found: Found; destination: string }>): Promise<void> {
  const byRoot = new Map<string, ListedFile[]>();
  for (const { found, destination } of files) {
    const list = byRoot.get(found.root) ?? [];
    list.push({ sourceRel: found.rel, destRel: destination, entry: found.entry });
    byRoot.set(found.root, list);
  }
  const managed = new LocalTarget(v.managed);
  for (const [root, list] of byRoot) {
    const outcomes = await transferList(new LocalTree(root), managed, list, { algorithm: null, timeToleranceNs: 1_000n });
    for (const f of list) {
      const o = outcomes.get(f.sourceRel);
      if (!o || !o.ok) {
        throw new FerryError('USAGE', `${join(root, f.sourceRel)} could not be copied to ${f.destRel} in the managed repository: ${o && !o.ok ? o.error : 'it was not copied'}.`);
      }
    }
  }
}

async function commit(v: Vault, repo: string, files: string[], message: string): Promise<string | undefined> {
  const staged = (await v.t.git(repo, ['diff', '--cached', '--name-only', '-z', '--no-renames'], 'see what is staged')).split('\0').filter(Boolean);
  if (staged.length === 0) return undefined; // the same content again: nothing to commit
  const ours = new Set(files);
  // Only these files: what else the user had staged stays staged (a commit with paths; slower, so only then).
  const only = staged.some((p) => !ours.has(p)) ? ['--', ...files] : [];
  if (only.length && !staged.some((p) => ours.has(p))) return undefined;
  await v.t.git(repo, ['commit', '-q', ...commitArgs(message, v.device), ...only], 'commit the added files');
  return (await v.t.git(repo, ['rev-parse', '--short', 'HEAD'], 'read the commit')).trim();
}

/**
 * Refuses, before anything is written, an add that would lose something in the managed
 * repository: two files of this add with one destination, or a destination there that has edits
 * not committed or is not tracked (a tracked, committed one gets a new version: the old stays in
 * history).
 */
async function checkDestinations(v: Vault, files: Decided[]): Promise<void> {
  const seen = new Map<string, string>();
  for (const d of files) {
    if (d.decision.where !== 'managed') continue;
    const other = seen.get(d.decision.destination);
    if (other) {
      throw new FerryError('USAGE', `${other} and ${d.path} would both be ${d.decision.destination} in the managed repository.`, { hint: 'add the directories they are in (their paths are kept below it), or give one a rule with its own destination' });
    }
    seen.set(d.decision.destination, d.path);
  }
  if (seen.size === 0) return;
  const status = await v.t.git(v.managed, ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--ignored'], 'read the managed repository\'s status');
  const dirty = new Map<string, string>();
  for (const rec of status.split('\0')) if (rec.length > 3) dirty.set(rec.slice(3), rec.slice(0, 2));
  for (const [dest, from] of seen) {
    const state = dirty.get(dest);
    if (state === undefined) continue;
    const what = state === '??' ? 'a file that is not versioned' : state === '!!' ? 'a file the repository ignores' : 'edits that are not committed';
    throw new FerryError('USAGE', `${dest} in the managed repository has ${what}; adding ${from} would replace it.`, { hint: '`ferry vault sync` commits edits; move an unversioned file away first' });
  }
}

const chunks = <T>(xs: T[], n = 200): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

/**
 * `ferry vault add PATH…`: each file decided on its own (decide.ts), then the seed's routes, one
 * batch per repository and tool: git add + commit; git annex add + commit + copy to the cloud; a
 * copy into the managed repository (temp + rename) then the same; rclone copy to backups/. With
 * `dryRun` only the decisions. Files of the user's repositories are committed there, not moved.
 */
export async function add(v: Vault, paths: readonly string[], options: AddOptions = {}): Promise<AddReport> {
  if (paths.length === 0) throw new FerryError('USAGE', 'ferry vault add needs at least one PATH.');
  const settings = settingsOf(v);
  const repos = new RepoFinder(v.t);
  const expanded = await expand(paths);
  await repos.prefetch(expanded.map((f) => f.path));
  const files = await mapLimit(expanded, 16, (f) => decideFile(f.path, settings, repos, f.addedAs));
  const report: AddReport = { files, commits: [], backedUp: 0, dryRun: options.dryRun === true };
  await checkDestinations(v, files);
  if (options.dryRun) return report;

  // Into the managed repository first (a copy there), then everything is "a file in a repository".
  const groups = new Map<string, { git: string[]; annex: string[] }>();
  const group = (repo: string) => groups.get(repo) ?? (groups.set(repo, { git: [], annex: [] }).get(repo)!);
  let done = 0;
  await mapLimit(files, 8, async (d) => {
    if (d.decision.where === 'backups') {
      await v.t.rclone(['copyto', d.path, v.cloud(`${CLOUD.backups}/${d.decision.destination}`)], `back up ${d.path}`);
      report.backedUp++;
      options.onFile?.(d, ++done, files.length);
    }
  });
  await copyIntoManaged(v, files.flatMap((d, i) => (d.decision.where === 'managed' ? [{ found: expanded[i]!, destination: d.decision.destination }] : [])));
  const last = files[files.length - 1];
  if (last) options.onFile?.(last, files.length, files.length);
  for (const d of files) {
    if (d.decision.where === 'backups') continue;
    const repo = d.decision.where === 'repo' ? d.repo!.root : v.managed;
    (d.decision.tool === 'git' ? group(repo).git : group(repo).annex).push(d.decision.destination);
  }
  for (const [repo, g] of groups) {
    // `sync` inside this repository acts on it from now on (repo-sync.ts).
    if (repo !== v.managed) await v.t.git(repo, ['config', 'ferry.vault', v.managed], 'mark the repository as one the vault keeps files of');
    const nul = (paths: string[]): string => paths.map((p) => `${p}\0`).join('');
    // Into git as they are: git-annex's filter would only pass them through, one pipe round trip per file.
    const plain = ['-c', 'annex.largefiles=nothing', '-c', 'filter.annex.process=', '-c', 'filter.annex.clean=', '-c', 'filter.annex.smudge='];
    if (g.git.length) await v.t.git(repo, [...plain, 'add', '--pathspec-from-file=-', '--pathspec-file-nul'], 'add the files to git', { input: nul(g.git) });
    if (g.annex.length) {
      await ensureRepoAnnex(v, repo);
      for (const part of chunks(g.annex, 2000)) await v.t.annex(repo, ['add', '--force-large', '--quiet', '--', ...part], 'add the large files to git-annex');
    }
    const all = [...g.git, ...g.annex];
    const message = options.message ?? `ferry vault add: ${all.length === 1 ? all[0] : `${all.length} files`}`;
    const id = await commit(v, repo, all, message);
    if (id) report.commits.push({ repo, files: all.length, commit: id });
    for (const part of chunks(g.annex)) await v.t.annex(repo, ['copy', '--quiet', `--to=${SPECIAL_REMOTE}`, '--', ...part], 'copy the large files to the cloud');
  }
  return report;
}
