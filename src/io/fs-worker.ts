/**
 * A thread of the I/O pool. Whole small files, and every write, delete and read below a root, are
 * done here with sync syscalls (beneath-ops.ts): one message round trip per operation instead of a
 * libuv round trip per syscall, and none of the main thread's time (a slow share stalls a thread,
 * not the event loop). Requests arrive in batches and their replies leave as one batch.
 */
import { parentPort } from 'node:worker_threads';
import { ops } from './beneath-ops.js';
import type { FsFailure, FsReply, FsRequest } from './fs-protocol.js';
import { addon as native } from './native.js';

function failure(err: unknown): FsFailure {
  const e = err as NodeJS.ErrnoException & Record<string, unknown>;
  const props: Record<string, unknown> = {};
  for (const k of ['rel', 'kind', 'notEmpty', 'own']) if (e?.[k] !== undefined) props[k] = e[k];
  return { code: e?.code ?? 'EIO', message: e?.message ?? String(err), props };
}

function handle(req: FsRequest): FsReply {
  try {
    if (req.op === 'syncfs') {
      if (!native) throw Object.assign(new Error('syncfs needs the native helper'), { code: 'ENOSYS' });
      native.syncfs((req.args as { fd: number }).fd);
      return { id: req.id, ok: true, value: undefined };
    }
    const run = ops[req.op] as (args: unknown) => unknown;
    return { id: req.id, ok: true, value: run(req.args) };
  } catch (err) {
    return { id: req.id, ok: false, error: failure(err) };
  }
}

// Read data goes back transferred, not copied.
parentPort!.on('message', (batch: FsRequest[]) => {
  const replies = batch.map(handle);
  const transfer: ArrayBuffer[] = [];
  for (const r of replies) {
    const v = r.ok ? (r.value as { kind?: string; data?: Uint8Array } | undefined) : undefined;
    if (v?.kind === 'read' && v.data && v.data.byteLength > 0) transfer.push(v.data.buffer as ArrayBuffer);
  }
  parentPort!.postMessage(replies, transfer);
});
