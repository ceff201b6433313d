import { createHash } from 'node:crypto';
import { hashEntry } from '../../engine/hash-entry.js';
import type { FileEntry } from '../../core/entry.js';
import { fileError } from '../../core/errors.js';
import type { Tree } from '../../core/tree.js';
import type { LocalTarget } from '../../targets/local.js';
import type { FileInfo, ServerApi } from './server-api.js';

/** Files up to this size go in one multipart POST /upload; larger ones through a resumable session. */
export const SMALL_UPLOAD = 8 * 1024 * 1024;
/** One PUT of a resumable upload. */
const RANGE = 8 * 1024 * 1024;

/** What the client knows of a local file's state: enough to tell it changed. */
export type Seen = Pick<FileEntry, 'size' | 'mtimeNs'>;

/** SHA-256 of a local file, read through its tree (never through a link); ECHANGED when it moved while read. */
export async function hashLocal(tree: Tree, rel: string): Promise<{ sha256: string; entry: Seen }> {
  const r = await hashEntry(tree, rel, 'sha256');
  if (!r) throw fileError('ECHANGED', `${rel} changed while it was read, or is not a regular file`);
  return { sha256: r.hash, entry: { size: BigInt(r.size), mtimeNs: r.mtimeNs } };
}

async function readRange(tree: Tree, rel: string, start: number, end: number): Promise<Uint8Array> {
  const h = await tree.openRead(rel);
  try {
    const buf = new Uint8Array(end - start);
    let got = 0;
    while (got < buf.length) {
      const n = await h.read(buf, got, buf.length - got, start + got);
      if (n === 0) throw fileError('ECHANGED', `${rel} got shorter while it was sent`);
      got += n;
    }
    return buf;
  } finally {
    await h.close();
  }
}

export interface UploadSpec {
  path: string;
  sha256: string;
  base: string | null;
  entry: Seen;
  clientId: string;
  onConflict: 'refuse' | 'keep-both';
}

/** Resumable sessions the client has open, by path (kept in its state, so a restart goes on from them). */
export interface SessionMemory {
  get(path: string, sha256: string): Promise<string | undefined>;
  set(path: string, sha256: string, id: string | undefined): Promise<void>;
}

/**
 * Sends a local file: in one multipart POST when small, else through a resumable session that goes
 * on from the bytes the server already has (after a cut, a server restart or a client restart). The
 * server checks the declared size and SHA-256 before the file gets its name.
 */
export async function uploadFile(api: ServerApi, tree: Tree, u: UploadSpec, sessions: SessionMemory): Promise<FileInfo> {
  const size = Number(u.entry.size);
  if (size <= SMALL_UPLOAD) {
    const data = await readRange(tree, u.path, 0, size);
    const form = new FormData();
    form.set('path', u.path);
    form.set('sha256', u.sha256);
    form.set('base_sha256', u.base ?? '');
    form.set('mtime_ns', String(u.entry.mtimeNs));
    form.set('size', String(size));
    form.set('client_id', u.clientId);
    form.set('on_conflict', u.onConflict);
    form.set('file', new Blob([data]), 'file');
    return (await (await api.request('POST', '/upload', { body: form })).json()) as FileInfo;
  }
  let id = await sessions.get(u.path, u.sha256);
  let received = 0;
  if (id) {
    try {
      received = ((await api.json('GET', `/uploads/${id}`)) as { received: number }).received;
    } catch (err) {
      if ((err as { status?: number }).status !== 404) throw err;
      id = undefined;
    }
  }
  if (!id) {
    const s = await api.json<{ upload_id: string }>('POST', '/uploads', {
      path: u.path, size, sha256: u.sha256, mtime_ns: String(u.entry.mtimeNs), base_sha256: u.base, client_id: u.clientId,
    });
    id = s.upload_id;
    await sessions.set(u.path, u.sha256, id);
  }
  while (received < size) {
    const end = Math.min(size, received + RANGE);
    const chunk = await readRange(tree, u.path, received, end);
    const r = await api.request('PUT', `/uploads/${id}`, {
      body: chunk,
      headers: { 'content-type': 'application/octet-stream', 'content-range': `bytes ${received}-${end - 1}/${size}` },
    });
    received = ((await r.json()) as { received: number }).received;
  }
  try {
    return await api.json<FileInfo>('POST', `/uploads/${id}/finish`, { mtime_ns: String(u.entry.mtimeNs), sha256: u.sha256, on_conflict: u.onConflict });
  } finally {
    await sessions.set(u.path, u.sha256, undefined);
  }
}

/**
 * Fetches a file from the server into the sync directory through the LocalTarget: a temp file, its
 * SHA-256 checked against the server's, then renamed over the name with the server's mtime. Resolves
 * the entry as written and its hash (what the client records, so the watcher's echo of it is no change).
 */
export async function downloadFile(api: ServerApi, target: LocalTarget, info: FileInfo): Promise<{ entry: FileEntry; sha256: string }> {
  const res = await api.download(info.path);
  const expected = res.headers.get('x-sha256') ?? info.sha256;
  const mtimeNs = BigInt(res.headers.get('x-mtime-ns') ?? info.mtime_ns);
  const handle = await target.openWrite(info.path);
  try {
    const hash = createHash('sha256');
    let at = 0;
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        hash.update(chunk);
        await handle.write(chunk, at);
        at += chunk.length;
      }
    }
    if (hash.digest('hex') !== expected) throw fileError('ECHANGED', `${info.path} did not arrive as the server has it (SHA-256 differs); it is fetched again later`);
    return { entry: await handle.commit({ atimeNs: mtimeNs, mtimeNs }), sha256: expected };
  } catch (err) {
    await handle.abort();
    throw err;
  }
}
