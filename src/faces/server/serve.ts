import fastifyMultipart from '@fastify/multipart';
import fastifySwagger from '@fastify/swagger';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { FerryError } from '../../core/errors.js';
import type { ServerStore } from '../../core/server-store.js';
import { openServerStore } from '../../store/open.js';
import { LocalTarget } from '../../targets/local.js';
import { ApiError } from './api-error.js';
import { keyAccepted, keyOf } from '../../http/api-keys.js';
import { cannotListen } from '../../http/listen-error.js';
import { JobBoard } from '../../http/dashboard/board.js';
import { dashboardRoutes, isDashboardAsset } from '../../http/dashboard/routes.js';
import type { ServerContext } from './context.js';
import { ServerFiles } from './files.js';
import { reconcileSyncDir } from './reconcile-dir.js';
import { syncRoutes } from './routes-sync.js';
import { transferRoutes } from './routes-transfer.js';
import { UploadSessions } from './upload-sessions.js';
import { WsHub } from './ws-hub.js';

export interface ServeOptions {
  /** The sync directory (made when missing). */
  dir: string;
  /** The server database: a SQLite path or a postgres:// URL. */
  db: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  maxFileSize?: number;
  allowedExtensions?: string[] | null;
  heartbeatMs?: number;
  tls?: { cert: string; key: string };
  /** Where the request log goes (one JSON line a request); false for none. */
  log?: Writable | false;
  version?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  store: ServerStore;
  app: FastifyInstance;
  close(): Promise<void>;
}

export const SERVE_DEFAULTS = { host: '127.0.0.1', port: 8000, dir: './sync_data', maxFileSize: 100 * 1024 * 1024, heartbeatMs: 15_000 } as const;

/**
 * `ferry serve`: opens the server database and the sync directory, records what changed in the
 * directory while no server ran, and answers the API of docs/serve.md until closed.
 */
export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const dir = resolve(o.dir);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new FerryError('DEST_UNAVAILABLE', `Cannot make the sync directory ${dir}.`, { cause: err });
  }
  const st = statSync(dir, { bigint: true });
  if (!st.isDirectory()) throw new FerryError('DEST_UNAVAILABLE', `The sync directory ${dir} is not a directory.`);
  const store = await openServerStore(o.db);
  try {
    return await listen(o, dir, store, st.dev, st.ino);
  } catch (err) {
    await store.close();
    throw err;
  }
}

async function listen(o: ServeOptions, dir: string, store: ServerStore, device: bigint, inode: bigint): Promise<RunningServer> {
  const pinned = (identity: string): LocalTarget => new LocalTarget(dir, identity, { device, inode, replace: false });
  const target = pinned(`ferry-serve\0${dir}`);
  const files = new ServerFiles(store, target, (identity) => pinned(`ferry-serve\0${dir}\0${identity}`));
  await reconcileSyncDir(files);
  const maxFileSize = o.maxFileSize ?? SERVE_DEFAULTS.maxFileSize;
  const heartbeatMs = o.heartbeatMs ?? SERVE_DEFAULTS.heartbeatMs;
  const allowed = o.allowedExtensions?.map((e) => (e.startsWith('.') ? e : `.${e}`).toLowerCase()) ?? null;
  const sessions = new UploadSessions(files, maxFileSize);
  await sessions.sweep();
  const hub = new WsHub(store, heartbeatMs);
  files.onChange((c) => hub.broadcast(c));
  const extensionAllowed = (path: string): boolean => {
    if (!allowed) return true;
    const name = path.slice(path.lastIndexOf('/') + 1);
    const dot = name.lastIndexOf('.');
    return dot > 0 && allowed.includes(name.slice(dot).toLowerCase());
  };
  const ctx: ServerContext = {
    store,
    files,
    sessions,
    hub,
    maxFileSize,
    allowedExtensions: allowed,
    heartbeatMs,
    version: o.version ?? 'unknown',
    extensionAllowed,
    checkExtension(path) {
      if (!extensionAllowed(path)) throw new ApiError(415, 'EXTENSION_NOT_ALLOWED', `The server takes only files ending in ${allowed!.join(', ')}.`);
    },
    async clientName(clientId) {
      return (await store.getClient(clientId))?.name ?? clientId;
    },
  };

  const app = Fastify({
    logger: o.log ? { level: 'info', stream: o.log, redact: ['req.headers.authorization', 'req.headers["x-api-key"]'] } : false,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    https: o.tls ? { cert: readFileSync(o.tls.cert), key: readFileSync(o.tls.key) } : null,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allowUnionTypes: true } },
    forceCloseConnections: true,
  });
  // Raw bytes (a resumable upload's ranges) whatever type they are labelled with; a JSON route given them fails its schema (400).
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  await app.register(fastifySwagger, { openapi: { info: { title: 'ferry serve', version: ctx.version }, components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } } });
  await app.register(fastifyMultipart, { limits: { fileSize: maxFileSize, files: 1, fields: 16, fieldSize: 8192 } });
  await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 } });

  app.addHook('onRequest', async (req) => {
    if (req.url === '/health' || req.url.startsWith('/health?')) return;
    // The dashboard's page and its scripts hold no data (its API below takes the key like the rest).
    if ((req.method === 'GET' || req.method === 'HEAD') && isDashboardAsset(req.url)) return;
    if (!(await keyAccepted(store, keyOf(req.headers, req.query)))) {
      throw new ApiError(401, 'UNAUTHORIZED', 'This server needs a valid API key (Authorization: Bearer KEY or X-API-Key).');
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    req.log.info({ method: req.method, url: req.url.replace(/api_key=[^&]*/, 'api_key=…'), status: reply.statusCode, ms: Math.round(reply.elapsedTime), remote: req.ip }, 'request');
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: 'NOT_FOUND', message: `There is no ${req.method} ${req.url.split('?')[0]!.slice(0, 200)} here.` });
  });
  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    const e = asApiError(err);
    if (e.status >= 500) req.log.error({ err: (e as { cause?: unknown }).cause ?? err }, e.message);
    void reply.code(e.status).send({ error: e.code, message: e.message, ...e.extra });
  });

  syncRoutes(app, ctx);
  transferRoutes(app, ctx);
  // The dashboard's page at /, showing this server: its clients (connected now), changes, conflicts.
  const board = new JobBoard({ server: { store, location: store.location, connected: () => hub.connectedClients() } });
  dashboardRoutes(app, { board });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const sweep = setInterval(() => void sessions.sweep().catch(() => undefined), 3600_000);
  sweep.unref();
  try {
    await app.listen({ host: o.host ?? SERVE_DEFAULTS.host, port: o.port ?? SERVE_DEFAULTS.port });
  } catch (err) {
    clearInterval(sweep);
    hub.close();
    await app.close().catch(() => undefined);
    await sessions.close().catch(() => undefined);
    await target.close?.();
    throw cannotListen(err, o.host ?? SERVE_DEFAULTS.host, o.port ?? SERVE_DEFAULTS.port);
  }
  const port = (app.server.address() as AddressInfo).port;
  const host = o.host ?? SERVE_DEFAULTS.host;
  const shown = host.includes(':') ? `[${host}]` : host;
  let closed: Promise<void> | undefined;
  return {
    url: `${o.tls ? 'https' : 'http'}://${shown}:${port}`,
    port,
    store,
    app,
    close: () =>
      (closed ??= (async () => {
        clearInterval(sweep);
        hub.close();
        board.close();
        await app.close();
        await sessions.close();
        await target.close?.();
        await store.close();
      })()),
  };
}

/** Any error of a request as the answer it gets: one sentence, never a path of the server or a stack. */
function asApiError(err: FastifyError | ApiError): ApiError {
  if (err instanceof ApiError) return err;
  if (err.validation) {
    const v = err.validation[0];
    const where = v?.instancePath ? v.instancePath.slice(1).replace(/\//g, '.') : (v?.params as { missingProperty?: string } | undefined)?.missingProperty;
    return new ApiError(400, 'BAD_REQUEST', `The request body is not valid${where ? ` at ${where}` : ''}: ${v?.message ?? 'it does not match the schema'}.`);
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_PARTS_LIMIT':
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new ApiError(413, 'TOO_LARGE', 'The request is larger than the server takes.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'The server does not take a body of that content type.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError(400, 'BAD_REQUEST', 'The request body is malformed.');
  }
  if (err instanceof SyntaxError || (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)) {
    return new ApiError(err.statusCode && err.statusCode !== 413 ? err.statusCode : 400, 'BAD_REQUEST', 'The request is malformed.');
  }
  return Object.assign(new ApiError(500, 'INTERNAL', 'The server could not do this; its log has the details.'), { cause: err });
}

/** The default database of a sync directory: in the state directory, named for the directory. */
export function defaultServerDb(stateDir: string, dir: string): string {
  return resolve(stateDir, `serve-${createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 16)}.db`);
}
