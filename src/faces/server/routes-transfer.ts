import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { ApiError, badRequest } from './api-error.js';
import { fileInfo, fsError, tooLarge, type Stored } from './files.js';
import { requestPath } from './request-path.js';
import type { ServerContext } from './context.js';
import { parseNs, shaOrNull } from './fields.js';

const CHUNK = 1 << 20;

/** POST /upload (multipart), the resumable /uploads, GET /download/{path}. */
export function transferRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { files, sessions, maxFileSize } = ctx;
  const answer = (reply: FastifyReply, s: Stored): Record<string, unknown> => {
    reply.code(s.created ? 201 : 200);
    const c = s.conflict;
    return { ...fileInfo(s.file), ...(c ? { conflict: { copy: c.copy, kept: c.kept, ...(c.current ? { current: fileInfo(c.current) } : {}) } } : {}) };
  };
  const onConflict = (v: unknown): 'refuse' | 'keep-both' => {
    if (v === undefined || v === '' || v === 'refuse') return 'refuse';
    if (v === 'keep-both') return 'keep-both';
    throw badRequest('on_conflict is "refuse" or "keep-both".');
  };

  app.post('/upload', { schema: { summary: 'Upload a file (multipart: path, sha256, base_sha256, mtime_ns, then file)', consumes: ['multipart/form-data'] } }, async (req, reply) => {
    const declaredLength = Number(req.headers['content-length'] ?? NaN);
    if (declaredLength > maxFileSize + 1024 * 1024) throw tooLarge(maxFileSize);
    if (!req.isMultipart()) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'An upload is a multipart/form-data body.');
    const part = await req.file({ limits: { fileSize: maxFileSize, files: 1, fields: 16, fieldSize: 8192, parts: 20 } });
    if (!part) throw badRequest('The upload has no file part.');
    const field = (name: string): string | undefined => {
      const f = part.fields[name] as { value?: unknown } | undefined;
      return f && typeof f.value === 'string' ? f.value : undefined;
    };
    const path = requestPath(field('path'), files.target.reservedName);
    ctx.checkExtension(path);
    const sizeField = field('size');
    const size = sizeField === undefined ? null : BigInt(parseNs(sizeField, 'size'));
    if (size !== null && size > BigInt(maxFileSize)) throw tooLarge(maxFileSize);
    const clientId = field('client_id') ?? null;
    const client = clientId ? await ctx.clientName(clientId) : 'unknown';
    const inc = {
      path,
      sha256: shaOrNull(field('sha256'), 'sha256'),
      base: shaOrNull(field('base_sha256'), 'base_sha256'),
      mtimeNs: field('mtime_ns') === undefined ? BigInt(Date.now()) * 1_000_000n : parseNs(field('mtime_ns')!, 'mtime_ns'),
      clientId,
      clientName: client,
      onConflict: onConflict(field('on_conflict')),
    };
    const received = await files.receive(path, part.file, maxFileSize);
    if (part.file.truncated) {
      await received.handle.abort();
      throw tooLarge(maxFileSize);
    }
    return answer(reply, await files.commit(received, inc, size));
  });

  app.post('/uploads', {
    schema: {
      summary: 'Start a resumable upload',
      body: {
        type: 'object',
        required: ['path'],
        additionalProperties: false,
        properties: {
          path: { type: 'string' },
          size: { type: 'integer', minimum: 0 },
          sha256: { type: 'string' },
          mtime_ns: { type: 'string' },
          base_sha256: { type: ['string', 'null'] },
          client_id: { type: ['string', 'null'] },
        },
      },
    },
  }, async (req, reply) => {
    const b = req.body as { path: string; size?: number; sha256?: string; mtime_ns?: string; base_sha256?: string | null; client_id?: string | null };
    const path = requestPath(b.path, files.target.reservedName);
    ctx.checkExtension(path);
    const s = await sessions.create({
      path,
      size: b.size === undefined ? null : BigInt(b.size),
      sha256: shaOrNull(b.sha256, 'sha256'),
      mtimeNs: b.mtime_ns === undefined ? BigInt(Date.now()) * 1_000_000n : parseNs(b.mtime_ns, 'mtime_ns'),
      base: shaOrNull(b.base_sha256 ?? undefined, 'base_sha256'),
      clientId: b.client_id ?? null,
    });
    reply.code(201);
    return { upload_id: s.id, path: s.path, received: 0, expires: new Date(s.expiresMs).toISOString() };
  });

  const sessionOf = (req: FastifyRequest): string => {
    const id = (req.params as { id: string }).id;
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new ApiError(404, 'NOT_FOUND', 'There is no such upload session.');
    return id;
  };

  app.get('/uploads/:id', { schema: { summary: 'How many bytes of a resumable upload arrived' } }, async (req) => {
    const { row, received } = await sessions.status(sessionOf(req));
    return { upload_id: row.id, path: row.path, size: row.size >= 0n ? Number(row.size) : null, received, expires: new Date(row.expiresMs).toISOString() };
  });

  app.put('/uploads/:id', { schema: { summary: 'Send bytes of a resumable upload (Content-Range: bytes a-b/total)' } }, async (req) => {
    const id = sessionOf(req);
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(req.headers['content-range'] ?? ''));
    const offset = req.headers['upload-offset'];
    let start: number;
    if (range) start = Number(range[1]);
    else if (typeof offset === 'string' && /^\d+$/.test(offset)) start = Number(offset);
    else throw badRequest('A range of a resumable upload needs a Content-Range header (bytes a-b/total).');
    const received = await sessions.append(id, start, req.body as Readable);
    return { upload_id: id, received };
  });

  app.get('/uploads/:id/data', { schema: { summary: 'Read back the bytes of a resumable upload that arrived' } }, async (req, reply) => {
    const id = sessionOf(req);
    const { received } = await sessions.status(id);
    const r = parseRange(req.headers.range, received);
    reply.header('Content-Length', String(r.end - r.start));
    if (r.partial) reply.code(206).header('Content-Range', `bytes ${r.start}-${r.end - 1}/${received}`);
    return reply.send(Readable.from(chunks((into, at) => sessions.read(id, into, at), r.start, r.end)));
  });

  app.post('/uploads/:id/finish', {
    schema: {
      summary: 'Finish a resumable upload: checked, then the file gets its name',
      body: {
        type: ['object', 'null'],
        additionalProperties: false,
        properties: { mtime_ns: { type: 'string' }, sha256: { type: 'string' }, on_conflict: { type: 'string' }, client_name: { type: 'string' } },
      },
    },
  }, async (req, reply) => {
    const id = sessionOf(req);
    const b = (req.body ?? {}) as { mtime_ns?: string; sha256?: string; on_conflict?: string };
    const { row } = await sessions.status(id);
    const stored = await sessions.finish(id, {
      mtimeNs: b.mtime_ns === undefined ? null : parseNs(b.mtime_ns, 'mtime_ns'),
      sha256: shaOrNull(b.sha256, 'sha256'),
      onConflict: onConflict(b.on_conflict),
      clientName: row.clientId ? await ctx.clientName(row.clientId) : 'unknown',
    });
    return answer(reply, stored);
  });

  app.delete('/uploads/:id', { schema: { summary: 'Cancel a resumable upload' } }, async (req, reply) => {
    await sessions.cancel(sessionOf(req));
    reply.code(204);
    return reply.send();
  });

  app.get('/download/*', { schema: { summary: 'Download a file (Range works; ETag is its SHA-256)' } }, async (req, reply) => {
    const path = requestPath((req.params as { '*': string })['*'], files.target.reservedName);
    for (let attempt = 0; ; attempt++) {
      const row = await files.store.getFile(path);
      if (!row || row.deleted) throw new ApiError(404, 'NOT_FOUND', `${path} is not on the server.`);
      const handle = await files.target.openRead(path).catch((err: unknown) => {
        throw fsError(err, path);
      });
      const now = await handle.stat();
      if (now.size !== row.size || now.mtimeNs !== row.mtimeNs) {
        // Replaced between the look and the open: look again (the record is written after the rename).
        await handle.close();
        if (attempt < 3) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        // Not a replacement in flight: the file was changed in the sync directory itself. What it holds is recorded.
        if (attempt === 3) {
          await files.refresh(path);
          continue;
        }
        throw new ApiError(503, 'BUSY', `${path} is changing on the server; try again.`);
      }
      const etag = `"${row.sha256}"`;
      reply.header('ETag', etag).header('X-Mtime-Ns', String(row.mtimeNs)).header('X-Sha256', row.sha256);
      reply.header('Last-Modified', new Date(Number(row.mtimeNs / 1_000_000n)).toUTCString()).header('Accept-Ranges', 'bytes');
      if (req.headers['if-none-match'] === etag) {
        await handle.close();
        return reply.code(304).send();
      }
      const size = Number(row.size);
      let r: { start: number; end: number; partial: boolean };
      try {
        r = parseRange(req.headers['if-range'] && req.headers['if-range'] !== etag ? undefined : req.headers.range, size);
      } catch (err) {
        await handle.close();
        throw err;
      }
      reply.header('Content-Type', 'application/octet-stream').header('Content-Length', String(r.end - r.start));
      if (r.partial) reply.code(206).header('Content-Range', `bytes ${r.start}-${r.end - 1}/${size}`);
      const body = Readable.from(chunks((into, at) => handle.read(into, 0, into.length, at), r.start, r.end));
      body.on('close', () => void handle.close());
      return reply.send(body);
    }
  });
}

/** A single `bytes=` range of a body of `size` bytes, or the whole; 416 when it starts past the end. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number; partial: boolean } {
  if (!header) return { start: 0, end: size, partial: false };
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return { start: 0, end: size, partial: false }; // several ranges or another unit: the whole body (RFC 9110 allows it)
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1);
  }
  if (start >= size || end <= start) {
    if (size === 0 && start === 0) return { start: 0, end: 0, partial: false };
    throw new ApiError(416, 'RANGE_NOT_SATISFIABLE', `The range starts past the end of the ${size} bytes.`);
  }
  return { start, end, partial: true };
}

async function* chunks(read: (into: Uint8Array, at: number) => Promise<number>, start: number, end: number): AsyncGenerator<Uint8Array> {
  for (let at = start; at < end; ) {
    const buf = new Uint8Array(Math.min(CHUNK, end - at));
    const n = await read(buf, at);
    if (n === 0) return;
    at += n;
    yield n === buf.length ? buf : buf.subarray(0, n);
  }
}
