import { createHash } from 'node:crypto';
import { errnoCode } from '../../core/errors.js';
import { hashEntry } from '../../engine/hash-entry.js';
import type { Change, ServerFile, ServerStore } from '../../core/server-store.js';
import type { LocalTarget } from '../../targets/local.js';
import type { LocalWriteHandle } from '../../targets/local-write-handle.js';
import { ApiError } from './api-error.js';
import { conflictName, copiesOf, isConflictCopy, MAX_CONFLICT_COPIES } from './conflict-names.js';
import { PathLocks } from './path-locks.js';

/** What a client declares of a file it sends. */
export interface Incoming {
  path: string;
  /** Checked before the bytes get the name (null: not declared; the server's own hash is kept). */
  sha256: string | null;
  /** The content the client's version replaces; null when the client never synced this path. */
  base: string | null;
  mtimeNs: bigint;
  clientId: string | null;
  /** The name the client goes by (it names a conflict copy of its version). */
  clientName: string;
  /** `keep-both`: on a conflict keep both versions; else refuse it (409). */
  onConflict: 'refuse' | 'keep-both';
}

/** A file's bytes streamed into a temp file of the sync directory, hashed as they came. */
export interface Received {
  handle: LocalWriteHandle;
  size: bigint;
  sha256: string;
}

export interface Stored {
  file: ServerFile;
  created: boolean;
  /**
   * Both versions kept: `copy` is where the other one is. With `theirs`, `file` is the sent version as
   * kept (at `copy`) and `current` what holds the name.
   */
  conflict?: { copy: string; kept: 'ours' | 'theirs'; current?: ServerFile };
}

export type ChangeListener = (c: Change) => void;

/**
 * The sync directory and its record, kept in step: every write lands whole through the LocalTarget
 * (temp file, flushed, renamed, times set) before the Store records it, and every change of one path
 * is decided and done under that path's lock, so a precondition checked is still true when acted on.
 */
export class ServerFiles {
  readonly locks = new PathLocks();
  private readonly listeners = new Set<ChangeListener>();

  constructor(
    readonly store: ServerStore,
    readonly target: LocalTarget,
    /** The sync directory as a target whose temp files are named for `identity` (an upload session's own). */
    readonly targetFor: (identity: string) => LocalTarget,
  ) {}

  /**
   * The file at `path` is not what the record says (edited in the sync directory behind the
   * server's back): hashes it and records what it holds now.
   */
  async refresh(path: string): Promise<void> {
    await this.locks.with([path], async () => {
      const e = await this.target.stat(path);
      if (!e || e.kind !== 'file') {
        const row = await this.store.getFile(path);
        if (row && !row.deleted) await this.recordGone(path);
        return;
      }
      const h = await hashEntry(this.target, path, 'sha256');
      if (h) await this.recordFound(path, BigInt(h.size), h.mtimeNs, h.hash);
    });
  }

  onChange(fn: ChangeListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(c: Change | undefined): void {
    if (c) for (const fn of this.listeners) fn(c);
  }

  /** Streams `chunks` into a temp file for `path`, hashing them; past `maxSize` bytes the file is refused (413). */
  async receive(path: string, chunks: AsyncIterable<Uint8Array>, maxSize: number): Promise<Received> {
    const handle = await this.target.openWrite(path).catch((err: unknown) => {
      throw fsError(err, path);
    });
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of chunks) {
        size += chunk.length;
        if (size > maxSize) throw tooLarge(maxSize);
        hash.update(chunk);
        await handle.write(chunk, size - chunk.length);
      }
    } catch (err) {
      await handle.abort();
      throw err instanceof ApiError ? err : fsError(err, path);
    }
    return { handle, size: BigInt(size), sha256: hash.digest('hex') };
  }

  /**
   * Gives received bytes their name, if the client's declaration holds: the size and hash it
   * declared, and a base that is still the server's content (else a conflict: refused, or both
   * versions kept, the newer mtime keeping the name). Records the change once the bytes are safe.
   */
  async commit(r: Received, inc: Incoming, declaredSize: bigint | null): Promise<Stored> {
    try {
      if (declaredSize !== null && declaredSize !== r.size) {
        throw new ApiError(422, 'SIZE_MISMATCH', `${r.size} bytes arrived, the upload declared ${declaredSize}; nothing was replaced.`);
      }
      if (inc.sha256 !== null && inc.sha256 !== r.sha256) {
        throw new ApiError(422, 'CHECKSUM_MISMATCH', 'The bytes that arrived do not have the SHA-256 the upload declared; nothing was replaced.');
      }
    } catch (err) {
      await r.handle.abort();
      throw err;
    }
    return this.locks.with([inc.path], async () => {
      try {
        return await this.place(r, inc);
      } catch (err) {
        await r.handle.abort();
        throw err instanceof ApiError ? err : fsError(err, inc.path);
      }
    });
  }

  private async place(r: Received, inc: Incoming): Promise<Stored> {
    const times = { atimeNs: inc.mtimeNs, mtimeNs: inc.mtimeNs };
    const current = await this.store.getFile(inc.path);
    const live = current && !current.deleted ? current : undefined;
    const record = async (path: string, clientId: string | null, sha256: string, size: bigint): Promise<ServerFile> => {
      const c = await this.store.recordWrite({ path, size, mtimeNs: inc.mtimeNs, sha256, clientId });
      this.changed(c);
      return { path, size, mtimeNs: inc.mtimeNs, sha256, seq: c.seq, deleted: false, clientId };
    };
    if (!live || live.sha256 === inc.base || live.sha256 === r.sha256) {
      if (live && live.sha256 === r.sha256 && live.mtimeNs === inc.mtimeNs) {
        await r.handle.abort(); // the same bytes and time: nothing changes
        return { file: live, created: false };
      }
      await r.handle.commit(times);
      return { file: await record(inc.path, inc.clientId, r.sha256, r.size), created: !live };
    }
    // The server moved on from the client's base, to other bytes: a conflict.
    if (inc.onConflict !== 'keep-both' || isConflictCopy(inc.path)) {
      throw new ApiError(409, 'CONFLICT', `${inc.path} changed on the server since the client last synced it.`, { current: fileInfo(live) });
    }
    const now = new Date();
    if (inc.mtimeNs > live.mtimeNs) {
      // Ours is newer: it keeps the name; the server's version moves aside, named for who made it.
      const owner = live.clientId ? ((await this.store.getClient(live.clientId))?.name ?? live.clientId) : 'server';
      const copy = await this.freeName(conflictName(inc.path, owner, now));
      await this.target.rename(inc.path, copy);
      const moved = await this.store.recordMove(inc.path, copy, inc.clientId);
      this.changed(moved);
      await r.handle.commit(times);
      const file = await record(inc.path, inc.clientId, r.sha256, r.size);
      await this.noteConflict(inc.path, copy, live.sha256, live.clientId, now);
      return { file, created: false, conflict: { copy, kept: 'ours' } };
    }
    const copy = await this.freeName(conflictName(inc.path, inc.clientName, now));
    await r.handle.commitAs(copy, times);
    const file = await record(copy, inc.clientId, r.sha256, r.size);
    await this.noteConflict(inc.path, copy, r.sha256, inc.clientId, now);
    return { file, created: true, conflict: { copy, kept: 'theirs', current: live } };
  }

  /** A conflict copy's name not taken yet (two conflicts in one second get `-2`, `-3`…). */
  private async freeName(name: string): Promise<string> {
    for (let i = 1; ; i++) {
      const candidate = i === 1 ? name : name.replace(/(\.[^./]*)?$/, (ext) => `-${i}${ext}`);
      const row = await this.store.getFile(candidate);
      if ((!row || row.deleted) && !(await this.target.stat(candidate))) return candidate;
    }
  }

  /** Records the conflict and keeps at most MAX_CONFLICT_COPIES copies of the file, removing the oldest. */
  private async noteConflict(path: string, copy: string, sha256: string, clientId: string | null, when: Date): Promise<void> {
    await this.store.recordConflict({ path, copy, sha256, clientId, timeMs: when.getTime() });
    const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    const siblings = (dir === '' ? await this.store.listFiles() : await this.store.listUnder(dir)).map((f) => f.path);
    const copies = copiesOf(path, siblings);
    for (const old of copies.slice(0, Math.max(0, copies.length - MAX_CONFLICT_COPIES))) {
      if (old === copy) continue;
      await this.target.remove(old);
      this.changed(await this.store.recordDelete(old, null));
    }
  }

  /** Deletes `path` if the server still has the client's base there (a modification beats a deletion). */
  async remove(path: string, base: string | null, clientId: string | null): Promise<Change> {
    return this.locks.with([path], async () => {
      const current = await this.store.getFile(path);
      if (!current || current.deleted) throw new ApiError(404, 'NOT_FOUND', `${path} is not on the server.`);
      if (base !== null && current.sha256 !== base) {
        throw new ApiError(409, 'CONFLICT', `${path} changed on the server since the client last synced it; it was not deleted.`, { current: fileInfo(current) });
      }
      try {
        await this.target.remove(path);
      } catch (err) {
        throw fsError(err, path);
      }
      await this.pruneParents(path);
      const c = (await this.store.recordDelete(path, clientId))!;
      this.changed(c);
      return c;
    });
  }

  /** Renames `from` to `to` on disk and in the record (a rename on one client is one everywhere, no re-upload). */
  async move(from: string, to: string, base: string | null, clientId: string | null): Promise<ServerFile> {
    if (from === to) throw new ApiError(400, 'BAD_REQUEST', 'A file cannot be moved onto itself.');
    return this.locks.with([from, to], async () => {
      const src = await this.store.getFile(from);
      if (!src || src.deleted) throw new ApiError(404, 'NOT_FOUND', `${from} is not on the server.`);
      if (base !== null && src.sha256 !== base) {
        throw new ApiError(409, 'CONFLICT', `${from} changed on the server since the client last synced it; it was not moved.`, { current: fileInfo(src) });
      }
      const dst = await this.store.getFile(to);
      if (dst && !dst.deleted) throw new ApiError(409, 'CONFLICT', `${to} is already on the server.`, { current: fileInfo(dst) });
      try {
        await this.target.rename(from, to);
      } catch (err) {
        if (errnoCode(err) === 'EEXIST') throw new ApiError(409, 'CONFLICT', `Something is already at ${to} in the sync directory.`);
        throw fsError(err, to);
      }
      await this.pruneParents(from);
      const c = (await this.store.recordMove(from, to, clientId))!;
      this.changed(c);
      return { ...src, path: to, seq: c.seq, clientId };
    });
  }

  /** Directories a delete or move emptied are removed, up to the root (a no-op for one that holds something). */
  private async pruneParents(path: string): Promise<void> {
    for (let dir = parentOf(path); dir !== ''; dir = parentOf(dir)) {
      try {
        const left = await this.target.entries(dir);
        if (left.length > 0) return;
        await this.target.remove(dir);
      } catch {
        return;
      }
    }
  }

  /** Records what a server-side look at the directory found (a file changed behind the server's back). */
  async recordFound(path: string, size: bigint, mtimeNs: bigint, sha256: string): Promise<void> {
    this.changed(await this.store.recordWrite({ path, size, mtimeNs, sha256, clientId: null }));
  }

  async recordGone(path: string): Promise<void> {
    this.changed(await this.store.recordDelete(path, null));
  }
}

const parentOf = (rel: string): string => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');

export function tooLarge(max: number): ApiError {
  return new ApiError(413, 'TOO_LARGE', `The file is larger than the server's limit of ${max} bytes.`);
}

/** FileInfo as the API answers it. */
export function fileInfo(f: ServerFile): Record<string, unknown> {
  return { path: f.path, size: Number(f.size), mtime_ns: String(f.mtimeNs), sha256: f.sha256, seq: f.seq, deleted: f.deleted, client_id: f.clientId };
}

/** A filesystem error of the sync directory as an answer: the path the client gave, never the server's. */
export function fsError(err: unknown, path: string): ApiError {
  if (err instanceof ApiError) return err;
  switch (errnoCode(err)) {
    case 'EINVAL':
      return new ApiError(400, 'BAD_PATH', `The path ${JSON.stringify(path)} is not a path inside the sync directory.`);
    case 'ELOOP':
    case 'ENOTDIR':
      return new ApiError(400, 'BAD_PATH', `A directory on the way to ${path} is a symlink or a file in the sync directory: nothing is written through it.`);
    case 'EISDIR':
      return new ApiError(409, 'CONFLICT', `A directory stands at ${path} on the server.`);
    case 'ENOENT':
      return new ApiError(404, 'NOT_FOUND', `${path} is not on the server.`);
    case 'ENAMETOOLONG':
      return new ApiError(400, 'BAD_PATH', `A name in ${JSON.stringify(path)} is too long for the server's filesystem.`);
    case 'ENOSPC':
    case 'EDQUOT':
      return new ApiError(507, 'NO_SPACE', 'The server has no space left for this file.');
    case 'ENXIO':
      return new ApiError(503, 'UNAVAILABLE', 'The sync directory is not the one the server started with; it refuses writes.');
    default:
      return Object.assign(new ApiError(500, 'INTERNAL', 'The server could not do this; its log has the details.'), { cause: err });
  }
}
