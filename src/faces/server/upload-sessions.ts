import { createHash, randomUUID, type Hash } from 'node:crypto';
import type { UploadSession } from '../../core/server-store.js';
import type { LocalWriteHandle } from '../../targets/local-write-handle.js';
import { ApiError } from './api-error.js';
import { fsError, tooLarge, type Incoming, type ServerFiles, type Stored } from './files.js';
import { PathLocks } from './path-locks.js';

/** An idle session is removed, with its bytes, after this long (Nextcloud's 24 h). */
export const SESSION_IDLE_MS = 24 * 3600 * 1000;

interface Live {
  row: UploadSession;
  handle: LocalWriteHandle;
  hash: Hash;
  received: number;
}

/**
 * Resumable uploads: a session names a path (and, when known, its size and SHA-256, checked up front
 * and at the end); ranges are appended in order to a temp file of the sync directory that a restart
 * keeps; what arrived can be asked for and read back; `finish` gives the bytes their name as a plain
 * upload does. After a restart a session goes on from the bytes its temp file holds.
 */
export class UploadSessions {
  private readonly live = new Map<string, Live>();
  private readonly locks = new PathLocks();

  constructor(
    private readonly files: ServerFiles,
    private readonly maxFileSize: number,
  ) {}

  async create(s: { path: string; size: bigint | null; sha256: string | null; mtimeNs: bigint; base: string | null; clientId: string | null }): Promise<UploadSession> {
    if (s.size !== null && s.size > BigInt(this.maxFileSize)) throw tooLarge(this.maxFileSize);
    const now = Date.now();
    const row: UploadSession = {
      id: randomUUID(),
      path: s.path,
      size: s.size ?? -1n,
      sha256: s.sha256,
      mtimeNs: s.mtimeNs,
      baseSha256: s.base,
      clientId: s.clientId,
      received: 0n,
      createdMs: now,
      expiresMs: now + SESSION_IDLE_MS,
    };
    let handle = await this.open(row.id, s.path);
    if (handle.kept > 0) {
      await handle.abort();
      handle = await this.open(row.id, s.path);
    }
    await this.files.store.createUpload(row);
    this.live.set(row.id, { row, handle, hash: createHash('sha256'), received: 0 });
    return row;
  }

  /** The session's own temp file beside `path` (named for the session: two sessions of one path never share one). */
  private async open(id: string, path: string): Promise<LocalWriteHandle> {
    return this.files.targetFor(`upload\0${id}`).openWrite(path, undefined, { keepPartial: true }).catch((err: unknown) => {
      throw fsError(err, path);
    });
  }

  /** The session, opened again from its temp file after a restart (its bytes hashed once). */
  private async get(id: string): Promise<Live> {
    const l = this.live.get(id);
    if (l) return l;
    const row = await this.files.store.getUpload(id);
    if (!row) throw new ApiError(404, 'NOT_FOUND', 'There is no such upload session (it finished, was cancelled or expired).');
    const handle = await this.open(row.id, row.path);
    const hash = createHash('sha256');
    const buf = new Uint8Array(1 << 20);
    for (let at = 0; at < handle.kept; ) {
      const n = await handle.readKept(buf.subarray(0, Math.min(buf.length, handle.kept - at)), at);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      at += n;
    }
    handle.extend(handle.kept);
    const again: Live = { row, handle, hash, received: handle.kept };
    this.live.set(id, again);
    return again;
  }

  async status(id: string): Promise<{ row: UploadSession; received: number }> {
    return this.locks.with([id], async () => {
      const l = await this.get(id);
      return { row: l.row, received: l.received };
    });
  }

  /** Appends `chunks` at `start`, which must be where the received bytes end (409 OFFSET_MISMATCH otherwise). */
  async append(id: string, start: number, chunks: AsyncIterable<Uint8Array>): Promise<number> {
    return this.locks.with([id], async () => {
      const l = await this.get(id);
      if (start !== l.received) {
        throw new ApiError(409, 'OFFSET_MISMATCH', `The range starts at byte ${start}, but ${l.received} bytes have arrived.`, { received: l.received });
      }
      const limit = l.row.size >= 0n ? Number(l.row.size) : this.maxFileSize;
      try {
        for await (const chunk of chunks) {
          if (l.received + chunk.length > limit) {
            throw l.row.size >= 0n ? new ApiError(413, 'TOO_LARGE', `The upload declared ${l.row.size} bytes; more arrived.`) : tooLarge(this.maxFileSize);
          }
          await l.handle.write(chunk, l.received);
          l.hash.update(chunk);
          l.received += chunk.length;
        }
      } catch (err) {
        throw err instanceof ApiError ? err : fsError(err, l.row.path);
      } finally {
        // What arrived before a cut counts: the client goes on from it.
        await this.files.store.updateUpload(id, BigInt(l.received), Date.now() + SESSION_IDLE_MS).catch(() => undefined);
      }
      return l.received;
    });
  }

  async read(id: string, into: Uint8Array, offset: number): Promise<number> {
    return this.locks.with([id], async () => {
      const l = await this.get(id);
      const n = Math.max(0, Math.min(into.length, l.received - offset));
      return n === 0 ? 0 : l.handle.readKept(into.subarray(0, n), offset);
    });
  }

  async finish(id: string, o: { mtimeNs: bigint | null; sha256: string | null; onConflict: 'refuse' | 'keep-both'; clientName: string }): Promise<Stored> {
    return this.locks.with([id], async () => {
      const l = await this.get(id);
      const { row } = l;
      if (row.size >= 0n && BigInt(l.received) !== row.size) {
        throw new ApiError(409, 'OFFSET_MISMATCH', `${l.received} of the ${row.size} bytes declared have arrived.`, { received: l.received });
      }
      const declared = o.sha256 ?? row.sha256;
      const inc: Incoming = {
        path: row.path,
        sha256: declared,
        base: row.baseSha256,
        mtimeNs: o.mtimeNs ?? row.mtimeNs,
        clientId: row.clientId,
        clientName: o.clientName,
        onConflict: o.onConflict,
      };
      const sha256 = l.hash.copy().digest('hex');
      if (declared !== null && declared !== sha256) {
        // The bytes are wrong: the session is spent (a retry starts afresh).
        await this.drop(id, l);
        throw new ApiError(422, 'CHECKSUM_MISMATCH', 'The bytes that arrived do not have the SHA-256 the upload declared; nothing was replaced.');
      }
      try {
        return await this.files.commit({ handle: l.handle, size: BigInt(l.received), sha256 }, inc, null);
      } finally {
        this.live.delete(id);
        await this.files.store.deleteUpload(id);
      }
    });
  }

  async cancel(id: string): Promise<void> {
    const l = this.live.get(id);
    if (l) {
      await this.drop(id, l);
      return;
    }
    const row = await this.files.store.getUpload(id);
    if (!row) throw new ApiError(404, 'NOT_FOUND', 'There is no such upload session.');
    await this.drop(id, await this.get(id));
  }

  private async drop(id: string, l: Live): Promise<void> {
    this.live.delete(id);
    await l.handle.abort();
    await this.files.store.deleteUpload(id);
  }

  /** Removes sessions idle for 24 h, with their bytes. */
  async sweep(now = Date.now()): Promise<number> {
    const old = await this.files.store.expiredUploads(now);
    for (const row of old) await this.cancel(row.id).catch(() => undefined);
    return old.length;
  }

  /** Closes the open temp files; their sessions stay (a restart goes on from them). */
  async close(): Promise<void> {
    for (const l of this.live.values()) await l.handle.abort({ keep: true });
    this.live.clear();
  }
}
