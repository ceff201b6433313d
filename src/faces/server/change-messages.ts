import type { Change } from '../../core/server-store.js';

/** A change as the API shows it (GET /changes). */
export function changeInfo(c: Change): Record<string, unknown> {
  return {
    seq: c.seq,
    op: c.op,
    path: c.path,
    from: c.from,
    size: Number(c.size),
    mtime_ns: String(c.mtimeNs),
    sha256: c.sha256,
    client_id: c.clientId,
    time: new Date(c.timeMs).toISOString(),
  };
}

const TYPES = { CREATE: 'FILE_CHANGED', UPDATE: 'FILE_CHANGED', DELETE: 'FILE_DELETED', MOVE: 'FILE_MOVED' } as const;

/** A change as a WebSocket message. */
export function changeMessage(c: Change): Record<string, unknown> {
  return { type: TYPES[c.op], ...changeInfo(c) };
}
