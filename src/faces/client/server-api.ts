import { errnoCode } from '../../core/errors.js';

/** A change or a file as the server describes it (docs/serve.md). */
export interface FileInfo {
  path: string;
  size: number;
  mtime_ns: string;
  sha256: string;
  seq: number;
  deleted: boolean;
  client_id: string | null;
  conflict?: { copy: string; kept: 'ours' | 'theirs'; current?: FileInfo };
}

export interface SyncAction {
  path: string;
  action: 'nothing' | 'upload' | 'download' | 'delete_local' | 'delete_remote' | 'conflict';
  reason: string;
  server?: FileInfo;
}

/** The server answered with an error: its status, code and sentence. */
export class ServerRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ServerRefused';
  }
}

/** The server could not be reached (down, restarting, the network away): the client retries later. */
export class ServerAway extends Error {
  constructor(readonly server: string, cause: unknown) {
    super(`The server ${server} cannot be reached (${errnoCode((cause as { cause?: unknown })?.cause) ?? errnoCode(cause) ?? (cause as Error)?.message ?? 'no answer'}).`, { cause });
    this.name = 'ServerAway';
  }
}

/** The HTTP side of the client: one method per endpoint it uses. */
export class ServerApi {
  constructor(
    readonly server: string,
    private readonly apiKey: string | null,
  ) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}), ...extra };
  }

  async request(method: string, path: string, o: { json?: unknown; body?: RequestInit['body']; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.server}${path}`, {
        method,
        headers: this.headers({ ...(o.json !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers }),
        body: o.json !== undefined ? JSON.stringify(o.json) : o.body,
        signal: o.signal ?? AbortSignal.timeout(120_000),
        ...(o.body instanceof ReadableStream ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (err) {
      throw new ServerAway(this.server, err);
    }
    if (res.ok || res.status === 304) return res;
    let body: Record<string, unknown> = {};
    try {
      body = (await res.json()) as Record<string, unknown>;
    } catch {
      // not JSON: a proxy's page
    }
    throw new ServerRefused(res.status, String(body.error ?? res.status), String(body.message ?? `The server answered ${res.status}.`), body);
  }

  async json<T>(method: string, path: string, json?: unknown): Promise<T> {
    const res = await this.request(method, path, json === undefined ? {} : { json });
    try {
      return (await res.json()) as T;
    } catch (err) {
      throw new ServerAway(this.server, err);
    }
  }

  health(): Promise<{ status: string; version: string; sequence: number }> {
    return this.json('GET', '/health');
  }

  register(name: string, clientId: string | undefined): Promise<{ client_id: string; sequence: number; heartbeat_s: number; max_file_size: number }> {
    return this.json('POST', '/register', { client_name: name, client_id: clientId ?? null, platform: `${process.platform} ferry` });
  }

  sync(clientId: string, files: unknown[]): Promise<{ sequence: number; actions: SyncAction[] }> {
    return this.json('POST', '/sync', { client_id: clientId, files });
  }

  remove(path: string, base: string | null, clientId: string): Promise<{ seq: number }> {
    const q = new URLSearchParams({ client_id: clientId, ...(base ? { base_sha256: base } : {}) });
    return this.json('DELETE', `/files/${encodePath(path)}?${q}`);
  }

  move(from: string, to: string, base: string | null, clientId: string): Promise<FileInfo> {
    return this.json('POST', '/move', { from, to, base_sha256: base, client_id: clientId });
  }

  conflicts(): Promise<{ conflicts: Array<{ path: string; copy: string; time: string }> }> {
    return this.json('GET', '/conflicts');
  }

  clients(): Promise<{ clients: Array<{ client_id: string; connected: boolean; last_seen: string }> }> {
    return this.json('GET', '/clients');
  }

  download(path: string, range?: { start: number }): Promise<Response> {
    return this.request('GET', `/download/${encodePath(path)}`, { headers: range ? { range: `bytes=${range.start}-` } : {} });
  }

  wsUrl(clientId: string, since: number): string {
    return `${this.server.replace(/^http/, 'ws')}/ws/${encodeURIComponent(clientId)}?since=${since}`;
  }
}

/** A path as URL segments. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
