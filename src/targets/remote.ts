import { createHash } from 'node:crypto';
import type { FileEntry } from '../core/entry.js';
import { errnoCode, fileError } from '../core/errors.js';
import { createHasher, type Algorithm } from '../core/hash.js';
import type { EntryAttrs, FileTimes, Target, TargetCaps, TargetListOptions, WriteHandle } from '../core/target.js';
import { badTreePath, type ListBatch, type ListError, type ReadHandle, type WholeRead } from '../core/tree.js';
import { TimeGranularity } from '../core/units.js';
import { encodePath, HttpClient, type FileInfo, type HttpFailure } from './http-client.js';
import { RemoteReadHandle, remoteFileOf, type RemoteFile } from './remote-read-handle.js';
import { RemoteWriteHandle, type RemoteSession } from './remote-write-handle.js';
import { TEMP_NAME } from './temp-names.js';
import { multipartBody } from './multipart-body.js';

export type { RemoteSession } from './remote-write-handle.js';

export interface RemoteTargetOptions {
  /** The server's API key (sent as `Authorization: Bearer`); none when the server has no keys. */
  apiKey?: string;
  /** The client id the server knows this client by (its conflict copies are named after it). */
  clientId?: string;
  /**
   * Upload sessions kept by `abort({ keep: true })`, by path: pass a map to keep them across
   * instances (a client persists it); the target adds and removes its entries.
   */
  sessions?: Map<string, RemoteSession>;
  /** Writes are gathered into PUTs of this many bytes (default 8 MiB). */
  putSize?: number;
  /** Told of each file the server took, as it answered (with `conflict` when it kept both versions). */
  onCommitted?: (rel: string, info: FileInfo) => void;
}

/** What a caller knows of a file before it writes it (`RemoteTarget.expect`). */
export interface RemoteExpectation {
  /** Its size: the server refuses one over its limit before any byte, and checks it at the end. */
  size?: number | bigint;
  /** Its SHA-256 (hex): the server checks the bytes against it before the file gets its name. */
  sha256?: string;
  /**
   * The server content the write replaces ('' or null: none); by default the SHA-256 the server
   * has at the path when the write opens. Another content there at commit is ECHANGED.
   */
  baseSha256?: string | null;
  mtimeNs?: bigint;
  /**
   * `keep-both`: when the server moved on from the base to other bytes, it keeps both versions (the
   * newer mtime keeps the name, the other is a conflict copy) instead of refusing the write (ECHANGED).
   */
  onConflict?: 'refuse' | 'keep-both';
}

/** The tree a GET /files shows: its files, and the directories they imply (every parent of a file). */
interface Shape {
  files: Map<string, FileInfo>;
  dirs: Map<string, { mtimeNs: bigint; children: string[] }>;
}

type Found =
  | { kind: 'file'; info: FileInfo }
  | { kind: 'dir'; mtimeNs: bigint }
  | { kind: 'absent' }
  /** A parent of the path is a file. */
  | { kind: 'notdir'; at: string };

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const DEFAULT_PUT = 8 * 1024 * 1024;

const parentOf = (rel: string): string => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');
const nameOf = (rel: string): string => rel.slice(rel.lastIndexOf('/') + 1);
const keyOf = (dir: string): string => (dir === '' ? '' : `${dir}/`);

/** The parents of `rel`, nearest the root first ('' left out). */
function parentsOf(rel: string): string[] {
  const parts = rel.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

function fileEntry(rel: string, size: bigint, mtimeNs: bigint): FileEntry {
  return { rel, kind: 'file', size, mtimeNs, atimeNs: mtimeNs, ctimeNs: mtimeNs, birthtimeNs: mtimeNs, mode: S_IFREG | 0o644, uid: 0, gid: 0 };
}

function dirEntry(rel: string, mtimeNs: bigint): FileEntry {
  return { rel, kind: 'dir', size: 0n, mtimeNs, atimeNs: mtimeNs, ctimeNs: mtimeNs, birthtimeNs: mtimeNs, mode: S_IFDIR | 0o755, uid: 0, gid: 0 };
}

const infoEntry = (info: FileInfo): FileEntry => fileEntry(info.path, BigInt(info.size), BigInt(info.mtime_ns));

function shapeOf(files: FileInfo[]): Shape {
  const shape: Shape = { files: new Map(), dirs: new Map([['', { mtimeNs: 0n, children: [] }]]) };
  for (const f of files) {
    if (f.deleted) continue;
    shape.files.set(f.path, f);
    const m = BigInt(f.mtime_ns);
    let child = f.path;
    let isNew = true;
    for (;;) {
      const p = parentOf(child);
      let d = shape.dirs.get(p);
      const made = !d;
      if (!d) {
        d = { mtimeNs: 0n, children: [] };
        shape.dirs.set(p, d);
      }
      if (isNew) d.children.push(child);
      if (m > d.mtimeNs) d.mtimeNs = m; // a directory's time: its newest file's
      if (p === '') break;
      isNew = made;
      child = p;
    }
  }
  return shape;
}

function find(shape: Shape, rel: string): Found {
  for (const p of parentsOf(rel)) if (shape.files.has(p)) return { kind: 'notdir', at: p };
  const info = shape.files.get(rel);
  if (info) return { kind: 'file', info };
  const d = shape.dirs.get(rel);
  return d ? { kind: 'dir', mtimeNs: d.mtimeNs } : { kind: 'absent' };
}

function entryIn(shape: Shape, rel: string): FileEntry {
  const info = shape.files.get(rel);
  return info ? infoEntry(info) : dirEntry(rel, shape.dirs.get(rel)?.mtimeNs ?? 0n);
}

/** A listing's digest: its names with kinds, sizes, times and contents, sorted. */
function digestOf(shape: Shape, children: string[]): string {
  const h = createHash('sha1');
  for (const c of children) {
    const f = shape.files.get(c);
    h.update(f ? `${nameOf(c)}\0f\0${f.size}\0${f.mtime_ns}\0${f.sha256}\n` : `${nameOf(c)}\0d\n`);
  }
  return h.digest('base64');
}

const notDir = (rel: string, at: string): Error =>
  Object.assign(fileError('ENOTDIR', `${at} is a file on the server, not a directory`), { rel: at, kind: 'file' });

/**
 * A tree kept by a ferry server (`ferry serve`, docs/serve.md), read and written over its HTTP API:
 * GET /files is the listing (directories are implicit: every parent of a file, so an empty one does
 * not exist), GET /download/{path} reads (ranges), the resumable /uploads write (a session per
 * file, finished against the server's SHA-256 as the write found it: another change meanwhile is
 * ECHANGED), DELETE /files/{path} removes. No symlinks, no permission bits, no times but a file's
 * mtime (atime, ctime and birth time are shown as it), no trash.
 */
export class RemoteTarget implements Target {
  readonly root: string;
  readonly reservedName = TEMP_NAME; // the server's sync directory is a LocalTarget: its temp names
  private readonly http: HttpClient;
  private readonly sessions: Map<string, RemoteSession>;
  private readonly expected = new Map<string, RemoteExpectation>();
  private planned = new Map<string, { kind: string; size: bigint; modifiedNs: bigint }>();
  private readonly putSize: number;
  private readonly clientId: string | undefined;
  private readonly onCommitted: ((rel: string, info: FileInfo) => void) | undefined;

  constructor(url: string, options: RemoteTargetOptions = {}) {
    this.http = new HttpClient(url, options.apiKey);
    this.root = this.http.base;
    this.sessions = options.sessions ?? new Map();
    this.putSize = options.putSize ?? DEFAULT_PUT;
    this.clientId = options.clientId;
    this.onCommitted = options.onCommitted;
  }

  /** Refuses what is not a path of the tree (core/tree.ts badTreePath), before any request. */
  private valid(rel: string): void {
    const bad = badTreePath(rel);
    if (bad) throw fileError('EINVAL', `${JSON.stringify(rel)} is not a path inside the tree: ${bad}`);
  }

  /**
   * Declares what the next write of `rel` (openWrite or writeWhole) will be: the upload session is
   * opened with its size and SHA-256 (refused at once when too large, checked by the server before
   * the file gets its name) and, when given, the base it replaces.
   */
  expect(rel: string, e: RemoteExpectation): void {
    this.valid(rel);
    this.expected.set(rel, e);
  }

  private async shape(signal?: AbortSignal): Promise<Shape> {
    const r = await this.http.json<{ files: FileInfo[] }>('listing the files', '/files', { signal });
    return shapeOf(r.files);
  }

  /** The file at `rel` as a one-byte download finds it, undefined when the server has none there. */
  private async head(rel: string): Promise<RemoteFile | undefined> {
    const res = await this.http.request(`looking at ${rel}`, `/download/${encodePath(rel)}`, { headers: { range: 'bytes=0-0' }, accept: [404] });
    await res.body?.cancel().catch(() => undefined);
    return res.status === 404 ? undefined : remoteFileOf(res);
  }

  async available(): Promise<boolean> {
    try {
      const r = await this.http.json<{ status?: string }>('asking for its health', '/health');
      return r.status === 'ok';
    } catch {
      return false;
    }
  }

  async *list(options: TargetListOptions = {}): AsyncGenerator<ListBatch> {
    const under = options.under ?? '';
    this.valid(under);
    const shape = await this.shape(options.signal);
    const exclude = options.exclude ?? [];
    const excluded = (rel: string): boolean => exclude.some((x) => rel === x || rel.startsWith(`${x}/`));
    const granularity = new TimeGranularity();
    const batchSize = options.batchSize ?? 1000;
    const fresh = (): ListBatch => ({ entries: [], dirs: 0, errors: [], digests: [], kept: [], keptFiles: 0, keptBytes: 0, mounts: [] });
    let batch = fresh();
    const start = find(shape, under);
    if (under !== '' && start.kind !== 'dir') {
      const error: ListError =
        start.kind === 'absent'
          ? { rel: under, code: 'ENOENT', message: `${under} is not on the server` }
          : { rel: under, code: 'ENOTDIR', message: `${start.kind === 'notdir' ? start.at : under} is a file on the server, not a directory` };
      yield { ...batch, errors: [error], granularityNs: 1n };
      return;
    }
    const stack = [under];
    while (stack.length > 0) {
      if (options.signal?.aborted) return;
      const dir = stack.pop()!;
      const children = [...shape.dirs.get(dir)!.children].sort();
      batch.dirs++;
      const key = keyOf(dir);
      const digest = options.volatileName && children.some((c) => options.volatileName!.test(nameOf(c))) ? undefined : digestOf(shape, children);
      const kept = digest !== undefined && options.known?.get(key) === digest;
      for (let i = children.length - 1; i >= 0; i--) {
        const c = children[i]!;
        if (!shape.files.has(c) && !excluded(c)) stack.push(c); // walked in name order
      }
      for (const c of children) {
        const f = shape.files.get(c);
        if (f) granularity.observe(BigInt(f.mtime_ns));
        if (excluded(c)) continue;
        if (kept) {
          if (f) {
            batch.keptFiles++;
            batch.keptBytes += f.size;
          }
          continue;
        }
        batch.entries.push(entryIn(shape, c));
        if (batch.entries.length >= batchSize) {
          yield batch;
          batch = fresh();
        }
      }
      if (kept) batch.kept.push(key);
      else if (digest !== undefined) batch.digests.push([key, digest]);
    }
    yield { ...batch, granularityNs: granularity.ns };
  }

  async stat(rel: string): Promise<FileEntry | undefined> {
    this.valid(rel);
    if (rel !== '') {
      const f = await this.head(rel);
      if (f) return fileEntry(rel, BigInt(f.size), f.mtimeNs);
    }
    const found = find(await this.shape(), rel);
    if (found.kind === 'dir') return dirEntry(rel, found.mtimeNs);
    if (found.kind === 'file') return infoEntry(found.info); // put there since the first look
    return undefined;
  }

  async entries(rel: string): Promise<FileEntry[]> {
    this.valid(rel);
    const shape = await this.shape();
    const found = find(shape, rel);
    if (found.kind === 'file') throw notDir(rel, rel);
    if (found.kind === 'notdir') throw notDir(rel, found.at);
    if (found.kind === 'absent') throw fileError('ENOENT', `${rel} is not on the server`);
    return shape.dirs.get(rel)!.children.map((c) => entryIn(shape, c));
  }

  /** Why the server sends no file at `rel`: a directory there (its entry), else it rejects: a file on the way (ENOTDIR), or nothing (ENOENT). */
  private async missing(rel: string): Promise<FileEntry> {
    const found = find(await this.shape(), rel);
    if (found.kind === 'dir') return dirEntry(rel, found.mtimeNs);
    if (found.kind === 'notdir') throw notDir(rel, found.at);
    if (found.kind === 'file') throw fileError('ENOENT', `${rel} is listed by the server but its bytes are not there`);
    throw fileError('ENOENT', `${rel} is not on the server`);
  }

  async openRead(rel: string): Promise<ReadHandle> {
    this.valid(rel);
    const res = await this.http.request(`reading ${rel}`, `/download/${encodePath(rel)}`, { headers: { range: 'bytes=0-' }, accept: [404] });
    const statNow = async (): Promise<FileEntry> => (await this.stat(rel)) ?? Promise.reject(fileError('ENOENT', `${rel} is not on the server any more`));
    if (res.status === 404) {
      await res.body?.cancel().catch(() => undefined);
      await this.missing(rel);
      // A directory: its handle tells so (the reader checks the kind before it reads).
      return {
        read: async () => Promise.reject(fileError('EISDIR', `${rel} is a directory`)),
        stat: statNow,
        close: async () => undefined,
      };
    }
    return new RemoteReadHandle(this.http, rel, remoteFileOf(res), res, statNow);
  }

  async readWhole(rel: string, maxSize: number, algorithm: Algorithm | null, options: { hashOnly?: boolean } = {}): Promise<WholeRead> {
    this.valid(rel);
    const what = `reading ${rel}`;
    const res = await this.http.whole(what, `/download/${encodePath(rel)}`, { accept: [404], maxBytes: maxSize });
    if (res.status === 404) return { kind: 'changed', entry: await this.missing(rel) }; // a directory (else it rejects)
    const file = remoteFileOf(res);
    if (file.size > maxSize || !res.body) return { kind: 'large' };
    const data = res.body;
    const size = data.length;
    const sha = createHash('sha256').update(data);
    const hasher = algorithm && algorithm !== 'sha256' ? createHasher(algorithm) : undefined;
    hasher?.update(data);
    const sha256 = sha.digest('hex');
    const entry = fileEntry(rel, BigInt(size), file.mtimeNs);
    // Not the bytes the server recorded: the file changed in its directory behind its back.
    if (size !== file.size || (file.sha256 !== '' && sha256 !== file.sha256)) return { kind: 'changed', entry };
    const hash = algorithm === 'sha256' ? sha256 : (hasher?.digest() ?? null);
    return { kind: 'read', data: options.hashOnly ? new Uint8Array(0) : data, hash, entry };
  }

  async readlink(rel: string): Promise<string> {
    this.valid(rel);
    throw fileError('EINVAL', `${rel} is not a symlink: the server keeps none`);
  }

  async probe(): Promise<TargetCaps> {
    await this.http.json('asking for its health', '/health');
    return { timePrecisionNs: 1n, caseSensitive: true, keepsModes: false };
  }

  planReplacements(entries: Array<{ rel: string; kind: string; size: bigint; modifiedNs: bigint }>): void {
    this.planned = new Map(entries.map((e) => [e.rel, e]));
  }

  /** Deletes the file at `rel` when the plan replaces it and it is still as the scan saw it. */
  private async replacePlanned(rel: string): Promise<void> {
    const plan = this.planned.get(rel);
    if (plan?.kind !== 'file') return;
    const f = await this.head(rel);
    if (!f || BigInt(f.size) !== plan.size || f.mtimeNs !== plan.modifiedNs) return; // not what was planned: the write is refused
    await this.deleteFile(rel, f.sha256);
  }

  private async replaceParents(rel: string, self: boolean): Promise<void> {
    if (this.planned.size === 0) return;
    for (const p of self ? [...parentsOf(rel), rel] : parentsOf(rel)) await this.replacePlanned(p);
  }

  private async deleteFile(rel: string, base: string): Promise<void> {
    const res = await this.http.request(`deleting ${rel}`, `/files/${encodePath(rel)}`, {
      method: 'DELETE',
      query: { base_sha256: base, client_id: this.clientId },
      accept: [404],
    });
    await res.body?.cancel().catch(() => undefined);
  }

  /** The precise error of a write the server refused, when the tree shows why: a file on the way, a directory where the file goes. */
  private async explain(rel: string, err: HttpFailure): Promise<Error> {
    const conflictOfBase = err.serverCode === 'CONFLICT' && err.body?.current !== undefined;
    if (err.status === undefined || conflictOfBase || !(err.status === 409 || err.status === 400)) return err;
    try {
      const found = find(await this.shape(), rel);
      if (found.kind === 'notdir') return notDir(rel, found.at);
      if (found.kind === 'dir') return Object.assign(fileError('EISDIR', `${rel} is a directory on the server that is not empty`), { notEmpty: true });
    } catch {
      // the listing failed too: the first error says enough
    }
    // A CONFLICT that names no content of the server's: a directory that holds no file (not in its listing) is in the way.
    if (err.serverCode === 'CONFLICT') return Object.assign(fileError('EISDIR', `a directory stands at ${rel} on the server`), { cause: err });
    return err;
  }

  /** The base a write of `rel` replaces: declared, or the server's SHA-256 there now ('' for none). */
  private async baseFor(rel: string, e: RemoteExpectation | undefined): Promise<string | null> {
    if (e && e.baseSha256 !== undefined) return e.baseSha256 === '' ? null : e.baseSha256;
    return (await this.head(rel))?.sha256 ?? null;
  }

  private async createSession(rel: string, base: string | null, e: RemoteExpectation | undefined): Promise<RemoteSession> {
    const size = e?.size === undefined ? null : Number(e.size);
    const sha256 = e?.sha256?.toLowerCase() ?? null;
    try {
      const r = await this.http.json<{ upload_id: string }>(`starting the upload of ${rel}`, '/uploads', {
        method: 'POST',
        json: {
          path: rel,
          base_sha256: base ?? '',
          ...(size !== null ? { size } : {}),
          ...(sha256 !== null ? { sha256 } : {}),
          ...(e?.mtimeNs !== undefined ? { mtime_ns: String(e.mtimeNs) } : {}),
          ...(this.clientId ? { client_id: this.clientId } : {}),
        },
      });
      return { id: r.upload_id, base, size, sha256 };
    } catch (err) {
      throw await this.explain(rel, err as HttpFailure);
    }
  }

  /** The kept session of `rel` with the bytes the server holds, when it still fits this write; else it is cancelled. */
  private async reuse(rel: string, base: string | null, e: RemoteExpectation | undefined): Promise<{ session: RemoteSession; received: number } | undefined> {
    const s = this.sessions.get(rel);
    if (!s) return undefined;
    const size = e?.size === undefined ? null : Number(e.size);
    const sha256 = e?.sha256?.toLowerCase() ?? null;
    if (s.base === base && (size === null || s.size === size) && (sha256 === null || s.sha256 === sha256)) {
      const r = await this.http.json<{ path?: string; received: number }>(`asking for the upload of ${rel}`, `/uploads/${s.id}`).catch((err: unknown) => {
        if (errnoCode(err) === 'ENOENT') return undefined; // finished, cancelled or expired
        throw err;
      });
      if (r && (r.path === undefined || r.path === rel)) return { session: s, received: r.received };
    }
    this.sessions.delete(rel);
    return undefined; // the server cancels the old session when the new one for the same path starts
  }

  async openWrite(rel: string, _attrs?: EntryAttrs, options: { keepPartial?: boolean } = {}): Promise<WriteHandle> {
    this.valid(rel);
    if (rel === '') throw fileError('EISDIR', 'the root is a directory');
    const e = this.expected.get(rel);
    this.expected.delete(rel);
    await this.replaceParents(rel, false);
    const base = await this.baseFor(rel, e);
    const found = options.keepPartial ? await this.reuse(rel, base, e) : undefined;
    if (!options.keepPartial) this.sessions.delete(rel);
    const session = found?.session ?? (await this.createSession(rel, base, e));
    return new RemoteWriteHandle({
      http: this.http,
      rel,
      session,
      received: found?.received ?? 0,
      sha256: e?.sha256?.toLowerCase() ?? null,
      putSize: this.putSize,
      restart: () => this.createSession(rel, base, e),
      keep: (s) => this.sessions.set(rel, s),
      forget: (s) => {
        if (this.sessions.get(rel)?.id === s.id) this.sessions.delete(rel);
      },
      explain: (err) => this.explain(rel, err),
      onConflict: e?.onConflict,
      entryOf: (info) => this.committed(rel, info),
    });
  }

  /** The small-file path: one multipart POST /upload (the server writes it whole, flushed, before it answers). */
  async writeWhole(rel: string, data: Uint8Array, times: FileTimes, _attrs?: EntryAttrs): Promise<FileEntry> {
    this.valid(rel);
    if (rel === '') throw fileError('EISDIR', 'the root is a directory');
    const e = this.expected.get(rel);
    this.expected.delete(rel);
    const sha256 = createHash('sha256').update(data).digest('hex');
    if ((e?.sha256 !== undefined && e.sha256.toLowerCase() !== sha256) || (e?.size !== undefined && BigInt(e.size) !== BigInt(data.length))) {
      throw fileError('ECHANGED', `the bytes of ${rel} are not the ones declared`);
    }
    await this.replaceParents(rel, false);
    const base = await this.baseFor(rel, e);
    const { body, contentType } = multipartBody(
      {
        path: rel,
        sha256,
        base_sha256: base ?? '',
        mtime_ns: String(times.mtimeNs),
        size: String(data.length),
        client_id: this.clientId || undefined,
        on_conflict: e?.onConflict,
      },
      { name: nameOf(rel), data },
    );
    try {
      return this.committed(rel, await this.http.json<FileInfo>(`uploading ${rel}`, '/upload', { method: 'POST', body, headers: { 'content-type': contentType } }));
    } catch (err) {
      throw await this.explain(rel, err as HttpFailure);
    }
  }

  private committed(rel: string, info: FileInfo): FileEntry {
    this.onCommitted?.(rel, info);
    return infoEntry(info);
  }

  /** Every write is on the server's disk, flushed, before it answers. */
  async flushAll(): Promise<void> {}

  async partialSize(rel: string): Promise<number> {
    const s = this.sessions.get(rel);
    if (!s) return 0;
    try {
      return (await this.http.json<{ received: number }>(`asking for the upload of ${rel}`, `/uploads/${s.id}`)).received;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      this.sessions.delete(rel);
      return 0;
    }
  }

  async symlink(rel: string, _linkTarget: string, _times: FileTimes, _attrs?: EntryAttrs): Promise<void> {
    this.valid(rel);
    throw fileError('ENOTSUP', `${rel} cannot be a symlink: the server keeps none`);
  }

  /** Directories are implicit (a directory is there while a file is below it): nothing to make, but a planned file in the way goes. */
  async mkdir(rel: string, _attrs?: EntryAttrs): Promise<void> {
    this.valid(rel);
    if (rel !== '') await this.replaceParents(rel, true);
  }

  /** POST /move: the server renames the file on disk and in its record (no upload), only while `from` is the content seen here. */
  async rename(from: string, to: string): Promise<void> {
    this.valid(from);
    this.valid(to);
    const f = from === '' ? undefined : await this.head(from);
    if (!f) {
      const entry = await this.missing(from); // a directory resolves; ENOENT, ENOTDIR reject
      throw fileError('EISDIR', `${entry.rel === '' ? 'the root' : from} is a directory: the server renames files only`);
    }
    try {
      const res = await this.http.request(`moving ${from} to ${to}`, '/move', {
        method: 'POST',
        json: { from, to, base_sha256: f.sha256, ...(this.clientId ? { client_id: this.clientId } : {}) },
      });
      await res.body?.cancel().catch(() => undefined);
    } catch (err) {
      const e = err as HttpFailure;
      if (e.serverCode === 'CONFLICT') {
        const current = e.body?.current as { path?: string } | undefined;
        if (current?.path !== from) throw Object.assign(fileError('EEXIST', `${to} is already on the server`), { cause: e });
      }
      throw await this.explain(to, e);
    }
  }

  async setTimes(rel: string, _times: FileTimes): Promise<void> {
    this.valid(rel);
    throw fileError('ENOTSUP', `the times of ${rel} cannot be set on the server but by uploading it`);
  }

  async remove(rel: string, options: { trashDir?: string } = {}): Promise<string | undefined> {
    this.valid(rel);
    if (rel === '') throw fileError('EINVAL', 'the root is not removed');
    if (options.trashDir !== undefined) throw fileError('ENOTSUP', `${rel} cannot be moved to a trash: the server keeps none`);
    const f = await this.head(rel);
    if (f) {
      await this.deleteFile(rel, f.sha256);
      return undefined;
    }
    const found = find(await this.shape(), rel);
    if (found.kind === 'dir') throw fileError('ENOTEMPTY', `${rel} is not empty`); // an empty one does not exist
    if (found.kind === 'notdir') throw notDir(rel, found.at);
    if (found.kind === 'file') await this.deleteFile(rel, found.info.sha256);
    return undefined;
  }

  async close(): Promise<void> {}
}
