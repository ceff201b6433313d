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

export interface RequestOptions {
  method?: string;
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  /** A JSON body (sent with its content type). */
  json?: unknown;
  /** A raw body. */
  body?: Uint8Array | FormData;
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

const sentence = (what: string): string => what.charAt(0).toUpperCase() + what.slice(1);
const clause = (message: string): string => message.charAt(0).toLowerCase() + message.slice(1).replace(/[.\s]+$/, '');

/**
 * A ferry server reached over HTTP: requests with the API key, answers that are not 2xx as Node-style
 * errors (`code`, one sentence), network failures keeping the cause's code (ECONNREFUSED…).
 */
export class HttpClient {
  readonly base: string;

  constructor(base: string, private readonly apiKey?: string) {
    this.base = base.replace(/\/+$/, '');
  }

  url(path: string, query?: Record<string, string | undefined>): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, v);
    const q = params.toString();
    return `${this.base}${path}${q === '' ? '' : `?${q}`}`;
  }

  /**
   * Sends one request; resolves with the response when it is 2xx (or in `accept`), else rejects with
   * its error. `what` words the request for messages ("uploading a/b.txt"). A GET whose connection
   * was dropped before any answer is sent once more (a keep-alive connection the server just closed).
   */
  async request(what: string, path: string, o: RequestOptions = {}): Promise<Response> {
    const method = o.method ?? 'GET';
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let body: string | Uint8Array | FormData | undefined = o.body;
    if (o.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.json);
    }
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

  /** A request answered with JSON. */
  async json<T>(what: string, path: string, o: RequestOptions = {}): Promise<T> {
    const res = await this.request(what, path, o);
    try {
      return (await res.json()) as T;
    } catch (err) {
      throw this.networkError(what, err);
    }
  }

  /** The error an answer that is not 2xx stands for (its body read, when it is the server's JSON). */
  async errorOf(what: string, res: Response): Promise<HttpFailure> {
    let parsed: Record<string, unknown> = {};
    try {
      const text = await res.text();
      if (text !== '') parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON (a proxy's page, a HEAD): the status says enough
    }
    const serverCode = typeof parsed.error === 'string' ? parsed.error : undefined;
    const message = typeof parsed.message === 'string' && parsed.message !== '' ? parsed.message : `HTTP ${res.status}`;
    const err = fileError(codeForStatus(res.status, serverCode), `${sentence(what)} on ${this.base} failed: ${clause(message)} (${res.status}${serverCode ? ` ${serverCode}` : ''}).`);
    return Object.assign(err, { status: res.status, serverCode, body: parsed });
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
