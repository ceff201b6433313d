import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobBoard } from './board.js';

/**
 * The page's headers: nothing but its own scripts, styles and API (no inline script or style, no
 * frame, no form), no sniffing, no referrer.
 */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const ASSETS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'assets');
const uplotDir = (): string => join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');

/** The page's files: a fixed table, no name from a request ever reaches the filesystem. */
function loadAssets(): Map<string, { type: string; body: Buffer }> {
  const files: Array<[string, string, string]> = [
    ['/', join(ASSETS_DIR, 'index.html'), 'text/html; charset=utf-8'],
    ['/dashboard/app.js', join(ASSETS_DIR, 'app.js'), 'text/javascript; charset=utf-8'],
    ['/dashboard/app.css', join(ASSETS_DIR, 'app.css'), 'text/css; charset=utf-8'],
    ['/dashboard/uplot.js', join(uplotDir(), 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    ['/dashboard/uplot.css', join(uplotDir(), 'uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  return new Map(files.map(([url, path, type]) => [url, { type, body: readFileSync(path) }]));
}

/** The page's files, by URL: they hold no data (a server serves them without a key). */
const ASSET_URLS = new Set(['/', '/dashboard/app.js', '/dashboard/app.css', '/dashboard/uplot.js', '/dashboard/uplot.css']);

/** Whether a request is for one of the page's files, exactly (a query string aside). */
export function isDashboardAsset(url: string): boolean {
  return ASSET_URLS.has(url.split('?')[0]!);
}

/** A stream whose reader has this much unread is dropped (the page reconnects and reloads). */
const STREAM_BACKLOG_MAX = 4 * 1024 * 1024;

export interface DashboardRouteOptions {
  board: JobBoard;
  /** Whether a request may read the jobs (the key check); absent: everyone who reaches the server may. */
  authorize?: (req: FastifyRequest) => Promise<boolean>;
  /** A heartbeat on the event stream this often, so a proxy or a browser notices a dead one. */
  keepAliveMs?: number;
}

/**
 * The dashboard on a Fastify app: GET / (the page) and its files under /dashboard/, GET
 * /api/dashboard/jobs (every job, JSON), GET /api/dashboard/events (server-sent events: `job` with a
 * job's new view, `gone` with the id of one that went away). Read-only: no other method is answered.
 */
export function dashboardRoutes(app: FastifyInstance, o: DashboardRouteOptions): void {
  const assets = loadAssets();
  const guard = async (req: FastifyRequest, reply: FastifyReply): Promise<boolean> => {
    if (!o.authorize || (await o.authorize(req))) return true;
    void reply.code(401).headers(SECURITY_HEADERS).send({ error: 'UNAUTHORIZED', message: 'The dashboard needs a valid key here: open it as /?api_key=KEY, or send Authorization: Bearer KEY.' });
    return false;
  };
  for (const [url, a] of assets) {
    app.get(url, { schema: { hide: true } }, async (_req, reply) =>
      reply.headers({ ...SECURITY_HEADERS, 'content-type': a.type, 'cache-control': 'no-cache' }).send(a.body));
  }
  app.get('/api/dashboard/jobs', { schema: { hide: true } }, async (req, reply) => {
    if (!(await guard(req, reply))) return reply;
    const jobs = await o.board.jobs();
    return reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'no-store' }).send({ generatedMs: Date.now(), jobs });
  });
  app.get('/api/dashboard/events', { schema: { hide: true } }, async (req, reply) => {
    if (!(await guard(req, reply))) return reply;
    const headers = { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' };
    if (req.method === 'HEAD') return reply.headers(headers).send();
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { ...headers, connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    const send = (text: string): void => {
      // A reader that stopped reading is let go rather than kept in memory.
      if (res.writableLength > STREAM_BACKLOG_MAX) res.destroy();
      else res.write(text);
    };
    const unsubscribe = o.board.subscribe((c) => {
      if (c.view) send(`event: job\ndata: ${JSON.stringify(c.view)}\n\n`);
      if (c.gone) send(`event: gone\ndata: ${JSON.stringify(c.gone)}\n\n`);
    });
    const keepAlive = setInterval(() => {
      // A key revoked while the stream is open ends it at the next keep-alive.
      void (o.authorize ? o.authorize(req) : Promise.resolve(true)).then((ok) => (ok ? send(': keep-alive\n\n') : res.end()), () => res.end());
    }, o.keepAliveMs ?? 15_000);
    const end = (): void => {
      clearInterval(keepAlive);
      unsubscribe();
    };
    req.raw.on('close', end);
    res.on('close', end);
    res.on('error', end);
  });
}
