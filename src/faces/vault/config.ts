import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { errnoCode, FerryError } from '../../core/errors.js';
import { writeFileWhole } from '../../engine/write-file-whole.js';

/** Sizes in the vault's files are decimal, as git-annex's `largerthan=10mb`: "10MB" = 10,000,000 bytes. */
const UNITS: Record<string, number> = { '': 1, B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3, TIB: 1024 ** 4 };

/** "10MB", "1.5 GB", "512KiB" or a plain number of bytes; undefined when it is none of those. */
export function parseVaultSize(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isSafeInteger(text) && text >= 0 ? text : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Math.floor(Number(m[1]) * UNITS[(m[2] ?? '').toUpperCase()]!);
  return Number.isSafeInteger(n) ? n : undefined;
}

const size = z.union([z.string(), z.number()]).refine((v) => parseVaultSize(v) !== undefined, { message: 'a size such as "10MB" or a number of bytes' });

/** `.ferry/config.json`: the seed's thresholds, paths and patterns, committed with the vault. */
export const VaultConfigSchema = z.strictObject({
  version: z.literal(1).default(1),
  /** In a git repository, files below this go to git, the rest to git-annex (seed: 10 MB). */
  git_max_size: size.default('10MB'),
  /** Outside one, files below this go to the managed repository, the rest to rclone backups (seed: 100 MB). */
  managed_max_size: size.default('100MB'),
  /** Configuration files (gitignore-style globs; `~/` is the home directory): the managed repo's configs/. */
  config_paths: z.array(z.string()).default(['~/.ssh/**', '~/.config/**', '~/.gitconfig', '~/.bashrc', '~/.profile', '~/.zshrc', '~/.vimrc', '~/.tmux.conf', '~/.*rc', '/etc/**']),
  /** Temporary and cache files: sent with rclone, never versioned, and what `clean` removes. */
  temp_patterns: z.array(z.string()).default(['*.tmp', '*.temp', '*.swp', '*.swo', '*~', '*.part', '*.partial', '*.crdownload', '.DS_Store', 'Thumbs.db', '*.pyc', '__pycache__/', '.cache/', '.pytest_cache/', '*.o']),
  /** git-annex's numcopies for the vault: what must be verified live before anything local is dropped. */
  numcopies: z.number().int().min(1).max(100).default(1),
  /** How long a vault lock lasts unless renewed (it is renewed every third of it while held). */
  lock_ttl_seconds: z.number().int().min(2).max(86_400).default(120),
  /** How long `sync` waits for another device's lock before it gives up (`--wait` overrides). */
  lock_wait_seconds: z.number().int().min(0).max(86_400).default(60),
  /** Whether `sync` fetches the annexed content of files it does not have (the cloud keeps it anyway). */
  sync_gets_content: z.boolean().default(true),
});
export type VaultConfig = z.infer<typeof VaultConfigSchema>;

/** One user rule of `tool-preferences.json`: every condition given must hold; the first that does wins. */
export const ToolRuleSchema = z.strictObject({
  /** gitignore-style globs matched against the path (from the repository's top inside one, else the absolute path). */
  path: z.union([z.string(), z.array(z.string())]).optional(),
  /** MIME globs: "image/*", "text/*". */
  type: z.union([z.string(), z.array(z.string())]).optional(),
  min_size: size.optional(),
  max_size: size.optional(),
  tool: z.enum(['git', 'git-annex', 'rclone']),
  /** For the managed repository: the directory it goes to ("documents/notes"); for rclone, below backups/<device>/. */
  destination: z.string().optional(),
  /** Said in `explain`. */
  note: z.string().optional(),
});
export type ToolRule = z.infer<typeof ToolRuleSchema>;

export const ToolPreferencesSchema = z.strictObject({
  $comment: z.string().optional(),
  rules: z.array(ToolRuleSchema).default([]),
});
export type ToolPreferences = z.infer<typeof ToolPreferencesSchema>;

/** `.ferry/sync-status.json`: this device's last sync (not committed). */
export interface SyncStatus {
  device: string;
  last_sync?: string;
  last_result?: 'ok' | 'conflicts' | 'failed';
  head?: string;
  conflicts?: string[];
  /** Why the last attempt failed, and when (last_sync stays the last one that worked). */
  message?: string;
  failed_at?: string;
}

export const FERRY_DIR = '.ferry';
export const CONFIG_FILE = `${FERRY_DIR}/config.json`;
export const PREFERENCES_FILE = `${FERRY_DIR}/tool-preferences.json`;
export const STATUS_FILE = `${FERRY_DIR}/sync-status.json`;

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return {};
    throw new FerryError('CONFIG', `Cannot read ${path}: ${(e as Error).message}.`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FerryError('CONFIG', `${path} is not valid JSON: ${(e as Error).message}.`);
  }
}

function parseWith<T>(schema: z.ZodType<T>, path: string, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const where = issue.path.length ? issue.path.join('.') : 'the file';
  throw new FerryError('CONFIG', `${path}: ${where}: ${issue.message}.`, { hint: 'see docs/vault.md for the fields and their defaults' });
}

export function loadVaultConfig(managed: string): VaultConfig {
  const path = join(managed, CONFIG_FILE);
  return parseWith(VaultConfigSchema, path, readJson(path));
}

export function loadPreferences(managed: string): ToolPreferences {
  const path = join(managed, PREFERENCES_FILE);
  return parseWith(ToolPreferencesSchema, path, readJson(path));
}

export function readSyncStatus(managed: string): SyncStatus | undefined {
  const v = readJson(join(managed, STATUS_FILE)) as Partial<SyncStatus>;
  return typeof v.device === 'string' ? (v as SyncStatus) : undefined;
}

export async function writeJsonFile(path: string, value: unknown): Promise<void> {
  await writeFileWhole(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** A size of the config as bytes (the schema has checked it parses). */
export function bytes(v: string | number): number {
  return parseVaultSize(v)!;
}
