import http from 'node:http';
import https from 'node:https';
import { fileError } from '../core/errors.js';

/** A FileInfo as the server answers it (docs/serve.md, Models). */
export interface FileInfo {
  path: string;
  size: number;
  mtime_ns: string;
  sha256: string;
  seq?: number;
  deleted?: boolean;
  client_id?: string | null;
  /** When the server kept both versions of a conflict: where the other is, and which kept the name. */
  conflict?: { copy: string; kept: 'ours' | 'theirs'; current?: FileInfo };
}

/** A request's error: a Node-style `code`, with the HTTP status and the server's error code when it answered. */
export type HttpFailure = Error & { code: string; own: true; status?: number; serverCode?: string; body?: Record<string, unknown> };

/** An answer read whole (`HttpClient.whole`): `body` is null when it was longer than asked for. */
export interface WholeAnswer {
  status: number;
  headers: { get(name: string): string | null };
  body: Buffer | null;
}

export interface RequestOptions {
  method?: string;
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  /** A JSON body (sent with its content type). */
  json?: unknown;
  /** A raw body, or its parts in order (sent one after the other, never joined). */
  body?: Uint8Array | Uint8Array[];
  signal?: AbortSignal;
  /** Statuses handed back as they are instead of thrown (the caller reads them). */
  accept?: number[];
}

/**
 * The path of a tree as the part of a URL that names it: each segment percent-encoded on its own
 * (a '/' in the tree is the URL's separator, everything else is data).
 */
export function encodePath(rel: string): string {
  return rel.split('/').map(encodeURIComponent).join('/');
}

const STATUS_CODES: Record<number, string> = {
  400: 'EINVAL',
  401: 'EACCES',
  403: 'EACCES',
  404: 'ENOENT',
  409: 'ECHANGED',
  413: 'EFBIG',
  415: 'EPERM',
  416: 'EINVAL',
  422: 'ECHANGED',
  507: 'ENOSPC',
};

/** The Node-style code of an answer: its status, refined by the server's error code where one status means several things. */
export function codeForStatus(status: number, serverCode: string | undefined): string {
  if (status === 409 && serverCode === 'OFFSET_MISMATCH') return 'EIO';
  if (status === 503) return serverCode === 'UNAVAILABLE' ? 'ENXIO' : 'EBUSY';
  return STATUS_CODES[status] ?? 'EIO';
}

// undici's own codes, as the Node errors they stand for.
const UNDICI_CODES: Record<string, string> = {
  UND_ERR_SOCKET: 'ECONNRESET',
  UND_ERR_CLOSED: 'ECONNRESET',
  UND_ERR_CONNECT_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_HEADERS_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_BODY_TIMEOUT: 'ETIMEDOUT',
};

/** An idle kept-alive connection is closed after this long: before the server's own keep-alive timeout (72 s), so a request never goes out on one the server is closing. */
const IDLE_MS = 30_000;

/** How long a request may go without a byte from the server (as the client's other requests wait). */
const ANSWER_TIMEOUT_MS = 120_000;

/** Connections to the server at once: the engine may hand over many small files together; more wait their turn here. */
const MAX_CONNECTIONS = 8;

const sentence = (what: string): string => what.charAt(0).toUpperCase() + what.slice(1);
const clause = (message: string): string => message.charAt(0).toLowerCase() + message.slice(1).replace(/[.\s]+$/, '');

/**
 * A ferry server reached over HTTP: requests with the API key, answers that are not 2xx as Node-style
 * errors (`code`, one sentence), network failures keeping the cause's code (ECONNREFUSED…).
 */
export class HttpClient {
  readonly base: string;
  private agent: http.Agent | undefined;

  constructor(
    base: string,
    private readonly apiKey?: string,
    /** How long a request may go without a byte from the server before it fails with ETIMEDOUT. */
    private readonly answerTimeoutMs = ANSWER_TIMEOUT_MS,
  ) {
    this.base = base.replace(/\/+$/, '');
  }

  url(path: string, query?: Record<string, string | undefined>): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, v);
    const q = params.toString();
    return `${this.base}${path}${q === '' ? '' : `?${q}`}`;
  }

  /** A request's headers (the key among them) and its body as parts: the raw ones, or the JSON. */
  private outgoing(o: RequestOptions): { headers: Record<string, string>; parts: Uint8Array[] | undefined } {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    if (o.json !== undefined) {
      headers['content-type'] = 'application/json';
      return { headers, parts: [Buffer.from(JSON.stringify(o.json), 'utf8')] };
    }
    return { headers, parts: o.body === undefined ? undefined : Array.isArray(o.body) ? o.body : [o.body] };
  }

  /**
   * Sends one request; resolves with the response when it is 2xx (or in `accept`), else rejects with
   * its error. `what` words the request for messages ("uploading a/b.txt"). A GET whose connection
   * was dropped before any answer is sent once more (a keep-alive connection the server just closed).
   */
  async request(what: string, path: string, o: RequestOptions = {}): Promise<Response> {
    const method = o.method ?? 'GET';
    const { headers, parts } = this.outgoing(o);
    const body = parts && (parts.length === 1 ? parts[0] : Buffer.concat(parts));
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(this.url(path, o.query), { method, headers, body, signal: o.signal });
      } catch (err) {
        if (o.signal?.aborted) throw err;
        const failure = this.networkError(what, err);
        if (method === 'GET' && attempt === 0 && failure.code === 'ECONNRESET') continue;
        throw failure;
      }
      if (res.ok || o.accept?.includes(res.status)) return res;
      throw await this.errorOf(what, res);
    }
  }

  /**
   * A request answered with JSON, its body (if any) in memory. It goes through node:http on kept-alive
   * connections rather than fetch (see `whole`).
   */
  async json<T>(what: string, path: string, o: RequestOptions = {}): Promise<T> {
    const r = await this.whole(what, path, o);
    try {
      return JSON.parse(r.body!.toString('utf8')) as T;
    } catch (err) {
      throw this.networkError(what, err);
    }
  }

  /**
   * A request whose answer is read whole into memory: resolves when it is 2xx (or in `accept`), else
   * rejects with its error. An answer longer than `maxBytes` (by its Content-Length or as it comes)
   * is not read: `body` is null. It goes through node:http on kept-alive connections, at most
   * MAX_CONNECTIONS at once, rather than fetch: a small upload or download is one of these, and
   * fetch's web streams cost more than its bytes (streamed reads still use `request`).
   */
  async whole(what: string, path: string, o: RequestOptions & { maxBytes?: number } = {}): Promise<WholeAnswer> {
    const method = o.method ?? 'GET';
    const { headers, parts } = this.outgoing(o);
    if (parts) headers['content-length'] = String(parts.reduce((n, p) => n + p.length, 0));
    const url = this.url(path, o.query);
    const secure = url.startsWith('https:');
    const agentOptions = { keepAlive: true, timeout: IDLE_MS, maxSockets: MAX_CONNECTIONS };
    this.agent ??= secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    const max = o.maxBytes ?? Infinity;
    for (let attempt = 0; ; attempt++) {
      let answer: WholeAnswer;
      try {
        answer = await new Promise<WholeAnswer>((resolve, reject) => {
          const req = (secure ? https : http).request(url, { method, headers, agent: this.agent, signal: o.signal }, (res) => {
            const status = res.statusCode ?? 0;
            const get = (name: string): string | null => {
              const v = res.headers[name.toLowerCase()];
              return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
            };
            const over = (): void => {
              res.destroy();
              resolve({ status, headers: { get }, body: null });
            };
            // The cap is for a file's bytes: an error's body is always read (it holds the server's error code).
            const cap = status >= 200 && status < 300 ? max : Infinity;
            if (Number(res.headers['content-length'] ?? 0) > cap) return over();
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              size += c.length;
              if (size > cap) over();
              else chunks.push(c);
            });
            res.on('end', () => resolve({ status, headers: { get }, body: Buffer.concat(chunks) }));
            res.on('error', reject);
          });
          // A server that stops answering (a dead link, a sleeping laptop's connection) is a timeout, not a wait forever.
          req.setTimeout(this.answerTimeoutMs, () => req.destroy(Object.assign(new Error(`no answer in ${this.answerTimeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
          req.on('error', reject);
          for (const p of parts ?? []) req.write(p);
          req.end();
        });
      } catch (err) {
        if (o.signal?.aborted) throw err;
        const failure = this.networkError(what, err);
        if (method === 'GET' && attempt === 0 && failure.code === 'ECONNRESET') continue;
        throw failure;
      }
      if ((answer.status >= 200 && answer.status < 300) || o.accept?.includes(answer.status)) return answer;
      throw this.failure(what, answer.status, answer.body?.toString('utf8') ?? '');
    }
  }

  /** The error an answer that is not 2xx stands for (its body read, when it is the server's JSON). */
  async errorOf(what: string, res: Response): Promise<HttpFailure> {
    let text = '';
    try {
      text = await res.text();
    } catch {
      // the status says enough
    }
    return this.failure(what, res.status, text);
  }

  private failure(what: string, status: number, text: string): HttpFailure {
    let parsed: Record<string, unknown> = {};
    try {
      if (text !== '') parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON (a proxy's page, a HEAD): the status says enough
    }
    const serverCode = typeof parsed.error === 'string' ? parsed.error : undefined;
    const message = typeof parsed.message === 'string' && parsed.message !== '' ? parsed.message : `HTTP ${status}`;
    const err = fileError(codeForStatus(status, serverCode), `${sentence(what)} on ${this.base} failed: ${clause(message)} (${status}${serverCode ? ` ${serverCode}` : ''}).`);
    return Object.assign(err, { status, serverCode, body: parsed });
  }

  /** A request that got no answer: the cause's code (ECONNREFUSED, ECONNRESET…), EIO when it has none. */
  networkError(what: string, err: unknown): HttpFailure {
    if (err && typeof err === 'object' && (err as { own?: boolean }).own) return err as HttpFailure;
    const cause = (err as { cause?: unknown } | undefined)?.cause ?? err;
    const c = cause as { code?: unknown; message?: unknown; errors?: Array<{ code?: unknown }> } | undefined;
    let code = typeof c?.code === 'string' ? c.code : typeof c?.errors?.[0]?.code === 'string' ? c.errors[0].code : 'EIO';
    code = UNDICI_CODES[code] ?? code;
    const detail = typeof c?.message === 'string' && c.message !== '' ? c.message : String(err);
    return Object.assign(fileError(code, `${sentence(what)} on ${this.base} failed: the server cannot be reached (${clause(detail)}).`), { cause: err });
  }
}
