/**
 * A thread of the I/O pool. Whole small files are read and written here with sync syscalls: one
 * message round trip per file instead of a libuv round trip per syscall, and none of the main
 * thread's time. Requests and replies are plain data; errors come back as { code, message }.
 */
import { closeSync, fdatasyncSync, fstatSync, lstatSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { entryFromStats } from '../core/entry.js';
import { createHasher } from '../core/hash.js';
import { notOnDevice, type FsReply, type FsRequest } from './fs-protocol.js';
import { addon as native } from './native.js';
import { TEMP_FLAGS, withNoatime } from './open-flags.js';

function read(req: Extract<FsRequest, { op: 'read' }>): FsReply {
  const fd = withNoatime((flags) => openSync(req.path, flags));
  try {
    const before = fstatSync(fd, { bigint: true });
    if (!before.isFile()) return { id: req.id, kind: 'changed', entry: entryFromStats(req.rel, before) };
    if (before.size > BigInt(req.maxSize)) return { id: req.id, kind: 'large' };
    const size = Number(before.size);
    const data = new Uint8Array(new ArrayBuffer(size));
    let n = 0;
    while (n < size) {
      const got = readSync(fd, data, n, size - n, n);
      if (got === 0) break;
      n += got;
    }
    const after = fstatSync(fd, { bigint: true });
    if (n < size || after.size !== before.size || after.mtimeNs !== before.mtimeNs) {
      return { id: req.id, kind: 'changed', entry: entryFromStats(req.rel, after) };
    }
    let hash: string | null = null;
    if (req.algorithm) {
      const h = createHasher(req.algorithm);
      h.update(Buffer.from(data.buffer, 0, size));
      hash = h.digest();
    }
    // hashOnly: the caller wants the digest, not the bytes (an index); nothing big crosses back.
    return { id: req.id, kind: 'read', data: req.hashOnly ? new Uint8Array(0) : data, hash, entry: entryFromStats(req.rel, before) };
  } finally {
    closeSync(fd);
  }
}

function changedUnderUs(rel: string, what: string): Error {
  return Object.assign(new Error(`the copy of ${rel} ${what} (another process writing the same destination?)`), { code: 'ECHANGED' });
}

/**
 * Writes a whole file: temp, write, (fdatasync when asked, or when the file sits on another
 * filesystem than the root: the root's syncfs would not cover it), close, rename, times, re-stat.
 * On any failure before the rename the temp file is removed.
 */
function write(req: Extract<FsRequest, { op: 'write' }>): FsReply {
  let fd: number | undefined = openSync(req.temp, TEMP_FLAGS, 0o644);
  let written;
  let flushed = false;
  try {
    let n = 0;
    while (n < req.data.length) n += writeSync(fd, req.data, n, req.data.length - n, n);
    written = fstatSync(fd, { bigint: true });
    if (req.requiredDev !== undefined && written.dev !== req.requiredDev) throw notOnDevice(req.rel);
    if (req.syncEach || written.dev !== req.rootDev) {
      fdatasyncSync(fd);
      flushed = true;
    }
    const closing = fd;
    fd = undefined;
    closeSync(closing); // NFS reports ENOSPC and EDQUOT here
    if (written.size !== BigInt(req.data.length)) throw changedUnderUs(req.rel, `holds ${written.size} bytes, ferry wrote ${req.data.length}`);
    renameSync(req.temp, req.final);
  } catch (err) {
    if (fd !== undefined) try { closeSync(fd); } catch { /* the first error matters */ }
    try { unlinkSync(req.temp); } catch { /* already gone */ }
    throw err;
  }
  if (!native) throw Object.assign(new Error('the native time helper is not loaded'), { code: 'ENOSYS' });
  native.utimens(req.final, req.atimeNs, req.mtimeNs);
  const st = lstatSync(req.final, { bigint: true });
  if (st.ino !== written.ino || st.dev !== written.dev) throw changedUnderUs(req.rel, 'was replaced after the rename');
  return { id: req.id, kind: 'written', entry: entryFromStats(req.rel, st), flushed };
}

function syncfs(req: Extract<FsRequest, { op: 'syncfs' }>): FsReply {
  native!.syncfs(req.fd);
  return { id: req.id, kind: 'synced' };
}

function handle(req: FsRequest): FsReply {
  try {
    return req.op === 'read' ? read(req) : req.op === 'write' ? write(req) : syncfs(req);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { id: req.id, kind: 'error', code: e.code ?? 'EIO', message: e.message };
  }
}

// Requests arrive in batches; replies go back as one batch, read data transferred, not copied.
parentPort!.on('message', (batch: FsRequest[]) => {
  const replies = batch.map(handle);
  const transfer = replies.flatMap((r) => (r.kind === 'read' ? [r.data.buffer as ArrayBuffer] : []));
  parentPort!.postMessage(replies, transfer);
});
