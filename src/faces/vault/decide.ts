import { basename, posix } from 'node:path';
import { bytes, type ToolRule, type VaultConfig } from './config.js';
import { globMatch } from '../../engine/content-type.js';
import { firstMatch } from './globs.js';

export type Tool = 'git' | 'git-annex' | 'rclone';

/** Everything the decision looks at, gathered beforehand (context.ts): the decision itself reads nothing. */
export interface DecisionContext {
  /** The file, absolute. */
  path: string;
  size: number;
  /** Its type from its content (the engine's detector): "text/plain", "image/jpeg". */
  mime: string;
  /** A script: a `#!` line, a script type, or an executable text file. */
  script: boolean;
  home: string;
  /** This device's name: rclone backups go below backups/<device>/. */
  device: string;
  /** The git repository the file is in (the managed one or the user's), with the path from its top. */
  repo?: { root: string; rel: string; managed: boolean };
  /** For a file found inside a directory being added outside any repository: its path from that directory's parent. */
  addedAs?: string;
  config: VaultConfig;
  rules: readonly ToolRule[];
}

export interface Decision {
  tool: Tool;
  /** `repo`: the repository the file is in; `managed`: copied into the managed repository; `backups`: the cloud, not versioned. */
  where: 'repo' | 'managed' | 'backups';
  /** From the top of that repository, or from the cloud's backups/ (device first). */
  destination: string;
  versioned: boolean;
  /** The user rule that decided (0-based), or null when the seed's matrix did. */
  rule: number | null;
  reasons: string[];
}

/** Sizes in decimal units, as the thresholds are written ("12.0 MB" against "10MB"). */
export function decimalSize(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

const formatBytes = decimalSize;

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function ruleMatches(rule: ToolRule, ctx: DecisionContext): string[] | undefined {
  const why: string[] = [];
  const paths = list(rule.path);
  if (paths.length) {
    const hit = firstMatch(paths, { abs: ctx.path, home: ctx.home, rel: ctx.repo?.rel });
    if (!hit) return undefined;
    why.push(`path matches ${hit}`);
  }
  const types = list(rule.type);
  if (types.length) {
    const hit = types.find((t) => globMatch(t, ctx.mime));
    if (!hit) return undefined;
    why.push(`type ${ctx.mime} matches ${hit}`);
  }
  if (rule.min_size !== undefined) {
    if (ctx.size < bytes(rule.min_size)) return undefined;
    why.push(`size ${formatBytes(ctx.size)} ≥ ${rule.min_size}`);
  }
  if (rule.max_size !== undefined) {
    if (ctx.size > bytes(rule.max_size)) return undefined;
    why.push(`size ${formatBytes(ctx.size)} ≤ ${rule.max_size}`);
  }
  return why;
}

/** Where a file from outside the repositories lands in the cloud's backups/: below the device, by its path from home. */
function backupPath(ctx: DecisionContext, under?: string): string {
  const fromHome = ctx.path.startsWith(`${ctx.home}/`) ? ctx.path.slice(ctx.home.length + 1) : ctx.path.replace(/^\/+/, '');
  const name = ctx.repo ? posix.join(basename(ctx.repo.root), ctx.repo.rel) : fromHome;
  return posix.join(ctx.device, under ?? '', under ? (ctx.addedAs ?? basename(ctx.path)) : name);
}

const MEDIA = /^(image|video|audio)\//;
const ARCHIVE = /zip|x-tar|gzip|bzip2|x-xz|7z|rar|zstd|lzip|lz4|x-compress|iso9660|apple-diskimage|cpio|brotli/;

/** The managed repository's directory for a file of this type (the seed's layout). */
function managedDir(ctx: DecisionContext, annexed: boolean): string {
  if (!annexed) return ctx.script ? 'scripts' : 'documents';
  if (MEDIA.test(ctx.mime)) return 'projects/media';
  if (ARCHIVE.test(ctx.mime)) return 'projects/archives';
  return 'projects/datasets';
}

function inManaged(ctx: DecisionContext, dir: string): string {
  return posix.join(dir, ctx.addedAs ?? basename(ctx.path));
}

/**
 * The one decision of the vault (seed 002's tool selection matrix): which tool keeps a file, and
 * where, with the reasons. The user's rules come first; then temp and cache files go with rclone;
 * inside a git repository small files go to git and large ones to git-annex; outside one,
 * configuration files go to the managed repository's configs/, files under the managed size limit
 * into the managed repository (git, or git-annex past the git size limit), larger ones with rclone to
 * the cloud's backups/, not versioned. Pure: the same context gives the same decision.
 */
export function decide(ctx: DecisionContext): Decision {
  const gitMax = bytes(ctx.config.git_max_size);
  const managedMax = bytes(ctx.config.managed_max_size);
  const size = formatBytes(ctx.size);
  const place = (tool: Tool, dir?: string): Pick<Decision, 'where' | 'destination' | 'versioned'> => {
    if (tool === 'rclone') return { where: 'backups', destination: backupPath(ctx, dir), versioned: false };
    if (ctx.repo) return { where: 'repo', destination: ctx.repo.rel, versioned: true };
    return { where: 'managed', destination: inManaged(ctx, dir ?? (tool === 'git' ? managedDir(ctx, false) : managedDir(ctx, true))), versioned: true };
  };

  for (const [i, rule] of ctx.rules.entries()) {
    const why = ruleMatches(rule, ctx);
    if (!why) continue;
    const reasons = [`rule ${i + 1} of tool-preferences.json: ${why.join(', ') || 'it has no conditions'} → ${rule.tool}${rule.note ? ` (${rule.note})` : ''}`];
    return { tool: rule.tool, rule: i, reasons, ...place(rule.tool, rule.destination) };
  }

  const where = ctx.repo ? (ctx.repo.managed ? 'in the managed repository' : `in the git repository ${ctx.repo.root}`) : 'outside any git repository';
  const temp = firstMatch(ctx.config.temp_patterns, { abs: ctx.path, home: ctx.home, rel: ctx.repo?.rel });
  if (temp) {
    return { tool: 'rclone', rule: null, reasons: [`${where}; matches the temp/cache pattern ${temp}: temporary files are not versioned → rclone to backups/`], ...place('rclone') };
  }
  if (ctx.repo) {
    const tool: Tool = ctx.size < gitMax ? 'git' : 'git-annex';
    const cmp = tool === 'git' ? `${size} < ${ctx.config.git_max_size}` : `${size} ≥ ${ctx.config.git_max_size}`;
    const reason = tool === 'git' ? 'small files go straight into git' : 'large files go to git-annex, their content to the cloud';
    return { tool, rule: null, reasons: [`${where}; ${cmp}: ${reason} → ${tool}`], ...place(tool) };
  }
  const config = firstMatch(ctx.config.config_paths, { abs: ctx.path, home: ctx.home });
  if (config) {
    const fromHome = ctx.path.startsWith(`${ctx.home}/`) ? ctx.path.slice(ctx.home.length + 1) : basename(ctx.path);
    const destination = posix.join('configs', ctx.addedAs && !ctx.path.startsWith(`${ctx.home}/`) ? ctx.addedAs : fromHome);
    return { tool: 'git', where: 'managed', destination, versioned: true, rule: null, reasons: [`${where}; a configuration file (matches ${config}) → git in the managed repository's configs/`] };
  }
  if (ctx.size < managedMax) {
    const tool: Tool = ctx.size < gitMax ? 'git' : 'git-annex';
    const kind = tool === 'git' ? (ctx.script ? 'a script' : `a document (${ctx.mime})`) : `${ctx.mime}, ${size} ≥ ${ctx.config.git_max_size}`;
    return {
      tool,
      rule: null,
      reasons: [`${where}; ${size} < ${ctx.config.managed_max_size}: versioned in the managed repository`, `${kind} → ${tool}`],
      ...place(tool),
    };
  }
  return { tool: 'rclone', rule: null, reasons: [`${where}; ${size} ≥ ${ctx.config.managed_max_size}: a large file is backed up, not versioned → rclone to backups/`], ...place('rclone') };
}
