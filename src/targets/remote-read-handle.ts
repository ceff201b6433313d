import type { FileEntry } from '../core/entry.js';
import { fileError } from '../core/errors.js';
import type { ReadHandle } from '../core/tree.js';
import { encodePath, type HttpClient } from './http-client.js';

/** What a download's headers say of the file it sends. */
export interface RemoteFile {
  size: number;
  mtimeNs: bigint;
  sha256: string;
}

/** The file a GET /download answer sends (206 or 200), from its headers. */
export function remoteFileOf(res: { headers: { get(name: string): string | null } }): RemoteFile {
  const range = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
  const size = range ? Number(range[1]) : Number(res.headers.get('content-length') ?? NaN);
  const sha256 = res.headers.get('x-sha256') ?? (res.headers.get('etag') ?? '').replace(/^W\//, '').replace(/"/g, '');
  const mtime = res.headers.get('x-mtime-ns') ?? '';
  if (!Number.isSafeInteger(size) || !/^\d+$/.test(mtime)) {
    throw fileError('EPROTO', 'The server answered a download without its size or modification time.');
  }
  return { size, mtimeNs: BigInt(mtime), sha256 };
}

interface Stream {
  reader: ReadableStreamDefaultReader<Uint8Array>;
  /** The file offset the next byte of the stream is at. */
  pos: number;
  /** Bytes of the last chunk not handed out yet. */
  rest: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/**
 * A file of the server opened for reading: one streamed GET read in order (the engine reads a file
 * front to back), a ranged GET again for a read somewhere else. Every GET after the first names the
 * version first opened (`If-Range` with its SHA-256): a file replaced meanwhile ends the reads early
 * (0), so the caller's `stat` finds it changed rather than a mix of two versions.
 */
export class RemoteReadHandle implements ReadHandle {
  private stream: Stream | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** False once a GET found the file replaced: no more bytes of the version opened. */
  private same = true;

  constructor(
    private readonly http: HttpClient,
    private readonly rel: string,
    /** The version opened. */
    readonly file: RemoteFile,
    /** The first answer, streaming from byte 0. */
    first: Response,
    /** The entry at `rel` as it is now. */
    private readonly statNow: () => Promise<FileEntry>,
  ) {
    if (first.body) this.stream = { reader: first.body.getReader(), pos: 0, rest: EMPTY };
  }

  read(into: Uint8Array, at: number, length: number, position: number): Promise<number> {
    const run = this.chain.then(() => this.readNow(into, at, length, position));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async readNow(into: Uint8Array, at: number, length: number, position: number): Promise<number> {
    if (this.closed) throw fileError('EBADF', `${this.rel} was closed`);
    const want = Math.min(length, this.file.size - position);
    if (want <= 0 || !this.same) return 0;
    let n = 0;
    let retried = false;
    while (n < want) {
      if (!this.stream || this.stream.pos !== position + n) {
        if (!(await this.reopen(position + n))) break;
      }
      const s = this.stream!;
      if (s.rest.length === 0) {
        let chunk: { done: boolean; value?: Uint8Array };
        try {
          chunk = await s.reader.read();
        } catch (err) {
          this.drop();
          if (n > 0) break; // what arrived counts; the next read asks again
          if (retried) throw this.http.networkError(`reading ${this.rel}`, err);
          retried = true;
          continue;
        }
        if (chunk.done) {
          this.drop();
          break;
        }
        s.rest = chunk.value ?? new Uint8Array(0);
        continue;
      }
      const take = Math.min(s.rest.length, want - n);
      into.set(s.rest.subarray(0, take), at + n);
      s.rest = s.rest.subarray(take);
      s.pos += take;
      n += take;
    }
    return n;
  }

  /** A ranged GET from `position` of the version opened; false when the file is not that version any more. */
  private async reopen(position: number): Promise<boolean> {
    this.drop();
    const res = await this.http.request(`reading ${this.rel}`, `/download/${encodePath(this.rel)}`, {
      headers: { range: `bytes=${position}-`, 'if-range': `"${this.file.sha256}"` },
      accept: [416],
    });
    const start = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
    if (res.status !== 206 || !start || Number(start[1]) !== position || !res.body) {
      // 200: If-Range found another version; 416: it is shorter now.
      await res.body?.cancel().catch(() => undefined);
      this.same = false;
      return false;
    }
    this.stream = { reader: res.body.getReader(), pos: position, rest: EMPTY };
    return true;
  }

  private drop(): void {
    const s = this.stream;
    this.stream = undefined;
    if (s) void s.reader.cancel().catch(() => undefined);
  }

  stat(): Promise<FileEntry> {
    return this.statNow();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    this.drop();
  }
}
