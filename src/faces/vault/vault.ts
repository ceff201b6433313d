import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configDir } from '../../core/defaults.js';
import { errnoCode, FerryError } from '../../core/errors.js';
import { runTool, type ToolName, type ToolResult, type ToolRun } from '../../engine/tool-run.js';
import { loadVaultConfig, writeJsonFile, type VaultConfig } from './config.js';

/** The special remote's name in every repository the vault serves (git-annex's view of the cloud). */
export const SPECIAL_REMOTE = 'ferry-vault';
/** The git remote that is the local copy of the cloud's bare repository. */
export const CLOUD_GIT = 'ferry-cloud';
/** Where that copy lives inside the managed repository's .git. */
export const MIRROR_DIR = '.git/ferry/cloud.git';
export const BRANCH = 'main';

/** The cloud's layout below REMOTE:PATH (seed 002). */
export const CLOUD = {
  managed: 'managed',
  annex: 'git-annex-storage',
  annexTmp: 'git-annex-storage/tmp',
  devices: 'coordination/devices',
  locks: 'coordination/locks',
  backups: 'backups',
} as const;

/** ferry's bin/ (git-annex finds `git-annex-remote-ferry` there). */
const BIN_DIR = fileURLToPath(new URL('../../../bin', import.meta.url));

let identity: NodeJS.ProcessEnv | undefined;
/** A git identity for ferry's commits when the user has none configured (a fresh machine): git would refuse to commit. */
function fallbackIdentity(): NodeJS.ProcessEnv {
  if (identity) return identity;
  const has = (key: string): boolean => spawnSync('git', ['config', '--get', key], { encoding: 'utf8' }).stdout?.trim() !== '';
  const name = `ferry vault on ${defaultDevice()}`;
  const email = `ferry@${defaultDevice()}`;
  identity = {};
  if (!has('user.name')) Object.assign(identity, { GIT_AUTHOR_NAME: name, GIT_COMMITTER_NAME: name });
  if (!has('user.email')) Object.assign(identity, { GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_EMAIL: email });
  return identity;
}

/** The environment every tool runs in: ferry's special remote on the PATH, git never asking on a terminal. */
export function toolEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  // Paths given to git are paths, never globs: `git add -- 'a*.txt'` must not pick up api-keys.txt.
  return { ...fallbackIdentity(), ...env, PATH: `${BIN_DIR}${delimiter}${env.PATH ?? '/usr/bin:/bin'}`, GIT_TERMINAL_PROMPT: '0', GIT_MERGE_AUTOEDIT: 'no', GIT_LITERAL_PATHSPECS: '1' };
}

/** Runs git, git-annex or rclone for the vault (an rclone path is given whole: "cloud:vault/managed"). */
export interface Tools {
  run(tool: ToolName, args: readonly string[], run: ToolRun): Promise<ToolResult>;
  git(cwd: string, args: readonly string[], what: string, more?: Partial<ToolRun>): Promise<string>;
  annex(cwd: string, args: readonly string[], what: string, more?: Partial<ToolRun>): Promise<string>;
  rclone(args: readonly string[], what: string, more?: Partial<ToolRun>): Promise<string>;
}

export function tools(env: NodeJS.ProcessEnv = toolEnv()): Tools {
  const run = (tool: ToolName, args: readonly string[], r: ToolRun): Promise<ToolResult> => runTool(tool, args, { env, ...r });
  return {
    run,
    git: async (cwd, args, what, more) => (await run('git', args, { cwd, what, ...more })).stdout,
    annex: async (cwd, args, what, more) => (await run('git-annex', args, { cwd, what, ...more })).stdout,
    rclone: async (args, what, more) => (await run('rclone', args, { what, ...more })).stdout,
  };
}

/** An opened vault: its managed repository, its cloud, this device. */
export interface Vault {
  managed: string;
  remote: string;
  device: string;
  config: VaultConfig;
  t: Tools;
  /** A path in the cloud: `cloud("managed")` → "cloud:vault/managed". */
  cloud(sub?: string): string;
}

/** `$XDG_CONFIG_HOME/ferry/vault.json`: where the managed directory is, so every command finds it. */
export function registryPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'vault.json');
}

export async function recordManaged(managed: string): Promise<void> {
  await writeJsonFile(registryPath(), { managed });
}

export function defaultDevice(): string {
  return hostname().replace(/[^\w.-]+/g, '-') || 'device';
}

/** The managed directory: `--managed`, else the one `init` recorded. */
export function managedDir(option?: string): string {
  if (option) return resolve(option);
  try {
    const v = JSON.parse(readFileSync(registryPath(), 'utf8')) as { managed?: unknown };
    if (typeof v.managed === 'string') return v.managed;
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw new FerryError('CONFIG', `Cannot read ${registryPath()}: ${(e as Error).message}.`);
  }
  throw new FerryError('CONFIG', 'No vault is set up on this machine.', { hint: 'run `ferry vault init --remote REMOTE:PATH` first, or pass --managed DIR' });
}

export function cloudPath(remote: string, sub?: string): string {
  return sub ? `${remote.replace(/\/+$/, '')}/${sub}` : remote;
}

/** Opens the vault whose managed repository is `--managed` or the recorded one. */
export async function openVault(option?: string, t: Tools = tools()): Promise<Vault> {
  const managed = managedDir(option);
  if (!existsSync(join(managed, '.ferry', 'config.json')) || !existsSync(join(managed, '.git'))) {
    throw new FerryError('CONFIG', `${managed} is not a ferry vault (it has no .git and .ferry/config.json).`, { hint: 'run `ferry vault init --remote REMOTE:PATH --managed DIR`' });
  }
  const config = loadVaultConfig(managed);
  const remote = (await t.git(managed, ['config', '--get', 'ferry.remote'], 'read the vault\'s remote', { ok: [1] })).trim();
  const device = (await t.git(managed, ['config', '--get', 'ferry.device'], 'read the device name', { ok: [1] })).trim();
  if (!remote || !device) throw new FerryError('CONFIG', `${managed} has no ferry.remote or ferry.device in its git config; run \`ferry vault init\` again.`);
  return { managed, remote, device, config, t, cloud: (sub) => cloudPath(remote, sub) };
}

/** The top of the git work tree `dir` is in, or undefined. */
export async function gitTop(t: Tools, dir: string): Promise<string | undefined> {
  const r = await t.run('git', ['rev-parse', '--show-toplevel'], { cwd: dir, what: 'find the repository', ok: [128] });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** Commits in a range of a repository ("a..b"); 0 when a side of it does not exist yet. */
export async function countCommits(t: Tools, repo: string, range: string): Promise<number> {
  const r = await t.run('git', ['rev-list', '--count', range], { cwd: repo, what: 'count commits', ok: [128] });
  return r.code === 0 ? Number(r.stdout.trim()) : 0;
}
