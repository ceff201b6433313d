import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { stateDir } from '../../core/defaults.js';
import { FerryError } from '../../core/errors.js';
import { parseSize } from '../../core/units.js';
import { isPgUrl } from '../../store/url.js';
import { defaultServerDb, SERVE_DEFAULTS } from './serve.js';

/** The seed's ServerConfig fields, plus `db`. */
const FileSchema = z
  .object({
    host: z.string().min(1).optional(),
    port: z.number().int().min(0).max(65535).optional(),
    sync_directory: z.string().min(1).optional(),
    max_file_size: z.union([z.number().int().positive(), z.string()]).nullable().optional(),
    allowed_extensions: z.array(z.string().min(1)).nullable().optional(),
    db: z.string().min(1).nullable().optional(),
    tls_cert: z.string().nullable().optional(),
    tls_key: z.string().nullable().optional(),
  })
  .strict();

export interface ServeFlags {
  config?: string;
  host?: string;
  port?: string;
  dir?: string;
  maxFileSize?: string;
  allowedExtensions?: string;
  db?: string;
  tlsCert?: string;
  tlsKey?: string;
}

export interface ServerSettings {
  host: string;
  port: number;
  dir: string;
  db: string;
  maxFileSize: number;
  allowedExtensions: string[] | null;
  tls?: { cert: string; key: string };
}

/** The server's settings: the flags, over the config file (`--config`), over the defaults. */
export function serverSettings(f: ServeFlags, env: NodeJS.ProcessEnv = process.env): ServerSettings {
  let file: z.infer<typeof FileSchema> = {};
  let base = process.cwd();
  if (f.config) {
    const path = resolve(f.config);
    base = dirname(path);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      throw new FerryError('CONFIG', `Cannot read the server configuration ${path}.`);
    }
    let data: unknown;
    try {
      data = parse(text) ?? {};
    } catch (err) {
      throw new FerryError('CONFIG', `${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    const r = FileSchema.safeParse(data);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      const where = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'the top level');
      throw new FerryError('CONFIG', `${path}: ${where}: ${issue.message}.`);
    }
    file = r.data;
  }
  const port = f.port !== undefined ? portOf(f.port) : (file.port ?? SERVE_DEFAULTS.port);
  const dir = f.dir !== undefined ? resolve(f.dir) : resolve(base, file.sync_directory ?? SERVE_DEFAULTS.dir);
  const size = f.maxFileSize ?? file.max_file_size ?? undefined;
  const maxFileSize = size === undefined || size === null ? SERVE_DEFAULTS.maxFileSize : typeof size === 'number' ? size : parseSize(size, '--max-file-size');
  const exts = f.allowedExtensions !== undefined ? f.allowedExtensions.split(',').map((e) => e.trim()).filter((e) => e !== '') : (file.allowed_extensions ?? null);
  const dbRaw = f.db ?? file.db ?? undefined;
  const db = dbRaw ? (isPgUrl(dbRaw) ? dbRaw : resolve(f.db ? process.cwd() : base, dbRaw)) : defaultServerDb(stateDir(env), dir);
  const cert = f.tlsCert ?? file.tls_cert ?? undefined;
  const key = f.tlsKey ?? file.tls_key ?? undefined;
  if ((cert === undefined) !== (key === undefined)) throw new FerryError('USAGE', 'TLS needs both --tls-cert and --tls-key.');
  return {
    host: f.host ?? file.host ?? SERVE_DEFAULTS.host,
    port,
    dir,
    db,
    maxFileSize,
    allowedExtensions: exts && exts.length > 0 ? exts : null,
    ...(cert && key ? { tls: { cert: resolve(cert), key: resolve(key) } } : {}),
  };
}

function portOf(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new FerryError('USAGE', `--port takes a port number from 0 to 65535, not "${text}".`);
  return Number(text);
}
