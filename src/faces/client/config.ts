import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { stateDir } from '../../core/defaults.js';
import { FerryError } from '../../core/errors.js';
import { writeFileWhole } from '../../engine/write-file-whole.js';

/** The seed's ignore patterns. */
export const DEFAULT_IGNORE = ['.git', '__pycache__', '*.tmp', '*.log'];
export const DEFAULT_CLIENT_CONFIG = 'config.yaml';

const Schema = z
  .object({
    client_name: z.string().min(1).max(200),
    sync_directory: z.string().min(1),
    server_host: z.string().min(1),
    server_port: z.number().int().min(1).max(65535),
    ignore_patterns: z.array(z.string()).nullable().optional(),
    api_key: z.string().min(1).nullable().optional(),
    use_tls: z.boolean().optional(),
    state_db: z.string().min(1).nullable().optional(),
    debounce_ms: z.number().int().min(0).max(60_000).optional(),
  })
  .strict();

export interface ClientConfig {
  /** The file it was read from (absolute). */
  file: string;
  name: string;
  /** Absolute. */
  syncDir: string;
  /** http(s)://host:port */
  server: string;
  ignore: string[];
  apiKey: string | null;
  stateDb: string;
  debounceMs: number;
}

/** `ferry client init`: the seed's YAML config, written whole. */
export async function initClientConfig(o: { file: string; name: string; syncDir: string; server: string; apiKey?: string }): Promise<ClientConfig> {
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(o.server) ? o.server : `http://${o.server}`);
  } catch {
    throw new FerryError('USAGE', `--server takes a URL such as http://127.0.0.1:8000, not "${o.server}".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FerryError('USAGE', `--server takes an http:// or https:// URL, not "${o.server}".`);
  if (!/^[^/\\\0]{1,200}$/.test(o.name)) throw new FerryError('USAGE', `--name takes a name of 1 to 200 characters without a slash, not "${o.name}".`);
  const file = resolve(o.file);
  const tls = url.protocol === 'https:';
  const doc: Record<string, unknown> = {
    client_name: o.name,
    sync_directory: o.syncDir,
    server_host: url.hostname.replace(/^\[|\]$/g, ''),
    server_port: url.port ? Number(url.port) : tls ? 443 : 80,
    ignore_patterns: DEFAULT_IGNORE,
    api_key: o.apiKey ?? null,
  };
  if (tls) doc.use_tls = true;
  await writeFileWhole(file, stringify(doc));
  return loadClientConfig(file);
}

export function loadClientConfig(path: string, env: NodeJS.ProcessEnv = process.env): ClientConfig {
  const file = resolve(path);
  if (!existsSync(file)) {
    throw new FerryError('CONFIG', `There is no client configuration at ${file}.`, { hint: 'run `ferry client init --name NAME --sync-dir DIR --server URL` first, or give --config' });
  }
  let data: unknown;
  try {
    data = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new FerryError('CONFIG', `${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const r = Schema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'the top level');
    throw new FerryError('CONFIG', `${file}: ${where}: ${issue.message}.`);
  }
  const c = r.data;
  const base = dirname(file);
  const syncDir = resolve(base, c.sync_directory);
  const host = c.server_host.includes(':') ? `[${c.server_host}]` : c.server_host;
  return {
    file,
    name: c.client_name,
    syncDir,
    server: `${c.use_tls ? 'https' : 'http'}://${host}:${c.server_port}`,
    ignore: c.ignore_patterns ?? DEFAULT_IGNORE,
    apiKey: c.api_key ?? null,
    stateDb: c.state_db ? resolve(base, c.state_db) : join(stateDir(env), `client-${createHash('sha256').update(`${file}\0${syncDir}`).digest('hex').slice(0, 16)}.db`),
    debounceMs: c.debounce_ms ?? 500,
  };
}
