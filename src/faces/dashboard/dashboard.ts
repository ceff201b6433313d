import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { configDir as defaultConfigDir, stateDir as defaultStateDir } from '../../core/defaults.js';
import { FerryError } from '../../core/errors.js';
import { keyAccepted, keyOf } from '../../http/api-keys.js';
import { cannotListen } from '../../http/listen-error.js';
import { JobBoard } from '../../http/dashboard/board.js';
import { dashboardRoutes, SECURITY_HEADERS } from '../../http/dashboard/routes.js';
import { openServerStore, storeKind } from '../../store/open.js';
import { DASHBOARD_DEFAULTS } from './defaults.js';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export interface DashboardOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  stateDir?: string;
  configDir?: string;
  /** More job databases (SQLite files or PostgreSQL URLs). */
  dbs?: string[];
}

export interface RunningDashboard {
  url: string;
  port: number;
  host: string;
  /** Whether the page needs a key (it listens beyond loopback). */
  keyed: boolean;
  app: FastifyInstance;
  close(): Promise<void>;
}

export { DASHBOARD_DEFAULTS };

/** Loopback: this machine only. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * `ferry dashboard`: one read-only page over every job in the state directory (and --db). On
 * loopback it takes no key, and answers only requests that name it by a loopback name (a web page
 * elsewhere cannot reach it through DNS rebinding). On any other address it needs the key of a
 * server it shows (`ferry serve keys add`), or it refuses to start.
 */
export async function startDashboard(o: DashboardOptions): Promise<RunningDashboard> {
  const host = o.host ?? DASHBOARD_DEFAULTS.host;
  const stateDir = resolve(o.stateDir ?? defaultStateDir());
  // The default one may not exist yet (no job has run); one given by name must be a directory.
  if (o.stateDir !== undefined) {
    const st = await stat(stateDir).catch(() => undefined);
    if (!st?.isDirectory()) throw new FerryError('USAGE', `--state-dir ${stateDir} is ${st ? 'not a directory' : 'not there'}.`, { hint: 'Give the directory ferry keeps its jobs in ($XDG_STATE_HOME/ferry, else ~/.local/state/ferry).' });
  }
  const dbs = (o.dbs ?? []).map((d) => (/^postgres(ql)?:\/\//.test(d) ? d : resolve(d)));
  for (const d of dbs) {
    if (!(await storeKind(d))) throw new FerryError('USAGE', `${d} is not a ferry database (or cannot be read).`, { hint: 'Give --db a job database a ferry command wrote: copy-….db, watch.db, route.db, serve-….db.' });
  }
  const keyed = !isLoopback(host);
  const servers = keyed ? await serverDatabases(stateDir, dbs) : [];
  if (keyed && !(await anyKey(servers))) {
    throw new FerryError('USAGE', `ferry dashboard listens on ${host} only with a key, and no server database it shows has one.`, {
      hint: 'Add one with `ferry serve keys add NAME` (the dashboard takes the keys of the servers it shows), or leave --host at 127.0.0.1.',
    });
  }
  const board = new JobBoard({ stateDir, configDir: o.configDir ?? defaultConfigDir(), dbs });
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 1024 });
  app.addHook('onRequest', async (req, reply) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return reply.code(405).headers({ ...SECURITY_HEADERS, allow: 'GET, HEAD' }).send({ error: 'METHOD_NOT_ALLOWED', message: 'The dashboard is read-only: it answers GET only.' });
    }
    const name = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    if (!keyed && !isLoopback(name) && name !== host) {
      return reply.code(403).headers(SECURITY_HEADERS).send({ error: 'FORBIDDEN', message: 'This dashboard answers only requests addressed to this machine by a loopback name.' });
    }
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).headers(SECURITY_HEADERS).send({ error: 'NOT_FOUND', message: `There is no ${req.method} ${req.url.split('?')[0]!.slice(0, 200)} here.` });
  });
  app.setErrorHandler((_err, _req, reply) => {
    void reply.code(500).headers(SECURITY_HEADERS).send({ error: 'INTERNAL', message: 'The dashboard could not read the jobs.' });
  });
  dashboardRoutes(app, {
    board,
    authorize: keyed ? async (req) => keyMatches(servers, keyOf(req.headers, req.query)) : undefined,
  });
  try {
    await app.listen({ host, port: o.port ?? DASHBOARD_DEFAULTS.port });
  } catch (err) {
    board.close();
    await app.close().catch(() => undefined);
    throw cannotListen(err, host, o.port ?? DASHBOARD_DEFAULTS.port);
  }
  const port = (app.server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    port,
    host,
    keyed,
    app,
    close: async () => {
      board.close();
      await app.close();
    },
  };
}

/** The server databases whose keys open the page: those in the state directory and among --db. */
async function serverDatabases(stateDir: string, dbs: string[]): Promise<string[]> {
  const names = await readdir(stateDir).catch(() => [] as string[]);
  const found = names.filter((n) => /^serve-[0-9a-f]+\.db$/.test(n)).map((n) => join(stateDir, n));
  for (const d of dbs) if ((await storeKind(d)) === 'server') found.push(d);
  return found;
}

async function anyKey(servers: string[]): Promise<boolean> {
  for (const s of servers) {
    const store = await openServerStore(s, { readOnly: true }).catch(() => undefined);
    if (!store) continue;
    try {
      if ((await store.listKeys()).length > 0) return true;
    } finally {
      await store.close();
    }
  }
  return false;
}

/** Whether `given` is a key of one of the servers (read each time: a key added or revoked counts at once). */
async function keyMatches(servers: string[], given: string | undefined): Promise<boolean> {
  if (!given) return false;
  for (const s of servers) {
    const store = await openServerStore(s, { readOnly: true }).catch(() => undefined);
    if (!store) continue;
    try {
      if ((await store.listKeys()).length > 0 && (await keyAccepted(store, given))) return true;
    } finally {
      await store.close();
    }
  }
  return false;
}
