import { createHash, type Hash } from 'node:crypto';
import type { FileEntry } from '../core/entry.js';
import { fileError } from '../core/errors.js';
import type { FileTimes, WriteHandle } from '../core/target.js';
import type { FileInfo, HttpClient, HttpFailure } from './http-client.js';

/**
 * A resumable upload session of the server (POST /uploads), as a client keeps it to go on from it
 * later (--partial): what it was opened against, so a session that no longer fits is not reused.
 */
export interface RemoteSession {
  id: string;
  /** The server's SHA-256 at the path when the session began (null: the path was new). */
  base: string | null;
  /** The size and SHA-256 declared when it began (null: not declared). */
  size: number | null;
  sha256: string | null;
}

/** What the handle needs of its target. */
export interface WriteContext {
  http: HttpClient;
  rel: string;
  session: RemoteSession;
  /** Bytes the server already holds for the session (a kept one), 0 for a new one. */
  received: number;
  /** The SHA-256 the caller declared for the whole file (RemoteTarget.expect). */
  sha256: string | null;
  /** Coalesced writes are sent once this many bytes wait. */
  putSize: number;
  /** Opens a new session for the same path (a write that goes back to byte 0 of a kept one). */
  restart(): Promise<RemoteSession>;
  /** The session is kept (abort with keep) or gone (committed, cancelled). */
  keep(session: RemoteSession): void;
  forget(session: RemoteSession): void;
  /** A commit's or write's error, told precisely (EISDIR with notEmpty, ENOTDIR) when the tree shows why. */
  explain(err: HttpFailure): Promise<Error>;
  /** Sent at finish (RemoteExpectation.onConflict). */
  onConflict?: 'refuse' | 'keep-both';
  entryOf(info: FileInfo): FileEntry;
}

type State = 'open' | 'committed' | 'failed' | 'aborted';

/**
 * A file being written to a ferry server through one upload session: writes arrive in increasing
 * order and are coalesced into PUT /uploads/{id} ranges; `commit` finishes the session (the server
 * checks the base, the size and the SHA-256, then gives the bytes their name). The server takes a
 * session's bytes only in order: a write back inside bytes it already holds goes to a new session
 * when it is at byte 0, else it is refused (ESPIPE).
 */
export class RemoteWriteHandle implements WriteHandle {
  readonly kept: number;
  private session: RemoteSession;
  /** Bytes the server holds. */
  private serverEnd: number;
  /** Bytes counted as written (sent, waiting, or found kept and counted by `extend`). */
  private end: number;
  private pending: Uint8Array[] = [];
  private pendingStart: number;
  private pendingBytes = 0;
  /** SHA-256 of every byte sent, while they were all sent by this handle from byte 0. */
  private hash: Hash | undefined;
  private state: State = 'open';
  private error: unknown;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: WriteContext) {
    this.session = o.session;
    this.kept = o.received;
    this.serverEnd = o.received;
    this.end = 0;
    this.pendingStart = 0;
    this.hash = o.received === 0 ? this.ownHash() : undefined;
  }

  /**
   * A hash of the bytes sent, to declare at finish: only when the caller declared none. A declared
   * SHA-256 is checked by the server against the bytes it received (422, ECHANGED), which a hash
   * here would only repeat.
   */
  private ownHash(): Hash | undefined {
    return (this.o.sha256 ?? this.session.sha256) ? undefined : createHash('sha256');
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private check(): void {
    if (this.state !== 'open') throw fileError('EBADF', `the write of ${this.o.rel} was finished`);
    if (this.error !== undefined) throw this.error;
  }

  write(data: Uint8Array, offset: number): Promise<void> {
    const copy = new Uint8Array(data.length); // the caller reuses its buffer once this resolves (a Buffer's slice is no copy)
    copy.set(data);
    return this.serial(async () => {
      this.check();
      try {
        await this.writeNow(copy, offset);
      } catch (err) {
        this.error = err;
        throw err;
      }
    });
  }

  private async writeNow(data: Uint8Array, offset: number): Promise<void> {
    if (this.pendingBytes === 0 && this.serverEnd === this.kept && offset < this.serverEnd && offset + data.length > this.serverEnd && offset >= 0) {
      // A block across the end of what the server kept (a cut fell inside it): the kept part is
      // compared with what the server holds, and only the rest is sent when they agree.
      const head = this.serverEnd - offset;
      const held = new Uint8Array(head);
      let got = 0;
      while (got < head) {
        const n = await this.readKept(held.subarray(got), offset + got);
        if (n === 0) break;
        got += n;
      }
      if (got === head && Buffer.compare(held, data.subarray(0, head)) === 0) {
        data = data.subarray(head);
        offset = this.serverEnd;
        this.end = Math.max(this.end, offset);
        this.pendingStart = offset;
      }
    }
    const waitingEnd = this.pendingStart + this.pendingBytes;
    if (this.pendingBytes > 0 && offset >= this.pendingStart && offset <= waitingEnd) {
      if (offset < waitingEnd) this.truncatePending(offset - this.pendingStart);
    } else if (offset === this.end && offset === this.serverEnd && this.pendingBytes === 0) {
      this.pendingStart = offset;
    } else if (offset > this.end) {
      throw fileError('EINVAL', `writes to a server go in order: byte ${this.end} of ${this.o.rel} comes before byte ${offset}`);
    } else {
      // Back inside what was sent or kept (a kept upload that differs from the source from here on).
      await this.rewind(offset);
    }
    if (data.length === 0) return;
    this.pending.push(data);
    this.pendingBytes += data.length;
    this.end = this.pendingStart + this.pendingBytes;
    if (this.pendingBytes >= this.o.putSize) await this.send();
  }

  private truncatePending(keep: number): void {
    const all = Buffer.concat(this.pending).subarray(0, keep);
    this.pending = keep > 0 ? [all] : [];
    this.pendingBytes = keep;
  }

  /** Sends the waiting writes as one range; the server must end up holding exactly them. */
  private async send(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const parts = this.pending;
    const start = this.pendingStart;
    await this.put(parts, start);
    for (const p of parts) this.hash?.update(p);
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingStart = this.serverEnd;
  }

  /**
   * PUT of `body` at `start`. A range cut on the way (the connection dropped, or an answer lost and
   * the range sent again) goes on from what the server says it has, twice at most.
   */
  private async put(parts: Uint8Array[], start: number): Promise<void> {
    const total = this.session.size ?? '*';
    const length = parts.reduce((n, p) => n + p.length, 0);
    for (let attempt = 0; ; attempt++) {
      const rest = skipBytes(parts, this.serverEnd - start); // the bytes the server does not have yet
      const restLength = start + length - this.serverEnd;
      try {
        const r = await this.o.http.json<{ received: number }>(`uploading ${this.o.rel}`, `/uploads/${this.session.id}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream', 'content-range': `bytes ${this.serverEnd}-${this.serverEnd + restLength - 1}/${total}` },
          body: rest,
        });
        if (r.received !== start + length) {
          throw fileError('EIO', `The server holds ${r.received} bytes of ${this.o.rel} after a range that ends at ${start + length}.`);
        }
        this.serverEnd = r.received;
        return;
      } catch (err) {
        const e = err as HttpFailure;
        const cut = e.status === undefined || e.serverCode === 'OFFSET_MISMATCH';
        if (!cut || attempt >= 2) throw await this.explain(e);
        const now = await this.received().catch(() => undefined);
        if (now === undefined || now < start || now > start + length) throw err;
        this.serverEnd = now;
        if (now === start + length) return;
      }
    }
  }

  /** A request's error as this write's: a session the server no longer has is ECHANGED (the file is not what was written). */
  private async explain(e: HttpFailure): Promise<Error> {
    if (e.status === 404) {
      return Object.assign(
        fileError('ECHANGED', `the upload of ${this.o.rel} is gone from the server (it expired, or another upload of the same path took its place)`),
        { cause: e },
      );
    }
    return this.o.explain(e);
  }

  private async received(): Promise<number> {
    const r = await this.o.http.json<{ received: number }>(`asking for the upload of ${this.o.rel}`, `/uploads/${this.session.id}`);
    return r.received;
  }

  /** Goes back to byte `offset` of what the server holds: only byte 0 (a new session), unless the server takes a range there. */
  private async rewind(offset: number): Promise<void> {
    this.pending = [];
    this.pendingBytes = 0;
    if (offset === 0) {
      const old = this.session;
      this.session = await this.o.restart();
      if (old.id !== this.session.id) this.o.forget(old);
      this.serverEnd = 0;
      this.hash = this.ownHash();
    } else {
      throw fileError('ESPIPE', `the server cannot take back the bytes of ${this.o.rel} it holds past byte ${offset}: the upload starts again on the next run`);
    }
    this.end = offset;
    this.pendingStart = offset;
  }

  flush(): Promise<void> {
    return this.serial(async () => {
      this.check();
      await this.send();
    });
  }

  commit(times: FileTimes): Promise<FileEntry> {
    return this.serial(async () => {
      this.check();
      try {
        await this.send();
        if (this.end !== this.serverEnd) {
          throw fileError('ESPIPE', `the server holds ${this.serverEnd} bytes of an earlier upload of ${this.o.rel}, not the ${this.end} written: the upload starts again on the next run`);
        }
        const ours = this.hash?.digest('hex') ?? null;
        this.hash = undefined;
        const declared = this.o.sha256 ?? this.session.sha256;
        if (ours && declared && ours !== declared) {
          throw fileError('ECHANGED', `the bytes written to ${this.o.rel} are not the ones declared (another SHA-256)`);
        }
        const sha256 = ours ?? declared;
        let info: FileInfo;
        try {
          info = await this.o.http.json<FileInfo>(`finishing the upload of ${this.o.rel}`, `/uploads/${this.session.id}/finish`, {
            method: 'POST',
            json: { mtime_ns: String(times.mtimeNs), ...(sha256 ? { sha256 } : {}), ...(this.o.onConflict ? { on_conflict: this.o.onConflict } : {}) },
          });
        } catch (err) {
          const e = err as HttpFailure;
          if (e.serverCode === 'OFFSET_MISMATCH') e.code = 'ECHANGED'; // fewer bytes than declared
          throw await this.explain(e);
        }
        this.state = 'committed';
        this.o.forget(this.session);
        return this.o.entryOf(info);
      } catch (err) {
        if (this.state === 'open') this.state = 'failed';
        throw err;
      }
    });
  }

  abort(options: { keep?: boolean } = {}): Promise<void> {
    return this.serial(async () => {
      if (this.state === 'committed' || this.state === 'aborted') return;
      this.state = 'aborted';
      if (options.keep) {
        if (this.error === undefined) await this.send().catch(() => undefined);
        this.o.keep(this.session);
        return;
      }
      // Gone already (404), or the server unreachable: then the session is still there, with the bytes
      // it has, and it is kept for the next write of this path to go on from (the server drops an idle
      // session after a day). A write that failed because the server went away resumes so.
      const cancelled = await this.o.http
        .request(`cancelling the upload of ${this.o.rel}`, `/uploads/${this.session.id}`, { method: 'DELETE', accept: [404] })
        .then((res) => {
          void res.body?.cancel();
          return true;
        })
        .catch(() => false);
      if (cancelled) this.o.forget(this.session);
      else this.o.keep(this.session);
    });
  }

  async readKept(into: Uint8Array, offset: number): Promise<number> {
    const want = Math.min(into.length, this.kept - offset);
    if (want <= 0) return 0;
    const res = await this.o.http.request(`reading back the upload of ${this.o.rel}`, `/uploads/${this.session.id}/data`, {
      headers: { range: `bytes=${offset}-${offset + want - 1}` },
    });
    const range = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
    let skip = res.status === 206 && range ? offset - Number(range[1]) : offset; // a 200 is the whole: skip to offset
    let n = 0;
    const reader = res.body!.getReader();
    try {
      while (n < want) {
        const { done, value } = await reader.read();
        if (done) break;
        let chunk = value;
        if (skip > 0) {
          const s = Math.min(skip, chunk.length);
          chunk = chunk.subarray(s);
          skip -= s;
        }
        const take = Math.min(chunk.length, want - n);
        into.set(chunk.subarray(0, take), n);
        n += take;
      }
    } catch (err) {
      throw this.o.http.networkError(`reading back the upload of ${this.o.rel}`, err);
    } finally {
      void reader.cancel().catch(() => undefined);
    }
    return n;
  }

  extend(end: number): void {
    if (end > this.serverEnd) throw fileError('EINVAL', `only ${this.serverEnd} bytes of ${this.o.rel} are on the server, not ${end}`);
    if (end > this.end) {
      this.end = end;
      this.pendingStart = end;
      this.hash = undefined; // bytes this handle did not send
    }
  }
}

/** `parts` without their first `n` bytes (views, no copy). */
function skipBytes(parts: Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of parts) {
    if (n >= p.length) {
      n -= p.length;
      continue;
    }
    out.push(n > 0 ? p.subarray(n) : p);
    n = 0;
  }
  return out;
}
