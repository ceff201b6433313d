import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { ApiError, badRequest } from './api-error.js';
import { changeInfo } from './change-messages.js';
import type { ServerContext } from './context.js';
import { fileInfo } from './files.js';
import { parseNs, shaOrNull } from './fields.js';
import { requestPath } from './request-path.js';
import { decide, type ClientFile } from './sync-plan.js';

const fileEntry = {
  type: 'object',
  required: ['path'],
  additionalProperties: false,
  properties: {
    path: { type: 'string' },
    size: { type: 'integer', minimum: 0 },
    mtime_ns: { type: ['string', 'integer'] },
    sha256: { type: ['string', 'null'] },
    base_sha256: { type: ['string', 'null'] },
    deleted: { type: 'boolean' },
  },
} as const;

/** Health, registration, sync analysis, the file list, deletes, moves, the change log, clients, conflicts, the WebSocket. */
export function syncRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { store, files, hub } = ctx;
  const reserved = files.target.reservedName;
  const knownClient = async (id: unknown): Promise<string | null> => {
    if (id === undefined || id === null || id === '') return null;
    if (typeof id !== 'string' || !(await store.getClient(id))) throw new ApiError(404, 'NOT_FOUND', 'There is no client with that id; register first.');
    return id;
  };

  app.get('/health', { schema: { summary: 'Whether the server is up (no key needed)' } }, async () => ({
    status: 'ok',
    version: ctx.version,
    sequence: await store.sequence(),
  }));

  app.post('/register', {
    schema: {
      summary: 'Register a client (or register it again) and learn where the change log is',
      body: {
        type: 'object',
        required: ['client_name'],
        additionalProperties: false,
        properties: { client_name: { type: 'string', minLength: 1, maxLength: 200 }, client_id: { type: ['string', 'null'], maxLength: 100 }, platform: { type: ['string', 'null'], maxLength: 200 } },
      },
    },
  }, async (req) => {
    const b = req.body as { client_name: string; client_id?: string | null; platform?: string | null };
    const row = await store.registerClient({ clientId: b.client_id || randomUUID(), name: b.client_name, platform: b.platform ?? null });
    return {
      client_id: row.clientId,
      client_name: row.name,
      sequence: await store.sequence(),
      max_file_size: ctx.maxFileSize,
      allowed_extensions: ctx.allowedExtensions,
      heartbeat_s: ctx.heartbeatMs / 1000,
    };
  });

  app.post('/sync', {
    bodyLimit: 256 * 1024 * 1024,
    schema: {
      summary: 'Sync analysis: what the client should upload, download, delete or resolve',
      body: {
        type: 'object',
        required: ['files'],
        additionalProperties: false,
        properties: { client_id: { type: ['string', 'null'] }, files: { type: 'array', items: fileEntry } },
      },
    },
  }, async (req) => {
    const b = req.body as { client_id?: string | null; files: Array<{ path: string; size?: number; mtime_ns?: string | number; sha256?: string | null; base_sha256?: string | null; deleted?: boolean }> };
    const clientId = await knownClient(b.client_id);
    const sequence = await store.sequence();
    const rows = new Map((await store.listFiles({ deleted: true })).map((f) => [f.path, f]));
    const seen = new Set<string>();
    const actions: Array<Record<string, unknown>> = [];
    for (const f of b.files) {
      const path = requestPath(f.path, reserved);
      if (seen.has(path)) throw badRequest(`${path} is listed twice.`);
      seen.add(path);
      if (f.mtime_ns !== undefined) parseNs(f.mtime_ns, 'mtime_ns');
      const c: ClientFile = { path, sha256: f.deleted ? null : shaOrNull(f.sha256, 'sha256'), base: shaOrNull(f.base_sha256, 'base_sha256'), deleted: f.deleted === true };
      if (!c.deleted && c.sha256 === null) throw badRequest(`${path} needs its sha256 (or "deleted": true).`);
      const s = rows.get(path);
      const a = decide(c, s);
      if (a) actions.push({ path, action: a.action, reason: a.reason, ...(s ? { server: fileInfo(s) } : {}) });
    }
    for (const s of rows.values()) {
      if (seen.has(s.path) || !ctx.extensionAllowed(s.path)) continue;
      const a = decide(undefined, s);
      if (a) actions.push({ path: s.path, action: a.action, reason: a.reason, server: fileInfo(s) });
    }
    if (clientId) await store.touchClient(clientId);
    return { sequence, actions };
  });

  app.get('/files', { schema: { summary: 'Every file on the server (with ?deleted=true, the tombstones too)' } }, async (req) => {
    const q = req.query as { deleted?: string };
    const sequence = await store.sequence();
    return { sequence, files: (await store.listFiles({ deleted: q.deleted === 'true' })).map(fileInfo) };
  });

  app.delete('/files/*', { schema: { summary: 'Delete a file, if the server still has the base the client names' } }, async (req) => {
    const path = requestPath((req.params as { '*': string })['*'], reserved);
    const q = req.query as { base_sha256?: string; client_id?: string };
    const base = shaOrNull(q.base_sha256 ?? (req.headers['if-match'] as string | undefined)?.replace(/"/g, ''), 'base_sha256');
    const c = await files.remove(path, base, await knownClient(q.client_id));
    return { seq: c.seq, path: c.path, deleted: true };
  });

  app.post('/move', {
    schema: {
      summary: 'Rename a file on the server (a rename on one client is one everywhere, no re-upload)',
      body: {
        type: 'object',
        required: ['from', 'to'],
        additionalProperties: false,
        properties: { from: { type: 'string' }, to: { type: 'string' }, base_sha256: { type: ['string', 'null'] }, client_id: { type: ['string', 'null'] } },
      },
    },
  }, async (req) => {
    const b = req.body as { from: string; to: string; base_sha256?: string | null; client_id?: string | null };
    const from = requestPath(b.from, reserved, 'from path');
    const to = requestPath(b.to, reserved, 'to path');
    ctx.checkExtension(to);
    return fileInfo(await files.move(from, to, shaOrNull(b.base_sha256, 'base_sha256'), await knownClient(b.client_id)));
  });

  app.get('/changes', { schema: { summary: 'The change log after a sequence number' } }, async (req) => {
    const q = req.query as { since?: string; limit?: string };
    const since = q.since === undefined ? 0 : Number(parseNs(q.since, 'since'));
    const limit = q.limit === undefined ? 1000 : Math.min(10_000, Math.max(1, Number(parseNs(q.limit, 'limit'))));
    const changes = await store.changesSince(since, limit + 1);
    return { sequence: await store.sequence(), changes: changes.slice(0, limit).map(changeInfo), more: changes.length > limit };
  });

  app.get('/clients', { schema: { summary: 'The registered clients' } }, async () => ({
    clients: (await store.listClients()).map((c) => ({
      client_id: c.clientId,
      client_name: c.name,
      platform: c.platform,
      connected: hub.connected(c.clientId),
      registered: new Date(c.registeredMs).toISOString(),
      last_seen: new Date(c.lastSeenMs).toISOString(),
      last_seq: c.lastSeq,
    })),
  }));

  app.get('/conflicts', { schema: { summary: 'The conflicts the server kept both versions of' } }, async () => ({
    conflicts: (await store.listConflicts()).map((c) => ({ path: c.path, copy: c.copy, sha256: c.sha256, client_id: c.clientId, time: new Date(c.timeMs).toISOString() })),
  }));

  app.get('/ws/:client_id', { websocket: true, schema: { summary: 'Live changes (WebSocket)' } }, (socket, req) => {
    const clientId = (req.params as { client_id: string }).client_id;
    const q = req.query as { since?: string };
    void (async () => {
      let since: number | undefined;
      if (q.since !== undefined) {
        if (!/^\d{1,15}$/.test(q.since)) {
          socket.send(JSON.stringify({ type: 'ERROR', error: 'BAD_REQUEST', message: 'since is a sequence number.' }));
          socket.close(4400, 'bad since');
          return;
        }
        since = Number(q.since);
      }
      if (!(await store.getClient(clientId))) {
        socket.send(JSON.stringify({ type: 'ERROR', error: 'NOT_FOUND', message: 'There is no client with that id; register first.' }));
        socket.close(4404, 'unknown client');
        return;
      }
      await hub.join(clientId, socket, since);
    })().catch(() => socket.terminate());
  });
}
