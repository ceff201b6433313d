import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, type ClientOptions } from 'ws';
import { hashApiKey, newApiKey, openServerStore, startServer, type RunningServer, type ServeOptions, type ServerStore } from '../dist/index.js';
import { runCli } from './helpers/cli.js';

/*
 * `ferry serve` from the outside (docs/serve.md): a real server on port 0 per describe block, spoken
 * to with fetch and, where fetch would normalise the URL (`..`, `%2e%2e`), with raw node:http
 * requests so the server sees the bytes as sent.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const sha256 = (b: string | Uint8Array): string => createHash('sha256').update(b).digest('hex');
const MTIME = 1_700_000_000_123_456_789n;
const ns = (offsetS = 0): string => String(MTIME + BigInt(offsetS) * 1_000_000_000n);

interface Fixture {
  root: string;
  /** The directory the sync directory sits in (the canary beside it). */
  area: string;
  sync: string;
  state: string;
  db: string;
  canaryText: string;
  canaryPath: string;
  server: RunningServer;
  url: string;
  port: number;
}

/** A temp dir with `area/sync` (the sync dir), `area/canary.txt` beside it, `state/serve.db`; a server on port 0. */
function fixture(options: Partial<ServeOptions> = {}, setup?: (f: Fixture) => void): Fixture {
  const f = {} as Fixture;
  beforeAll(async () => {
    f.root = mkdtempSync(join(tmpdir(), 'ferry-serve-api-'));
    f.area = join(f.root, 'area');
    f.sync = join(f.area, 'sync');
    f.state = join(f.root, 'state');
    mkdirSync(f.sync, { recursive: true });
    mkdirSync(f.state);
    f.canaryText = `CANARY-${randomBytes(12).toString('hex')}`;
    f.canaryPath = join(f.area, 'canary.txt');
    writeFileSync(f.canaryPath, f.canaryText);
    f.db = join(f.state, 'serve.db');
    setup?.(f);
    await start(f, options);
  });
  afterAll(async () => {
    await f.server?.close();
    if (f.root) rmSync(f.root, { recursive: true, force: true });
  });
  return f;
}

async function start(f: Fixture, options: Partial<ServeOptions> = {}): Promise<void> {
  f.server = await startServer({ dir: f.sync, db: f.db, port: 0, log: false, ...options });
  f.url = f.server.url;
  f.port = f.server.port;
}

interface Reply {
  status: number;
  header(name: string): string | undefined;
  body: Buffer;
  text: string;
  json: Json;
}

function reply(status: number, header: (n: string) => string | undefined, body: Buffer): Reply {
  const text = body.toString('utf8');
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, header, body, text, json };
}

interface Call {
  json?: unknown;
  form?: FormData;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
}

/** A request through fetch (which normalises the URL: only for paths that are fine as they are). */
async function api(f: Fixture, method: string, path: string, c: Call = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...c.headers };
  let body: FormData | string | Uint8Array | undefined = c.body;
  if (c.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(c.json);
  } else if (c.form) body = c.form;
  const r = await fetch(`${f.url}${path}`, { method, headers, body });
  return reply(r.status, (n) => r.headers.get(n) ?? undefined, Buffer.from(await r.arrayBuffer()));
}

/** A request through node:http: the path goes out byte for byte as given. */
function raw(f: Fixture, method: string, path: string, c: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: f.port, method, path, headers: c.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const h = res.headers;
        resolve(reply(res.statusCode ?? 0, (n) => {
          const v = h[n.toLowerCase()];
          return Array.isArray(v) ? v.join(', ') : v;
        }, Buffer.concat(chunks)));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(c.body);
  });
}

function form(fields: Record<string, string>, file?: string | Uint8Array, filename = 'f.bin'): FormData {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  if (file !== undefined) fd.append('file', new Blob([typeof file === 'string' ? Buffer.from(file) : file]), filename);
  return fd;
}

interface Up {
  base?: string;
  sha?: string;
  mtime?: string;
  client?: string;
  onConflict?: string;
  size?: string;
}

function upload(f: Fixture, path: string, content: string | Uint8Array, o: Up = {}, headers?: Record<string, string>): Promise<Reply> {
  const fields: Record<string, string> = { path, sha256: o.sha ?? sha256(content), base_sha256: o.base ?? '', mtime_ns: o.mtime ?? ns() };
  if (o.client) fields.client_id = o.client;
  if (o.size) fields.size = o.size;
  if (o.onConflict) fields.on_conflict = o.onConflict;
  return api(f, 'POST', '/upload', { form: form(fields, content), headers });
}

async function register(f: Fixture, name: string): Promise<string> {
  const r = await api(f, 'POST', '/register', { json: { client_name: name, platform: 'test' } });
  expect(r.status, r.text).toBe(200);
  return r.json.client_id as string;
}

/** Every entry under `dir` (dotfiles included, symlinks not followed), with the size and hash of each file. */
function snapshot(dir: string, skip: string[] = []): string[] {
  const out: string[] = [];
  for (const rel of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (skip.some((s) => rel === s || rel.startsWith(`${s}/`))) continue;
    const st = lstatSync(join(dir, rel));
    if (st.isSymbolicLink()) out.push(`${rel} -> symlink`);
    else if (st.isDirectory()) out.push(`${rel}/`);
    else out.push(`${rel} ${st.size} ${sha256(readFileSync(join(dir, rel)))}`);
  }
  return out.sort();
}

/** A stack frame as V8 prints it. */
const STACK_FRAME = /\bat\s+(?:\S+\s+\()?(?:file:\/\/|node:|\/)[^\s)]*:\d+:\d+/;

/**
 * A refusal as docs/serve.md promises it: 4xx, `{error, message}`, no server path, no stack, no
 * canary. `sent` is what the client itself sent (a message may quote it back, even when it is an
 * absolute path that happens to be the server's).
 */
function expectRefused(f: Fixture, r: Reply, codes?: string[], sent?: string): void {
  expect(r.status, r.text).toBeGreaterThanOrEqual(400);
  expect(r.status, r.text).toBeLessThan(500);
  expect(r.json, r.text).toMatchObject({ error: expect.any(String), message: expect.any(String) });
  if (codes) expect(codes, r.text).toContain(r.json.error);
  const own = sent === undefined ? r.text : r.text.split(JSON.stringify(sent).slice(1, -1)).join('').split(sent).join('');
  for (const where of new Set([f.root, realpathSync(f.root)])) expect(own).not.toContain(where);
  expect(r.text).not.toMatch(STACK_FRAME);
  expect(r.text).not.toContain(f.canaryText);
}

const listDir = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();

// ---------------------------------------------------------------------------------------------------

interface Hostile {
  name: string;
  /** As it goes in a URL (sent raw). */
  url: string;
  /** As it goes in a body field. */
  field: string;
  /** Only for endpoints that do not write (an absolute path at /etc: nothing may ever act on it). */
  readOnly?: boolean;
}

const X = 'canary.txt'; // `../canary.txt` from the sync dir is the canary beside it
const ABS = '@ABS@'; // the canary's absolute path, filled in per fixture
const LONG = `${'n'.repeat(296)}.txt`; // a 300-byte name
const TEMP = '.ferry-tmp-0123456789abcdef'; // TEMP_NAME in src/targets/temp-names.ts

const CORPUS: Hostile[] = [
  { name: '../x', url: `../${X}`, field: `../${X}` },
  { name: '..', url: '..', field: '..' },
  { name: '.', url: '.', field: '.' },
  { name: 'a/../../x', url: `a/../../${X}`, field: `a/../../${X}` },
  { name: '../../x', url: `../../${X}`, field: `../../${X}` },
  { name: '%2e%2e/x', url: `%2e%2e/${X}`, field: `%2e%2e/${X}` },
  { name: '%2e%2e/%2e%2e/etc/passwd', url: '%2e%2e/%2e%2e/etc/passwd', field: '%2e%2e/%2e%2e/etc/passwd', readOnly: true },
  { name: '%2E%2E%2Fx', url: `%2E%2E%2F${X}`, field: `%2E%2E%2F${X}` },
  { name: '..%2fx', url: `..%2f${X}`, field: `..%2f${X}` },
  { name: '%252e%252e/x', url: `%252e%252e/${X}`, field: `%252e%252e/${X}` },
  { name: '/etc/passwd', url: '/etc/passwd', field: '/etc/passwd', readOnly: true },
  { name: 'absolute path of the canary', url: ABS, field: ABS },
  { name: 'a//b', url: 'a//b.txt', field: 'a//b.txt' },
  { name: 'a/./b', url: 'a/./b.txt', field: 'a/./b.txt' },
  { name: 'trailing slash', url: 'a/', field: 'a/' },
  { name: 'a\\..\\b', url: 'a\\..\\b.txt', field: 'a\\..\\b.txt' },
  { name: 'a%5C..%5Cb', url: 'a%5C..%5Cb.txt', field: 'a\\..\\b.txt' },
  { name: '..\\x', url: `..%5C${X}`, field: `..\\${X}` },
  { name: 'NUL (a%00b)', url: 'a%00b.txt', field: 'a\u0000b.txt' },
  { name: 'control char \\u0001', url: 'a%01b.txt', field: 'a\u0001b.txt' },
  { name: 'newline', url: 'a%0Ab.txt', field: 'a\nb.txt' },
  { name: 'DEL \\u007f', url: 'a%7Fb.txt', field: 'a\u007fb.txt' },
  { name: 'a 300-byte name', url: LONG, field: LONG },
  { name: 'ferry temp name', url: TEMP, field: TEMP },
  { name: 'ferry temp name in a dir', url: `d/${TEMP}`, field: `d/${TEMP}` },
];

const fill = (s: string, f: Fixture): string => (s === ABS ? f.canaryPath : s);

interface Endpoint {
  name: string;
  writes: boolean;
  prepare?: (f: Fixture) => Promise<void>;
  send: (f: Fixture, h: Hostile) => Promise<Reply>;
}

const ensureKeep = async (f: Fixture): Promise<void> => {
  const r = await api(f, 'GET', '/files');
  if (!(r.json.files as Array<{ path: string }>).some((x) => x.path === 'keep.txt')) expect((await upload(f, 'keep.txt', 'keep me')).status).toBeLessThan(300);
};

const ENDPOINTS: Endpoint[] = [
  { name: 'GET /download/…', writes: false, send: (f, h) => raw(f, 'GET', `/download/${fill(h.url, f)}`) },
  { name: 'DELETE /files/…', writes: true, send: (f, h) => raw(f, 'DELETE', `/files/${fill(h.url, f)}`) },
  { name: 'POST /upload path', writes: true, send: (f, h) => upload(f, fill(h.field, f), 'PWNED') },
  { name: 'POST /uploads path', writes: true, send: (f, h) => api(f, 'POST', '/uploads', { json: { path: fill(h.field, f), size: 5 } }) },
  { name: 'POST /move from', writes: true, send: (f, h) => api(f, 'POST', '/move', { json: { from: fill(h.field, f), to: 'moved.txt' } }) },
  { name: 'POST /move to', writes: true, prepare: ensureKeep, send: (f, h) => api(f, 'POST', '/move', { json: { from: 'keep.txt', to: fill(h.field, f) } }) },
  {
    name: 'POST /sync files[].path',
    writes: false,
    send: (f, h) => api(f, 'POST', '/sync', { json: { files: [{ path: fill(h.field, f), size: 5, mtime_ns: ns(), sha256: sha256('PWNED'), base_sha256: null }] } }),
  },
];

describe('the hostile corpus: every path a client can name', () => {
  const f = fixture();
  beforeAll(async () => {
    expect((await upload(f, 'keep.txt', 'keep me')).status).toBe(201);
  });

  for (const ep of ENDPOINTS) {
    describe(ep.name, () => {
      for (const h of CORPUS) {
        if (h.readOnly && ep.writes) continue;
        it(`refuses ${h.name}`, async () => {
          await ep.prepare?.(f);
          const before = snapshot(f.root, ['state']);
          const r = await ep.send(f, h);
          expectRefused(f, r, undefined, h.url === ABS ? f.canaryPath : undefined);
          expect(snapshot(f.root, ['state'])).toEqual(before);
          expect(readFileSync(f.canaryPath, 'utf8')).toBe(f.canaryText);
        });
      }
    });
  }

  it('calls every path refusal BAD_PATH (docs/serve.md) on the body fields', async () => {
    const got: string[] = [];
    for (const h of CORPUS) {
      const r = await upload(f, fill(h.field, f), 'PWNED');
      got.push(`${h.name}: ${r.status} ${r.json?.error}`);
    }
    expect(got).toEqual(CORPUS.map((h) => `${h.name}: 400 BAD_PATH`));
  });

  it('never serves the canary, whatever the download URL', async () => {
    const urls = ['/download/../canary.txt', '/download/%2e%2e/canary.txt', '/download/%2E%2E/canary.txt', '/download/..%2Fcanary.txt', '/download/.%2e/canary.txt', '/download/%2e./canary.txt', '/download/sub/%2e%2e/%2e%2e/canary.txt', '/download/%c0%ae%c0%ae/canary.txt', `/download/${encodeURIComponent(f.canaryPath ?? '')}`, '/download/%2fetc%2fpasswd', '/download/..;/canary.txt'];
    for (const u of urls) {
      const r = await raw(f, 'GET', u);
      expectRefused(f, r, undefined, f.canaryPath);
      expect(r.text).not.toMatch(/root:.*:0:0:/);
    }
  });
});

// ---------------------------------------------------------------------------------------------------

describe('a symlinked directory inside the sync dir', () => {
  let outside = '';
  const f = fixture({}, (fx) => {
    outside = join(fx.root, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret'), fx.canaryText);
    symlinkSync(outside, join(fx.sync, 'link'));
  });
  const outsideNow = (): string[] => snapshot(outside);
  const secretIntact = (): void => {
    expect(outsideNow()).toEqual([`secret ${f.canaryText.length} ${sha256(f.canaryText)}`]);
  };

  it('refuses an upload to link/x.txt (400 BAD_PATH) and writes nothing in the outside dir', async () => {
    const r = await upload(f, 'link/x.txt', 'through the link');
    expectRefused(f, r, ['BAD_PATH']);
    expect(r.status).toBe(400);
    secretIntact();
    const over = await upload(f, 'link/secret', 'overwritten');
    expectRefused(f, over, ['BAD_PATH']);
    secretIntact();
  });

  it('refuses a resumable upload and a move into link/', async () => {
    const r = await api(f, 'POST', '/uploads', { json: { path: 'link/x.txt', size: 3 } });
    expectRefused(f, r, ['BAD_PATH']);
    expect((await upload(f, 'real.txt', 'real')).status).toBe(201);
    const m = await api(f, 'POST', '/move', { json: { from: 'real.txt', to: 'link/real.txt', base_sha256: sha256('real') } });
    expectRefused(f, m, ['BAD_PATH']);
    expect(readFileSync(join(f.sync, 'real.txt'), 'utf8')).toBe('real');
    secretIntact();
  });

  it('refuses a download or a delete of link/secret', async () => {
    expectRefused(f, await raw(f, 'GET', '/download/link/secret'));
    expectRefused(f, await raw(f, 'DELETE', '/files/link/secret'));
    secretIntact();
  });

  it('refuses to read, replace or delete through a directory that became a symlink after its file was recorded', async () => {
    expect((await upload(f, 'swap/secret', 'inside')).status).toBe(201);
    rmSync(join(f.sync, 'swap'), { recursive: true });
    symlinkSync(outside, join(f.sync, 'swap'));
    expectRefused(f, await raw(f, 'GET', '/download/swap/secret'));
    expectRefused(f, await raw(f, 'GET', '/download/swap/secret', { headers: { range: 'bytes=0-5' } }));
    expectRefused(f, await upload(f, 'swap/secret', 'replaced', { base: sha256('inside') }));
    expectRefused(f, await raw(f, 'DELETE', `/files/swap/secret?base_sha256=${sha256('inside')}`));
    expectRefused(f, await api(f, 'POST', '/move', { json: { from: 'swap/secret', to: 'stolen.txt', base_sha256: sha256('inside') } }));
    expect(existsSync(join(f.sync, 'stolen.txt'))).toBe(false);
    secretIntact();
  });

  it('refuses to read a file that became a symlink to the outside after it was recorded', async () => {
    const secretText = f.canaryText;
    expect((await upload(f, 'plain.txt', secretText.replace(/./g, 'p'))).status).toBe(201);
    rmSync(join(f.sync, 'plain.txt'));
    symlinkSync(join(outside, 'secret'), join(f.sync, 'plain.txt'));
    expectRefused(f, await raw(f, 'GET', '/download/plain.txt'));
    secretIntact();
  });
});

// ---------------------------------------------------------------------------------------------------

describe('malformed bodies and limits (max_file_size 1024, allowed_extensions [.txt])', () => {
  const f = fixture({ maxFileSize: 1024, allowedExtensions: ['.txt'] });
  const json = (method: string, path: string, body: string): Promise<Reply> => raw(f, method, path, { headers: { 'content-type': 'application/json' }, body });

  it('answers invalid JSON with 400 BAD_REQUEST', async () => {
    for (const [method, path] of [['POST', '/register'], ['POST', '/sync'], ['POST', '/move'], ['POST', '/uploads'], ['POST', `/uploads/${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}/finish`]] as const) {
      for (const body of ['{"client_name":', '{files: []}', 'nope', '[1,]']) {
        const r = await json(method, path, body);
        expectRefused(f, r, ['BAD_REQUEST']);
        expect(r.status, `${method} ${path} ${body}`).toBe(400);
      }
    }
  });

  it('answers wrong types and missing fields with 400', async () => {
    const cases: Array<[string, unknown]> = [
      ['/sync', { files: 'x' }],
      ['/sync', {}],
      ['/sync', { files: [{ path: 'a.txt', size: '10', sha256: sha256('a') }] }],
      ['/sync', { files: [{ path: 5, sha256: sha256('a') }] }],
      ['/sync', { files: [{ path: 'a.txt', sha256: 'not a hash' }] }],
      ['/sync', { files: [{ path: 'a.txt', mtime_ns: 'yesterday', sha256: sha256('a') }] }],
      ['/register', { client_name: 5 }],
      ['/register', {}],
      ['/register', { client_name: '' }],
      ['/uploads', { path: 'a.txt', size: '10' }],
      ['/uploads', { path: 'a.txt', size: -1 }],
      ['/uploads', { path: 7 }],
      ['/uploads', { path: 'a.txt', sha256: 'zz' }],
      ['/uploads', { path: 'a.txt', mtime_ns: 12 }],
      ['/move', { from: 1, to: 'b.txt' }],
      ['/move', { from: 'a.txt' }],
      ['/move', { from: 'a.txt', to: 'b.txt', base_sha256: 'short' }],
    ];
    for (const [path, body] of cases) {
      const r = await api(f, 'POST', path, { json: body });
      expectRefused(f, r);
      expect(r.status, `${path} ${JSON.stringify(body)}: ${r.text}`).toBe(400);
      expect(r.json.error).toMatch(/^BAD_(REQUEST|PATH)$/);
    }
    expect(listDir(f.sync)).toEqual([]);
  });

  it('answers a multipart body without a file, or with bad fields, with 400', async () => {
    const noFile = await api(f, 'POST', '/upload', { form: form({ path: 'a.txt', sha256: sha256('a'), mtime_ns: ns() }) });
    expectRefused(f, noFile, ['BAD_REQUEST']);
    expect(noFile.status).toBe(400);
    const bad: Array<Record<string, string>> = [{ path: 'a.txt', size: 'ten' }, { path: 'a.txt', mtime_ns: 'yesterday' }, { path: 'a.txt', sha256: 'xyz' }, { path: 'a.txt', on_conflict: 'merge' }, { sha256: sha256('a') }];
    for (const fields of bad) {
      const r = await api(f, 'POST', '/upload', { form: form(fields, 'a') });
      expectRefused(f, r);
      expect(r.status, `${JSON.stringify(fields)}: ${r.text}`).toBe(400);
    }
    expect(listDir(f.sync)).toEqual([]);
  });

  it('answers a non-multipart POST /upload with 415 (or 400)', async () => {
    for (const [type, body] of [['application/json', '{"path":"a.txt"}'], ['text/plain', 'hello'], ['application/octet-stream', 'hello'], ['application/x-www-form-urlencoded', 'path=a.txt']] as const) {
      const r = await raw(f, 'POST', '/upload', { headers: { 'content-type': type }, body });
      expectRefused(f, r);
      expect([400, 415], `${type}: ${r.text}`).toContain(r.status);
    }
    expect(listDir(f.sync)).toEqual([]);
  });

  it('refuses a declared size over max_file_size with 413 before the file is read', async () => {
    const boundary = 'ferryTestBoundary';
    const field = (name: string, value: string): string => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const head = `${field('path', 'big.txt')}${field('mtime_ns', ns())}${field('size', '5000')}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: f.port, method: 'POST', path: '/upload', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
          req.destroy();
        });
      });
      req.on('error', () => undefined); // the server may hang up on the rest of the body
      const timer = setTimeout(() => {
        req.destroy();
        reject(new Error('no answer while the file was still being sent'));
      }, 3000);
      req.on('close', () => clearTimeout(timer));
      req.write(head);
      req.write(Buffer.alloc(100, 'x')); // the other 4900 bytes never come
    });
    expect(answer.status, answer.body).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'TOO_LARGE', message: expect.any(String) });
    expect(listDir(f.sync)).toEqual([]);
  });

  it('refuses a Content-Length far over the limit with 413 before the body is read', async () => {
    const answer = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: f.port, method: 'POST', path: '/upload', headers: { 'content-type': 'multipart/form-data; boundary=b', 'content-length': String(50 * 1024 * 1024) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', () => undefined);
      setTimeout(() => reject(new Error('no answer')), 3000).unref();
      req.write('--b\r\n');
    });
    expect(answer).toBe(413);
  });

  it('refuses a declared size over the limit sent whole too (413)', async () => {
    const r = await upload(f, 'big.txt', Buffer.alloc(2048, 'y'), { size: '2048' });
    expectRefused(f, r, ['TOO_LARGE']);
    expect(r.status).toBe(413);
    expect(listDir(f.sync)).toEqual([]);
  });

  it('refuses a 2 KiB upload without a size field with 413 and leaves nothing behind, no temp file either', async () => {
    const r = await upload(f, 'two.txt', Buffer.alloc(2048, 'z'));
    expectRefused(f, r, ['TOO_LARGE']);
    expect(r.status).toBe(413);
    await expect.poll(() => listDir(f.sync), { timeout: 1000 }).toEqual([]);
    expect((await api(f, 'GET', '/files')).json.files).toEqual([]);
  });

  it('refuses a resumable upload over the limit (413) declared or not, and leaves no temp file', async () => {
    const declared = await api(f, 'POST', '/uploads', { json: { path: 'big.txt', size: 2048 } });
    expectRefused(f, declared, ['TOO_LARGE']);
    expect(declared.status).toBe(413);
    const open = await api(f, 'POST', '/uploads', { json: { path: 'big.txt' } });
    expect(open.status, open.text).toBe(201);
    const put = await api(f, 'PUT', `/uploads/${open.json.upload_id}`, { body: Buffer.alloc(2048, 'q'), headers: { 'content-type': 'application/octet-stream', 'content-range': 'bytes 0-2047/2048' } });
    expectRefused(f, put, ['TOO_LARGE']);
    expect(put.status).toBe(413);
    expect((await api(f, 'DELETE', `/uploads/${open.json.upload_id}`)).status).toBe(204);
    await expect.poll(() => listDir(f.sync), { timeout: 1000 }).toEqual([]);
  });

  it('refuses an extension not allowed with 415 EXTENSION_NOT_ALLOWED', async () => {
    for (const name of ['a.md', 'noext', 'dir/b.TXT.md', '.txt']) {
      const r = await upload(f, name, 'content');
      expectRefused(f, r, ['EXTENSION_NOT_ALLOWED']);
      expect(r.status, name).toBe(415);
    }
    const s = await api(f, 'POST', '/uploads', { json: { path: 'a.md', size: 3 } });
    expectRefused(f, s, ['EXTENSION_NOT_ALLOWED']);
    expect(s.status).toBe(415);
    expect(listDir(f.sync)).toEqual([]);
    const ok = await upload(f, 'ok.TXT', 'fine');
    expect(ok.status, ok.text).toBe(201);
    const m = await api(f, 'POST', '/move', { json: { from: 'ok.TXT', to: 'ok.md', base_sha256: sha256('fine') } });
    expectRefused(f, m, ['EXTENSION_NOT_ALLOWED']);
    expect(m.status).toBe(415);
    expect(listDir(f.sync)).toEqual(['ok.TXT']);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('API keys', () => {
  const f = fixture();
  let store: ServerStore;
  const first = newApiKey();
  const spare = newApiKey();
  let uploadId = '';
  const FAKE = '00000000-0000-4000-8000-000000000000';
  beforeAll(async () => {
    store = await openServerStore(f.db, { lock: false });
    expect((await upload(f, 'a.txt', 'a')).status).toBe(201);
    const s = await api(f, 'POST', '/uploads', { json: { path: 'r.txt', size: 4 } });
    expect(s.status).toBe(201);
    uploadId = s.json.upload_id;
  });
  afterAll(async () => {
    await store?.close();
  });

  /** Every endpoint but /health, as a request that does nothing harmful, with what it answers when allowed. */
  const endpoints = (): Array<[string, (h: Record<string, string>) => Promise<Reply>, number]> => [
    ['GET /files', (h) => api(f, 'GET', '/files', { headers: h }), 200],
    ['GET /files?deleted=true', (h) => api(f, 'GET', '/files?deleted=true', { headers: h }), 200],
    ['GET /changes', (h) => api(f, 'GET', '/changes?since=0', { headers: h }), 200],
    ['GET /clients', (h) => api(f, 'GET', '/clients', { headers: h }), 200],
    ['GET /conflicts', (h) => api(f, 'GET', '/conflicts', { headers: h }), 200],
    ['GET /openapi.json', (h) => api(f, 'GET', '/openapi.json', { headers: h }), 200],
    ['POST /register', (h) => api(f, 'POST', '/register', { headers: h, json: { client_name: 'k', client_id: 'fixed-id' } }), 200],
    ['POST /sync', (h) => api(f, 'POST', '/sync', { headers: h, json: { files: [] } }), 200],
    ['POST /upload', (h) => upload(f, 'a.txt', 'a', {}, h), 200],
    ['GET /download/a.txt', (h) => api(f, 'GET', '/download/a.txt', { headers: h }), 200],
    ['DELETE /files/nope.txt', (h) => api(f, 'DELETE', '/files/nope.txt', { headers: h }), 404],
    ['POST /move', (h) => api(f, 'POST', '/move', { headers: h, json: { from: 'nope.txt', to: 'b.txt' } }), 404],
    ['POST /uploads', (h) => api(f, 'POST', '/uploads', { headers: h, json: { path: 'other.txt', size: 10, sha256: 'zz' } }), 400],
    ['GET /uploads/{id}', (h) => api(f, 'GET', `/uploads/${uploadId}`, { headers: h }), 200],
    ['PUT /uploads/{id}', (h) => api(f, 'PUT', `/uploads/${FAKE}`, { headers: { ...h, 'content-type': 'application/octet-stream', 'content-range': 'bytes 0-0/1' }, body: 'x' }), 404],
    ['GET /uploads/{id}/data', (h) => api(f, 'GET', `/uploads/${uploadId}/data`, { headers: h }), 200],
    ['POST /uploads/{id}/finish', (h) => api(f, 'POST', `/uploads/${FAKE}/finish`, { headers: h, json: {} }), 404],
    ['DELETE /uploads/{id}', (h) => api(f, 'DELETE', `/uploads/${FAKE}`, { headers: h }), 404],
    ['GET /nowhere', (h) => api(f, 'GET', '/nowhere', { headers: h }), 404],
  ];
  const allAnswer = async (headers: Record<string, string>): Promise<string[]> => {
    const got: string[] = [];
    for (const [name, send] of endpoints()) got.push(`${name}: ${(await send(headers)).status}`);
    return got;
  };
  const allowed = (): string[] => endpoints().map(([name, , status]) => `${name}: ${status}`);
  const refused = (): string[] => endpoints().map(([name]) => `${name}: 401`);
  const bearer = (k: string): Record<string, string> => ({ authorization: `Bearer ${k}` });
  const xKey = (k: string): Record<string, string> => ({ 'x-api-key': k });

  it('with no key, every request passes', async () => {
    expect(await allAnswer({})).toEqual(allowed());
  });

  it('once a key is added, every endpoint but /health answers 401 without a key or with a wrong one, at once', async () => {
    await store.addKey('first', hashApiKey(first));
    expect(await allAnswer({})).toEqual(refused());
    expect(await allAnswer(bearer('fk_wrong'))).toEqual(refused());
    expect(await allAnswer(xKey(newApiKey()))).toEqual(refused());
    expect(await allAnswer({ authorization: `Basic ${Buffer.from(`u:${first}`).toString('base64')}` })).toEqual(refused());
    expect(await allAnswer({ authorization: first })).toEqual(refused());
    const r = await api(f, 'GET', '/files');
    expect(r.json).toEqual({ error: 'UNAUTHORIZED', message: expect.any(String) });
    expect(r.text).not.toContain(first);
    const health = await api(f, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: 'ok', sequence: expect.any(Number) });
  });

  it('takes the key as Authorization: Bearer KEY and as X-API-Key: KEY', async () => {
    expect(await allAnswer(bearer(first))).toEqual(allowed());
    expect(await allAnswer(xKey(first))).toEqual(allowed());
  });

  it('refuses a WebSocket without a key, takes one with a key', async () => {
    expect((await api(f, 'POST', '/register', { json: { client_name: 'ws-client' } })).status).toBe(401);
    const reg = await api(f, 'POST', '/register', { json: { client_name: 'ws-client' }, headers: bearer(first) });
    const clientId = reg.json.client_id as string;
    const wsUrl = `${f.url.replace(/^http/, 'ws')}/ws/${clientId}`;
    const without = await wsOutcome(new WebSocket(wsUrl));
    expect(without.kind === 'refused' ? without.status : without.kind === 'closed' ? without.code : 'open').toSatisfy((v: unknown) => v === 401 || v === 4401);
    const wrong = await wsOutcome(new WebSocket(`${wsUrl}?api_key=fk_wrong`));
    expect(wrong.kind).not.toBe('open');
    const query = await wsOutcome(new WebSocket(`${wsUrl}?api_key=${first}`));
    expect(query).toMatchObject({ kind: 'open', first: { type: 'CLIENT_CONNECT', client_id: clientId } });
    const header = await wsOutcome(new WebSocket(wsUrl, { headers: bearer(first) }));
    expect(header).toMatchObject({ kind: 'open', first: { type: 'CLIENT_CONNECT' } });
  });

  it('a key revoked through the store is refused at once; the others still work', async () => {
    await store.addKey('spare', hashApiKey(spare));
    expect(await allAnswer(bearer(spare))).toEqual(allowed());
    expect(await store.revokeKey('first')).toBe(true);
    expect(await allAnswer(bearer(first))).toEqual(refused());
    expect(await allAnswer(xKey(first))).toEqual(refused());
    expect(await allAnswer(xKey(spare))).toEqual(allowed());
  });

  it('ferry serve keys add --db prints a key once, it counts at once; list shows the name, not the key; revoke refuses it at once', async () => {
    const env = { XDG_STATE_HOME: f.state };
    const added = await runCli(['serve', 'keys', 'add', '--name', 'x', '--db', f.db], env);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/^fk_[A-Za-z0-9_-]{43}\n$/);
    const cliKey = added.stdout.trim();
    expect(`${added.stdout}${added.stderr}`.split(cliKey).length - 1).toBe(1);
    expect(existsSync(join(f.state, 'ferry')), 'keys add wrote a database of its own in the state directory').toBe(false);
    expect((await store.listKeys()).map((k) => k.name)).toEqual(['spare', 'x']);
    expect((await api(f, 'GET', '/files', { headers: bearer(cliKey) })).status).toBe(200);
    expect((await api(f, 'GET', '/files', { headers: xKey(cliKey) })).status).toBe(200);

    const list = await runCli(['serve', 'keys', 'list', '--db', f.db], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0])).toEqual(['spare', 'x']);
    const listJson = await runCli(['serve', 'keys', 'list', '--db', f.db, '--json'], env);
    for (const secret of [cliKey, spare, hashApiKey(cliKey), hashApiKey(spare)]) {
      expect(`${list.stdout}${list.stderr}${listJson.stdout}${listJson.stderr}`).not.toContain(secret);
    }

    const revoked = await runCli(['serve', 'keys', 'revoke', 'x', '--db', f.db], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/revoked key "x"/);
    expect(await allAnswer(bearer(cliKey))).toEqual(refused());
    expect((await api(f, 'GET', '/files', { headers: xKey(spare) })).status).toBe(200);
    const again = await runCli(['serve', 'keys', 'revoke', 'x', '--db', f.db], env);
    expect(again.code).not.toBe(0);
    expect((await store.listKeys()).map((k) => k.name)).toEqual(['spare']);
  });

  it('with the last key revoked the server is open again (docs/serve.md: no key, no auth)', async () => {
    for (const k of await store.listKeys()) await store.revokeKey(k.name);
    expect(await allAnswer({})).toEqual(allowed());
  });
});

type WsOutcome =
  | { kind: 'open'; first: Json }
  | { kind: 'refused'; status: number }
  | { kind: 'closed'; code: number; messages: Json[] }
  | { kind: 'error'; message: string };

/** How a WebSocket attempt ends: open with its first message, refused at the upgrade, or closed. */
function wsOutcome(ws: WebSocket): Promise<WsOutcome> {
  return new Promise((resolve) => {
    const messages: Json[] = [];
    ws.on('unexpected-response', (_req, res) => {
      resolve({ kind: 'refused', status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.on('message', (d) => {
      messages.push(JSON.parse(d.toString()));
      if (messages[0]?.type === 'CLIENT_CONNECT') {
        resolve({ kind: 'open', first: messages[0] });
        ws.close();
      }
    });
    ws.on('close', (code) => resolve({ kind: 'closed', code, messages }));
    ws.on('error', (e) => resolve({ kind: 'error', message: e.message }));
  });
}

// ---------------------------------------------------------------------------------------------------

describe('the protocol', () => {
  const f = fixture();
  let laptop = '';
  let phone = '';
  beforeAll(async () => {
    laptop = await register(f, 'laptop');
    phone = await register(f, 'phone');
  });

  it('a second server on a port in use is refused with one sentence (USAGE, exit 2), and the first goes on', async () => {
    const other = join(f.root, 'other-sync');
    const err = await startServer({ dir: other, db: join(f.state, 'other.db'), port: f.port, log: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'USAGE', message: `Cannot listen on 127.0.0.1:${f.port}: the address is already in use (another server on that port?).` });
    expect((await api(f, 'GET', '/health')).status).toBe(200);
  });

  it('health and registration', async () => {
    const h = await api(f, 'GET', '/health');
    expect(h.json).toMatchObject({ status: 'ok', version: expect.any(String), sequence: 0 });
    const r = await api(f, 'POST', '/register', { json: { client_name: 'laptop', client_id: laptop } });
    expect(r.json).toMatchObject({ client_id: laptop, client_name: 'laptop', sequence: 0, max_file_size: expect.any(Number), allowed_extensions: null, heartbeat_s: 15 });
  });

  it('uploads (multipart) then downloads: bytes, ETag, X-Mtime-Ns, ranges', async () => {
    const content = 'hello world';
    const up = await upload(f, 'docs/a.txt', content, { client: laptop, mtime: ns() });
    expect(up.status, up.text).toBe(201);
    expect(up.json).toEqual({ path: 'docs/a.txt', size: 11, mtime_ns: ns(), sha256: sha256(content), seq: 1, deleted: false, client_id: laptop });
    const down = await api(f, 'GET', '/download/docs/a.txt');
    expect(down.status).toBe(200);
    expect(down.text).toBe(content);
    expect(down.header('etag')).toBe(`"${sha256(content)}"`);
    expect(down.header('x-mtime-ns')).toBe(ns());
    expect(down.header('accept-ranges')).toBe('bytes');
    expect(down.header('last-modified')).toBe(new Date(Number(MTIME / 1_000_000n)).toUTCString());
    const part = await api(f, 'GET', '/download/docs/a.txt', { headers: { range: 'bytes=2-5' } });
    expect(part.status).toBe(206);
    expect(part.text).toBe('llo ');
    expect(part.header('content-range')).toBe('bytes 2-5/11');
    const tail = await api(f, 'GET', '/download/docs/a.txt', { headers: { range: 'bytes=-3' } });
    expect([tail.status, tail.text]).toEqual([206, 'rld']);
    const past = await api(f, 'GET', '/download/docs/a.txt', { headers: { range: 'bytes=999-' } });
    expectRefused(f, past, ['RANGE_NOT_SATISFIABLE']);
    expect(past.status).toBe(416);
    const missing = await api(f, 'GET', '/download/docs/none.txt');
    expectRefused(f, missing, ['NOT_FOUND']);
    expect(missing.status).toBe(404);
    const cached = await api(f, 'GET', '/download/docs/a.txt', { headers: { 'if-none-match': `"${sha256(content)}"` } });
    expect(cached.status).toBe(304);
  });

  it('refuses an upload with a wrong sha256 (422) and keeps the old content', async () => {
    const r = await upload(f, 'docs/a.txt', 'evil bytes', { sha: sha256('something else'), base: sha256('hello world'), client: laptop, mtime: ns(5) });
    expectRefused(f, r, ['CHECKSUM_MISMATCH']);
    expect(r.status).toBe(422);
    expect((await api(f, 'GET', '/download/docs/a.txt')).text).toBe('hello world');
    const size = await upload(f, 'docs/a.txt', 'evil bytes', { size: '3', base: sha256('hello world'), client: laptop, mtime: ns(5) });
    expectRefused(f, size, ['SIZE_MISMATCH']);
    expect(size.status).toBe(422);
    expect((await api(f, 'GET', '/download/docs/a.txt')).text).toBe('hello world');
    expect(snapshot(f.sync)).toEqual(['docs/', `docs/a.txt 11 ${sha256('hello world')}`]);
  });

  it('a stale base is a 409 CONFLICT with current; keep-both keeps both (the newer mtime keeps the name); same bytes are no conflict', async () => {
    const v1 = 'version 1';
    const v2 = 'version 2 (laptop)';
    const v3 = 'version 3 (phone)';
    expect((await upload(f, 'doc.txt', v1, { client: laptop, mtime: ns(10) })).status).toBe(201);
    expect((await upload(f, 'doc.txt', v2, { base: sha256(v1), client: laptop, mtime: ns(20) })).status).toBe(200);

    const stale = await upload(f, 'doc.txt', v3, { base: sha256(v1), client: phone, mtime: ns(30) });
    expectRefused(f, stale, ['CONFLICT']);
    expect(stale.status).toBe(409);
    expect(stale.json.current).toMatchObject({ path: 'doc.txt', sha256: sha256(v2), mtime_ns: ns(20), client_id: laptop });
    expect((await api(f, 'GET', '/download/doc.txt')).text).toBe(v2);
    const none = await upload(f, 'doc.txt', v3, { client: phone, mtime: ns(30) }); // no base at all: also a conflict
    expect(none.status).toBe(409);

    // Ours (the phone's) is newer: it keeps the name; the laptop's moves aside, named for the laptop.
    const ours = await upload(f, 'doc.txt', v3, { base: sha256(v1), client: phone, mtime: ns(30), onConflict: 'keep-both' });
    expect(ours.status, ours.text).toBe(200);
    expect(ours.json).toMatchObject({ path: 'doc.txt', sha256: sha256(v3), conflict: { kept: 'ours', copy: expect.stringMatching(/^doc\.sync-conflict-\d{8}-\d{6}-laptop\.txt$/) } });
    const copy1 = ours.json.conflict.copy as string;
    expect((await api(f, 'GET', '/download/doc.txt')).text).toBe(v3);
    expect((await api(f, 'GET', `/download/${copy1}`)).text).toBe(v2);

    // Theirs (the server's) is newer: it keeps the name; the phone's older version is the copy.
    const w1 = 'note v1';
    const w2 = 'note v2 (laptop)';
    const w3 = 'note v3 (phone, older)';
    expect((await upload(f, 'sub/note.md', w1, { client: laptop, mtime: ns(10) })).status).toBe(201);
    expect((await upload(f, 'sub/note.md', w2, { base: sha256(w1), client: laptop, mtime: ns(40) })).status).toBe(200);
    const theirs = await upload(f, 'sub/note.md', w3, { base: sha256(w1), client: phone, mtime: ns(35), onConflict: 'keep-both' });
    // The sent version lost: the answer is the copy it was kept as (a new file), with what holds the name.
    expect(theirs.status, theirs.text).toBe(201);
    expect(theirs.json).toMatchObject({ sha256: sha256(w3), conflict: { kept: 'theirs', copy: expect.stringMatching(/^sub\/note\.sync-conflict-\d{8}-\d{6}-phone\.md$/), current: { path: 'sub/note.md', sha256: sha256(w2) } } });
    expect(theirs.json.path).toBe(theirs.json.conflict.copy);
    const copy2 = theirs.json.conflict.copy as string;
    expect((await api(f, 'GET', '/download/sub/note.md')).text).toBe(w2);
    expect((await api(f, 'GET', `/download/${copy2}`)).text).toBe(w3);

    const conflicts = (await api(f, 'GET', '/conflicts')).json.conflicts as Json[];
    expect(conflicts).toEqual(expect.arrayContaining([
      expect.objectContaining({ path: 'doc.txt', copy: copy1, sha256: sha256(v2), client_id: laptop }),
      expect.objectContaining({ path: 'sub/note.md', copy: copy2, sha256: sha256(w3), client_id: phone }),
    ]));
    expect(conflicts).toHaveLength(2);
    const listed = ((await api(f, 'GET', '/files')).json.files as Json[]).map((x) => x.path);
    expect(listed).toEqual(expect.arrayContaining(['doc.txt', copy1, 'sub/note.md', copy2]));

    // The same bytes the server has, with a stale base: no conflict.
    const same = await upload(f, 'doc.txt', v3, { base: sha256(v1), client: laptop, mtime: ns(30) });
    expect(same.status, same.text).toBe(200);
    expect(same.json.conflict).toBeUndefined();
    expect(same.json.sha256).toBe(sha256(v3));
    const sameRefuse = await upload(f, 'sub/note.md', w2, { base: sha256(w1), client: phone, mtime: ns(50) });
    expect(sameRefuse.status, sameRefuse.text).toBe(200);
    expect(sameRefuse.json.conflict).toBeUndefined();
    expect((await api(f, 'GET', '/conflicts')).json.conflicts).toHaveLength(2);
  });

  it('a client named like a path cannot steer where its conflict copy goes', async () => {
    const evil = await register(f, '../../evil/x');
    expect((await upload(f, 'ev/e.txt', 'e1', { client: laptop, mtime: ns(10) })).status).toBe(201);
    expect((await upload(f, 'ev/e.txt', 'e2', { base: sha256('e1'), client: laptop, mtime: ns(20) })).status).toBe(200);
    const r = await upload(f, 'ev/e.txt', 'e3', { base: sha256('e1'), client: evil, mtime: ns(15), onConflict: 'keep-both' });
    expect(r.status, r.text).toBe(201);
    expect(r.json.conflict.copy).toMatch(/^ev\/e\.sync-conflict-\d{8}-\d{6}-[A-Za-z0-9_-]+\.txt$/);
    expect(readdirSync(join(f.sync, 'ev')).sort()).toEqual([r.json.conflict.copy.slice(3), 'e.txt'].sort());
    expect(snapshot(f.area, ['sync'])).toEqual([`canary.txt ${f.canaryText.length} ${sha256(f.canaryText)}`]);
  });

  it('a delete with a stale base is a 409 and the file stays; with the right base it leaves a tombstone', async () => {
    expect((await upload(f, 'del.txt', 'one', { client: laptop })).status).toBe(201);
    expect((await upload(f, 'del.txt', 'two', { base: sha256('one'), client: laptop, mtime: ns(1) })).status).toBe(200);
    const stale = await raw(f, 'DELETE', `/files/del.txt?base_sha256=${sha256('one')}&client_id=${phone}`);
    expectRefused(f, stale, ['CONFLICT']);
    expect(stale.status).toBe(409);
    expect(stale.json.current).toMatchObject({ path: 'del.txt', sha256: sha256('two') });
    expect((await api(f, 'GET', '/download/del.txt')).text).toBe('two');
    const ok = await raw(f, 'DELETE', `/files/del.txt?base_sha256=${sha256('two')}&client_id=${phone}`);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json).toMatchObject({ path: 'del.txt', seq: expect.any(Number) });
    expect(existsSync(join(f.sync, 'del.txt'))).toBe(false);
    expect(((await api(f, 'GET', '/files')).json.files as Json[]).map((x) => x.path)).not.toContain('del.txt');
    const tombs = (await api(f, 'GET', '/files?deleted=true')).json.files as Json[];
    expect(tombs.find((x) => x.path === 'del.txt')).toMatchObject({ deleted: true, sha256: sha256('two'), seq: ok.json.seq, client_id: phone });
    expect((await api(f, 'GET', '/download/del.txt')).status).toBe(404);
    expect((await raw(f, 'DELETE', '/files/del.txt')).status).toBe(404);
  });

  it('the change log rises by exactly one across CREATE, UPDATE, MOVE and DELETE', async () => {
    const start = (await api(f, 'GET', '/health')).json.sequence as number;
    expect((await upload(f, 'log/e.txt', 'e1', { client: laptop })).status).toBe(201);
    expect((await upload(f, 'log/e.txt', 'e2', { base: sha256('e1'), client: laptop, mtime: ns(1) })).status).toBe(200);
    const moved = await api(f, 'POST', '/move', { json: { from: 'log/e.txt', to: 'log/f.txt', base_sha256: sha256('e2'), client_id: laptop } });
    expect(moved.status, moved.text).toBe(200);
    expect(moved.json).toMatchObject({ path: 'log/f.txt', sha256: sha256('e2'), seq: start + 3 });
    expect((await raw(f, 'DELETE', `/files/log/f.txt?base_sha256=${sha256('e2')}`)).status).toBe(200);
    const r = await api(f, 'GET', `/changes?since=${start}`);
    expect(r.json.sequence).toBe(start + 4);
    expect(r.json.more).toBe(false);
    expect((r.json.changes as Json[]).map((c) => [c.seq, c.op, c.path, c.from])).toEqual([
      [start + 1, 'CREATE', 'log/e.txt', null],
      [start + 2, 'UPDATE', 'log/e.txt', null],
      [start + 3, 'MOVE', 'log/f.txt', 'log/e.txt'],
      [start + 4, 'DELETE', 'log/f.txt', null],
    ]);
    for (const c of r.json.changes as Json[]) expect(c).toMatchObject({ size: expect.any(Number), mtime_ns: expect.stringMatching(/^\d+$/), sha256: expect.stringMatching(/^[0-9a-f]{64}$/), time: expect.any(String) });
    const all = (await api(f, 'GET', '/changes?since=0')).json.changes as Json[];
    expect(all.map((c) => c.seq)).toEqual(all.map((_, i) => i + 1));
    const page = await api(f, 'GET', '/changes?since=0&limit=2');
    expect(page.json.changes.map((c: Json) => c.seq)).toEqual([1, 2]);
    expect(page.json.more).toBe(true);
  });

  it('a file where a directory stands is a 409 CONFLICT, and nothing changes', async () => {
    const before = snapshot(f.sync);
    const r = await upload(f, 'docs', 'not a dir');
    expectRefused(f, r, ['CONFLICT']);
    expect(r.status).toBe(409);
    const under = await upload(f, 'docs/a.txt/inner.txt', 'under a file');
    expectRefused(f, under);
    expect(snapshot(f.sync)).toEqual(before);
  });

  it('a move onto an existing file is a 409 and both stay', async () => {
    expect((await upload(f, 'g.txt', 'g')).status).toBe(201);
    expect((await upload(f, 'h.txt', 'h')).status).toBe(201);
    const r = await api(f, 'POST', '/move', { json: { from: 'g.txt', to: 'h.txt', base_sha256: sha256('g') } });
    expectRefused(f, r, ['CONFLICT']);
    expect(r.status).toBe(409);
    expect((await api(f, 'GET', '/download/g.txt')).text).toBe('g');
    expect((await api(f, 'GET', '/download/h.txt')).text).toBe('h');
    const stale = await api(f, 'POST', '/move', { json: { from: 'g.txt', to: 'i.txt', base_sha256: sha256('not g') } });
    expect(stale.status).toBe(409);
    expect(existsSync(join(f.sync, 'i.txt'))).toBe(false);
  });

  it('resumable uploads: ranges, status, offset mismatch, read-back, finish, cancel', async () => {
    const SIZE = 10 * 1024 * 1024;
    const HALF = SIZE / 2;
    const data = randomBytes(SIZE);
    const created = await api(f, 'POST', '/uploads', { json: { path: 'big/r.bin', size: SIZE, sha256: sha256(data), mtime_ns: ns(3), client_id: laptop } });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ upload_id: expect.stringMatching(/^[0-9a-f-]{36}$/), received: 0, expires: expect.any(String) });
    const id = created.json.upload_id as string;
    const put = (from: number, to: number): Promise<Reply> =>
      api(f, 'PUT', `/uploads/${id}`, { body: data.subarray(from, to), headers: { 'content-type': 'application/octet-stream', 'content-range': `bytes ${from}-${to - 1}/${SIZE}` } });
    const p1 = await put(0, HALF);
    expect(p1.status, p1.text).toBe(200);
    expect(p1.json).toEqual({ upload_id: id, received: HALF });
    const st = await api(f, 'GET', `/uploads/${id}`);
    expect(st.json).toMatchObject({ upload_id: id, path: 'big/r.bin', size: SIZE, received: HALF });
    for (const [from, to] of [[0, 10], [HALF + 1, HALF + 11], [1000, 2000]]) {
      const wrong = await put(from!, to!);
      expectRefused(f, wrong, ['OFFSET_MISMATCH']);
      expect(wrong.status).toBe(409);
    }
    expect((await api(f, 'GET', `/uploads/${id}`)).json.received).toBe(HALF);
    const back = await api(f, 'GET', `/uploads/${id}/data`, { headers: { range: 'bytes=1000-1999' } });
    expect(back.status).toBe(206);
    expect(back.body.equals(data.subarray(1000, 2000))).toBe(true);
    const whole = await api(f, 'GET', `/uploads/${id}/data`);
    expect(whole.body.length).toBe(HALF);
    expect(whole.body.equals(data.subarray(0, HALF))).toBe(true);
    const early = await api(f, 'POST', `/uploads/${id}/finish`, { json: {} });
    expect(early.status).toBe(409);
    expect((await put(HALF, SIZE)).json).toEqual({ upload_id: id, received: SIZE });
    const done = await api(f, 'POST', `/uploads/${id}/finish`, { json: { mtime_ns: ns(3) } });
    expect(done.status, done.text).toBe(201);
    expect(done.json).toMatchObject({ path: 'big/r.bin', size: SIZE, sha256: sha256(data), mtime_ns: ns(3), client_id: laptop });
    const down = await api(f, 'GET', '/download/big/r.bin');
    expect(down.body.equals(data)).toBe(true);
    expect((await api(f, 'GET', `/uploads/${id}`)).status).toBe(404);
    expect(listDir(f.sync).filter((p) => p.includes('.ferry-tmp-'))).toEqual([]);

    const c = await api(f, 'POST', '/uploads', { json: { path: 'big/cancel.bin', size: 100 } });
    const cid = c.json.upload_id as string;
    expect((await api(f, 'PUT', `/uploads/${cid}`, { body: Buffer.alloc(50, 'c'), headers: { 'content-type': 'application/octet-stream', 'content-range': 'bytes 0-49/100' } })).json.received).toBe(50);
    expect(listDir(f.sync).filter((p) => p.includes('.ferry-tmp-'))).toHaveLength(1);
    const cancelled = await api(f, 'DELETE', `/uploads/${cid}`);
    expect(cancelled.status).toBe(204);
    expect(cancelled.text).toBe('');
    expect(listDir(f.sync).filter((p) => p.includes('.ferry-tmp-'))).toEqual([]);
    expect(existsSync(join(f.sync, 'big/cancel.bin'))).toBe(false);
    expect((await api(f, 'GET', `/uploads/${cid}`)).status).toBe(404);
    expect((await api(f, 'DELETE', `/uploads/${cid}`)).status).toBe(404);
  });

  it('a resumable upload with a wrong sha256 is a 422 and replaces nothing', async () => {
    const c = await api(f, 'POST', '/uploads', { json: { path: 'g.txt', size: 3, sha256: sha256('abc'), base_sha256: sha256('g') } });
    const id = c.json.upload_id as string;
    expect((await api(f, 'PUT', `/uploads/${id}`, { body: 'xyz', headers: { 'content-type': 'application/octet-stream', 'content-range': 'bytes 0-2/3' } })).status).toBe(200);
    const r = await api(f, 'POST', `/uploads/${id}/finish`, { json: {} });
    expectRefused(f, r, ['CHECKSUM_MISMATCH']);
    expect(r.status).toBe(422);
    expect((await api(f, 'GET', '/download/g.txt')).text).toBe('g');
    expect(listDir(f.sync).filter((p) => p.includes('.ferry-tmp-'))).toEqual([]);
  });

  it('GET /openapi.json is an OpenAPI 3 document listing /sync and /upload', async () => {
    const r = await api(f, 'GET', '/openapi.json');
    expect(r.status).toBe(200);
    expect(r.json.openapi).toMatch(/^3\./);
    expect(Object.keys(r.json.paths)).toEqual(expect.arrayContaining(['/sync', '/upload', '/register', '/uploads']));
  });

  it('an unknown route is a 404 JSON', async () => {
    for (const [method, path] of [['GET', '/nope'], ['POST', '/nope/deeper?x=1'], ['PATCH', '/files/a.txt'], ['GET', '/download']] as const) {
      const r = await raw(f, method, path);
      expectRefused(f, r, ['NOT_FOUND']);
      expect(r.status, `${method} ${path}`).toBe(404);
    }
  });
});

describe('a resumable upload across a restart', () => {
  const f = fixture();

  it('keeps the bytes received: the new server reports them, finish works and the sha256 matches', async () => {
    const SIZE = 3 * 1024 * 1024 + 7;
    const data = randomBytes(SIZE);
    const created = await api(f, 'POST', '/uploads', { json: { path: 'resume.bin', size: SIZE, sha256: sha256(data), mtime_ns: ns() } });
    expect(created.status).toBe(201);
    const id = created.json.upload_id as string;
    const put = (from: number, to: number): Promise<Reply> =>
      api(f, 'PUT', `/uploads/${id}`, { body: data.subarray(from, to), headers: { 'content-type': 'application/octet-stream', 'content-range': `bytes ${from}-${to - 1}/${SIZE}` } });
    const CUT = 1024 * 1024 + 3;
    expect((await put(0, CUT)).json.received).toBe(CUT);

    await f.server.close();
    await start(f);

    const st = await api(f, 'GET', `/uploads/${id}`);
    expect(st.status, st.text).toBe(200);
    expect(st.json).toMatchObject({ upload_id: id, path: 'resume.bin', size: SIZE, received: CUT });
    const back = await api(f, 'GET', `/uploads/${id}/data`, { headers: { range: `bytes=${CUT - 10}-${CUT - 1}` } });
    expect(back.body.equals(data.subarray(CUT - 10, CUT))).toBe(true);
    expect((await put(0, 10)).status).toBe(409);
    expect((await put(CUT, SIZE)).json.received).toBe(SIZE);
    const done = await api(f, 'POST', `/uploads/${id}/finish`, { json: {} });
    expect(done.status, done.text).toBe(201);
    expect(done.json).toMatchObject({ path: 'resume.bin', size: SIZE, sha256: sha256(data) });
    expect(sha256(readFileSync(join(f.sync, 'resume.bin')))).toBe(sha256(data));
    expect(listDir(f.sync)).toEqual(['resume.bin']);
  });
});

// ---------------------------------------------------------------------------------------------------

interface Peer {
  ws: WebSocket;
  messages: Json[];
  closed: Promise<{ code: number; reason: string }>;
  isClosed: () => boolean;
}

function connect(url: string, options: ClientOptions = {}): Peer {
  const ws = new WebSocket(url, options);
  const messages: Json[] = [];
  let done = false;
  ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      done = true;
      resolve({ code, reason: reason.toString() });
    }),
  );
  return { ws, messages, closed, isClosed: () => done };
}

const wsBase = (f: Fixture): string => f.url.replace(/^http/, 'ws');
const changes = (p: Peer): Json[] => p.messages.filter((m) => m.type !== 'HEARTBEAT' && m.type !== 'CLIENT_CONNECT');

describe('the WebSocket', () => {
  const f = fixture();
  let id = '';
  const peers: Peer[] = [];
  beforeAll(async () => {
    id = await register(f, 'ws-laptop');
    expect((await upload(f, 'w1.txt', 'one', { client: id })).status).toBe(201);
    expect((await upload(f, 'w1.txt', 'two', { client: id, base: sha256('one'), mtime: ns(1) })).status).toBe(200);
    expect((await api(f, 'POST', '/move', { json: { from: 'w1.txt', to: 'w2.txt', base_sha256: sha256('two') } })).status).toBe(200);
    expect((await raw(f, 'DELETE', `/files/w2.txt?base_sha256=${sha256('two')}`)).status).toBe(200);
  });
  afterAll(() => {
    for (const p of peers) p.ws.terminate();
  });

  it('sends CLIENT_CONNECT first, then the changes since N in seq order, then live changes with their seq', async () => {
    const p = connect(`${wsBase(f)}/ws/${id}?since=0`);
    peers.push(p);
    await expect.poll(() => p.messages.length).toBeGreaterThanOrEqual(5);
    expect(p.messages[0]).toMatchObject({ type: 'CLIENT_CONNECT', client_id: id, sequence: 4 });
    expect(changes(p).map((m) => [m.type, m.seq, m.path, m.from ?? null])).toEqual([
      ['FILE_CHANGED', 1, 'w1.txt', null],
      ['FILE_CHANGED', 2, 'w1.txt', null],
      ['FILE_MOVED', 3, 'w2.txt', 'w1.txt'],
      ['FILE_DELETED', 4, 'w2.txt', null],
    ]);
    expect(changes(p)[1]).toMatchObject({ size: 3, sha256: sha256('two'), mtime_ns: ns(1), client_id: id });

    expect((await upload(f, 'live.txt', 'live')).status).toBe(201);
    await expect.poll(() => changes(p).length).toBe(5);
    expect(changes(p)[4]).toMatchObject({ type: 'FILE_CHANGED', seq: 5, path: 'live.txt', size: 4, sha256: sha256('live') });
    expect((await api(f, 'POST', '/move', { json: { from: 'live.txt', to: 'moved.txt' } })).status).toBe(200);
    await expect.poll(() => changes(p).length).toBe(6);
    expect(changes(p)[5]).toMatchObject({ type: 'FILE_MOVED', seq: 6, path: 'moved.txt', from: 'live.txt' });
    expect((await raw(f, 'DELETE', '/files/moved.txt')).status).toBe(200);
    await expect.poll(() => changes(p).length).toBe(7);
    expect(changes(p)[6]).toMatchObject({ type: 'FILE_DELETED', seq: 7, path: 'moved.txt' });
    expect(((await api(f, 'GET', '/clients')).json.clients as Json[]).find((c) => c.client_id === id)).toMatchObject({ connected: true });
  });

  it('replays only what came after since', async () => {
    const p = connect(`${wsBase(f)}/ws/${id}?since=5`);
    peers.push(p);
    await expect.poll(() => changes(p).length).toBe(2);
    expect(p.messages[0]).toMatchObject({ type: 'CLIENT_CONNECT', sequence: 7 });
    expect(changes(p).map((m) => m.seq)).toEqual([6, 7]);
    const none = connect(`${wsBase(f)}/ws/${id}`);
    peers.push(none);
    await expect.poll(() => none.messages.length).toBe(1);
    expect(none.messages[0]).toMatchObject({ type: 'CLIENT_CONNECT' });
  });

  it('answers HEARTBEAT with HEARTBEAT', async () => {
    const p = connect(`${wsBase(f)}/ws/${id}`);
    peers.push(p);
    await expect.poll(() => p.messages.length).toBe(1);
    p.ws.send(JSON.stringify({ type: 'HEARTBEAT', time: new Date().toISOString() }));
    await expect.poll(() => p.messages.filter((m) => m.type === 'HEARTBEAT').length, { timeout: 1000 }).toBe(1);
    expect(p.messages.find((m) => m.type === 'HEARTBEAT')).toMatchObject({ time: expect.any(String) });
    p.ws.send('not json');
    await expect.poll(() => p.messages.filter((m) => m.type === 'ERROR').length, { timeout: 1000 }).toBe(1);
    expect(p.isClosed()).toBe(false);
  });

  it('closes the connection on a message over 64 KiB (1009) and on a since that is not a number (4400)', async () => {
    const big = connect(`${wsBase(f)}/ws/${id}`);
    await expect.poll(() => big.messages.length).toBe(1);
    big.ws.send(JSON.stringify({ type: 'HEARTBEAT', pad: 'x'.repeat(70 * 1024) }));
    expect((await big.closed).code).toBe(1009);
    const bad = connect(`${wsBase(f)}/ws/${id}?since=abc`);
    expect((await bad.closed).code).toBe(4400);
    expect(bad.messages[0]).toMatchObject({ type: 'ERROR', error: 'BAD_REQUEST' });
  });

  it('closes an unknown client id with code 4404', async () => {
    const p = connect(`${wsBase(f)}/ws/no-such-client`);
    const { code } = await p.closed;
    expect(code).toBe(4404);
    expect(p.messages[0]).toMatchObject({ type: 'ERROR', error: 'NOT_FOUND' });
  });
});

describe('WebSocket heartbeats (heartbeatMs 200)', () => {
  const f = fixture({ heartbeatMs: 200 });
  let id = '';
  beforeAll(async () => {
    id = await register(f, 'beats');
  });

  it('drops a silent peer', async () => {
    const p = connect(`${wsBase(f)}/ws/${id}`, { autoPong: false });
    await expect.poll(() => p.messages.length).toBeGreaterThanOrEqual(1);
    expect(p.messages[0]).toMatchObject({ type: 'CLIENT_CONNECT', heartbeat_s: 0.2 });
    const t0 = Date.now();
    await p.closed;
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(p.messages.filter((m) => m.type === 'HEARTBEAT').length).toBeGreaterThanOrEqual(1);
    await expect.poll(async () => ((await api(f, 'GET', '/clients')).json.clients as Json[])[0].connected).toBe(false);
  });

  it('keeps a peer that sends HEARTBEATs', async () => {
    const p = connect(`${wsBase(f)}/ws/${id}`, { autoPong: false });
    await expect.poll(() => p.messages.length).toBeGreaterThanOrEqual(1);
    const beat = setInterval(() => p.ws.send(JSON.stringify({ type: 'HEARTBEAT', time: new Date().toISOString() })), 100);
    await new Promise((r) => setTimeout(r, 1000));
    clearInterval(beat);
    expect(p.isClosed()).toBe(false);
    p.ws.close();
    await p.closed;
  });
});
