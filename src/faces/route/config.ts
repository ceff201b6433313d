import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { z } from 'zod';
import { FerryError } from '../../core/errors.js';
import { parseDurationNs, parseSize } from '../../core/units.js';
import { keyLines, keyName, lineOf, type KeyPath } from './config-lines.js';
import { BUILTIN_CATEGORIES } from './mime-tables.js';
import { sourceOverlap } from './drives.js';
import { isPgUrl } from '../../store/url.js';
import { configDir, stateDir } from '../../core/defaults.js';
import { defaultLogPath } from '../../engine/job-paths.js';

/** A user rule: every condition given must hold; within a list, any entry may match. */
export interface RouteRule {
  category: string;
  mime: string[];
  extensions: string[];
  minSize?: number;
  maxSize?: number;
}

export interface RouteDrive {
  /** The id written in the drive's marker file at registration. */
  id: string;
  label: string;
  category: string;
  /** Where on the drive deliveries go, relative to its root ("" = the root). */
  folder: string;
  /** The filesystem's UUID and label when the system exposed them at registration. */
  fsUuid?: string;
  fsLabel?: string;
  /** Where the drive was registered: a mount point, or a plain directory for a directory-backed drive. */
  path?: string;
}

export interface RouteConfig {
  /** The configuration file it was read from (absolute). */
  file: string;
  source: string;
  database: string;
  debounceMs: number;
  mountPollMs: number;
  rescanEveryMs: number;
  bwlimit?: number;
  ignore: string[];
  rules: RouteRule[];
  drives: RouteDrive[];
}

/** One problem in a configuration file, with where it is. */
export interface ConfigProblem {
  file: string;
  line?: number;
  key: string;
  message: string;
}

/** Where `ferry route` reads its configuration unless --config (or FERRY_ROUTE_CONFIG) says otherwise. */
export function defaultConfigPath(env = process.env): string {
  if (env.FERRY_ROUTE_CONFIG) return resolve(env.FERRY_ROUTE_CONFIG);
  return join(configDir(env), 'route.toml');
}

export function defaultDatabasePath(env = process.env): string {
  return join(stateDir(env), 'route.db');
}

/** Where route's audit log goes: beside its database (a server's database: beside where the file would be). */
export function routeLogPath(database: string): string | undefined {
  if (database === ':memory:') return undefined;
  return defaultLogPath(isPgUrl(database) ? defaultDatabasePath() : database);
}

const CATEGORY_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const MIME_GLOB = /^[a-z0-9*][a-z0-9.+*-]*\/[a-z0-9*][a-z0-9.+*-]*$/;
const DAY_MS = 24 * 3600_000;

/** The message for a missing key; a key of the wrong type gets zod's own ("takes a string, not a number"). */
const required = (message: string) => (issue: { input: unknown }): string | undefined => (issue.input === undefined ? message : undefined);

const text = z.string().trim().min(1, 'must not be empty');
const schema = z.strictObject({
  source: z.string({ error: required('is required: the directory ferry watches') }).trim().min(1, 'must not be empty'),
  database: text.optional(),
  options: z
    .strictObject({
      debounce: text.optional(),
      mount_poll: text.optional(),
      rescan_every: text.optional(),
      bwlimit: text.optional(),
      ignore: z.array(text).optional(),
    })
    .optional(),
  rule: z
    .array(
      z.strictObject({
        category: z.string({ error: required('is required: the category this rule sends files to') }).trim().toLowerCase().regex(CATEGORY_NAME, 'takes lower-case letters, digits, "-" and "_"'),
        mime: z.array(z.string().trim().toLowerCase().regex(MIME_GLOB, 'takes a MIME type or glob such as "image/*"')).optional(),
        extensions: z.array(text.transform((e) => e.replace(/^\./, '').toLowerCase())).optional(),
        min_size: text.optional(),
        max_size: text.optional(),
      }),
    )
    .optional(),
  drive: z
    .array(
      z.strictObject({
        id: z.string({ error: required('is required (written by `ferry route register-drive`)') }).trim().min(1, 'must not be empty'),
        label: z.string({ error: required('is required') }).trim().min(1, 'must not be empty'),
        category: z.string({ error: required('is required') }).trim().toLowerCase(),
        folder: z.string().optional(),
        fs_uuid: z.string().optional(),
        fs_label: z.string().optional(),
        path: z.string().optional(),
      }),
    )
    .optional(),
});

type RawConfig = z.infer<typeof schema>;

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}

const article = (word: string): string => `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`;

/** Problems as a reader meets them: by line, those without one last. */
function inLineOrder(problems: ConfigProblem[]): ConfigProblem[] {
  return problems.map((p, i) => ({ p, i })).sort((a, b) => (a.p.line ?? Infinity) - (b.p.line ?? Infinity) || a.i - b.i).map((x) => x.p);
}

/** Reads and checks a configuration; every problem found, and the configuration when there are none. */
export function checkConfig(file: string): { config?: RouteConfig; problems: ConfigProblem[] } {
  const path = resolve(file);
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? 'there is no configuration file here (create one with `ferry route init`)' : `cannot be read (${code ?? (err as Error).message})`;
    return { problems: [{ file: path, key: '(file)', message }] };
  }
  let raw: unknown;
  try {
    raw = parse(source);
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      return { problems: [{ file: path, line: err.line, key: '(syntax)', message: `not valid TOML: ${first}` }] };
    }
    throw err;
  }
  const lines = keyLines(source);
  const problems: ConfigProblem[] = [];
  const problem = (keyPath: KeyPath, message: string): void => {
    problems.push({ file: path, line: lineOf(lines, keyPath), key: keyName(keyPath), message });
  };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const at = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys) problem([...at, k], 'is not a known key (see `ferry route init` for an example)');
      } else {
        problem(at, issue.message.replace(/^Invalid input: expected (\w+), received (\w+)$/, (_, want: string, got: string) => `takes ${article(want)}, not ${article(got)}`));
      }
    }
    return { problems: inLineOrder(problems) };
  }
  const config = interpret(parsed.data, path, problem);
  return problems.length > 0 ? { problems: inLineOrder(problems) } : { config, problems };
}

function interpret(r: RawConfig, file: string, problem: (at: KeyPath, message: string) => void): RouteConfig {
  const base = dirname(file);
  const duration = (at: KeyPath, value: string | undefined, fallbackMs: number, minMs: number, maxMs: number): number => {
    if (value === undefined) return fallbackMs;
    let ms: number;
    try {
      ms = Number(parseDurationNs(value, 'x') / 1_000_000n);
    } catch {
      problem(at, `takes a duration such as 500ms, 2s, 5m or 1h, not "${value}"`);
      return fallbackMs;
    }
    if (ms < minMs || ms > maxMs) problem(at, `must be between ${minMs} ms and ${maxMs / DAY_MS} days, not "${value}"`);
    return ms;
  };
  const size = (at: KeyPath, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    try {
      return parseSize(value, 'x', { allowZero: true });
    } catch {
      problem(at, `takes a size such as 512K, 5M or 1G, not "${value}"`);
      return undefined;
    }
  };
  const o = r.options ?? {};
  const bwlimit = size(['options', 'bwlimit'], o.bwlimit);
  if (bwlimit === 0) problem(['options', 'bwlimit'], 'must be greater than zero');
  const rules: RouteRule[] = (r.rule ?? []).map((x, i) => {
    const rule: RouteRule = {
      category: x.category,
      mime: x.mime ?? [],
      extensions: x.extensions ?? [],
      minSize: size(['rule', i, 'min_size'], x.min_size),
      maxSize: size(['rule', i, 'max_size'], x.max_size),
    };
    if (rule.mime.length === 0 && rule.extensions.length === 0 && rule.minSize === undefined && rule.maxSize === undefined) {
      problem(['rule', i], 'needs at least one of mime, extensions, min_size, max_size');
    }
    if (rule.minSize !== undefined && rule.maxSize !== undefined && rule.minSize > rule.maxSize) {
      problem(['rule', i, 'min_size'], 'is larger than max_size');
    }
    return rule;
  });
  const known = new Set<string>([...BUILTIN_CATEGORIES, ...rules.map((x) => x.category)]);
  const labels = new Map<string, number>();
  const ids = new Map<string, number>();
  const drives: RouteDrive[] = (r.drive ?? []).map((d, i) => {
    if (!known.has(d.category)) problem(['drive', i, 'category'], `names no category: "${d.category}" is neither built in (${BUILTIN_CATEGORIES.join(', ')}) nor named by a [[rule]]`);
    const sameLabel = labels.get(d.label.toLowerCase());
    if (sameLabel !== undefined) problem(['drive', i, 'label'], `"${d.label}" is already the label of drive ${sameLabel + 1}`);
    labels.set(d.label.toLowerCase(), i);
    if (ids.has(d.id)) problem(['drive', i, 'id'], `"${d.id}" is already the id of drive ${ids.get(d.id)! + 1}`);
    ids.set(d.id, i);
    const folder = (d.folder ?? '').replace(/^\/+|\/+$/g, '');
    if (folder.split('/').some((p) => p === '..' || p === '.')) problem(['drive', i, 'folder'], 'must stay inside the drive (no "." or ".." parts)');
    if (d.path !== undefined && !isAbsolute(expandHome(d.path))) problem(['drive', i, 'path'], `must be an absolute path, not "${d.path}"`);
    return {
      id: d.id,
      label: d.label,
      category: d.category,
      folder,
      fsUuid: d.fs_uuid || undefined,
      fsLabel: d.fs_label || undefined,
      path: d.path ? resolve(expandHome(d.path)) : undefined,
    };
  });
  return {
    file,
    source: resolve(base, expandHome(r.source)),
    // A SQLite file (relative to this file), or a PostgreSQL URL kept as written.
    database: r.database ? (isPgUrl(r.database) ? r.database : resolve(base, expandHome(r.database))) : defaultDatabasePath(),
    debounceMs: duration(['options', 'debounce'], o.debounce, 500, 0, DAY_MS),
    mountPollMs: duration(['options', 'mount_poll'], o.mount_poll, 2000, 100, DAY_MS),
    rescanEveryMs: duration(['options', 'rescan_every'], o.rescan_every, 3600_000, 1000, 366 * DAY_MS),
    bwlimit: bwlimit || undefined,
    ignore: o.ignore ?? [],
    rules,
    drives,
  };
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}${p.line ? `:${p.line}` : ''}: ${p.key}: ${p.message}`;
}

/** Loads a configuration or throws CONFIG naming its first problem (file, line, key) and how many there are. */
export function loadConfig(file: string): RouteConfig {
  const { config, problems } = checkConfig(file);
  if (config) return config;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : '';
  throw new FerryError('CONFIG', `${formatProblem(problems[0]!)}${more}.`, { hint: `Run \`ferry route validate --config ${file}\` to see every problem.` });
}

/**
 * Problems that are not in the text but in the world: a source that is not a directory, a drive
 * whose path is inside the source, is the source, or holds it.
 */
export function checkWorld(config: RouteConfig): ConfigProblem[] {
  const lines = keyLines(readFileSync(config.file, 'utf8'));
  const line = lineOf(lines, ['source']);
  if (!existsSync(config.source)) return [{ file: config.file, line, key: 'source', message: `${config.source} does not exist` }];
  if (!statSync(config.source).isDirectory()) return [{ file: config.file, line, key: 'source', message: `${config.source} is not a directory` }];
  const problems: ConfigProblem[] = [];
  config.drives.forEach((d, i) => {
    const overlap = d.path === undefined ? undefined : sourceOverlap(d.path, config.source);
    if (overlap) problems.push({ file: config.file, line: lineOf(lines, ['drive', i, 'path']), key: keyName(['drive', i, 'path']), message: `cannot be a drive: ${overlap}` });
  });
  return problems;
}
