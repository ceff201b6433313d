import type { Change, ChangeOp, ClientRow, ServerFile, UploadSession } from '../../core/server-store.js';

/** Rows of the server's tables as `pg` returns them: int8 as strings (a double cannot hold them). */
export interface FileRow {
  path: string;
  size: string;
  mtime_ns: string;
  sha256: string;
  seq: string;
  deleted: boolean;
  client_id: string | null;
}
export const FILE_COLUMNS = 'path, size, mtime_ns, sha256, seq, deleted, client_id';

export const toFile = (r: FileRow): ServerFile => ({
  path: r.path, size: BigInt(r.size), mtimeNs: BigInt(r.mtime_ns), sha256: r.sha256, seq: Number(r.seq), deleted: r.deleted, clientId: r.client_id,
});

export interface ChangeRow {
  seq: string;
  op: ChangeOp;
  path: string;
  from_path: string | null;
  size: string;
  mtime_ns: string;
  sha256: string;
  client_id: string | null;
  time_ms: string;
}
export const CHANGE_COLUMNS = 'seq, op, path, from_path, size, mtime_ns, sha256, client_id, time_ms';

export const toChange = (r: ChangeRow): Change => ({
  seq: Number(r.seq), op: r.op, path: r.path, from: r.from_path, size: BigInt(r.size), mtimeNs: BigInt(r.mtime_ns), sha256: r.sha256,
  clientId: r.client_id, timeMs: Number(r.time_ms),
});

export interface ClientDbRow {
  client_id: string;
  name: string;
  platform: string | null;
  registered_ms: string;
  last_seen_ms: string;
  last_seq: string;
}
export const CLIENT_COLUMNS = 'client_id, name, platform, registered_ms, last_seen_ms, last_seq';

export const toClient = (r: ClientDbRow): ClientRow => ({
  clientId: r.client_id, name: r.name, platform: r.platform, registeredMs: Number(r.registered_ms), lastSeenMs: Number(r.last_seen_ms),
  lastSeq: Number(r.last_seq),
});

export interface UploadRow {
  id: string;
  path: string;
  size: string;
  sha256: string | null;
  mtime_ns: string;
  base_sha256: string | null;
  client_id: string | null;
  received: string;
  created_ms: string;
  expires_ms: string;
}
export const UPLOAD_COLUMNS = 'id, path, size, sha256, mtime_ns, base_sha256, client_id, received, created_ms, expires_ms';

export const toUpload = (r: UploadRow): UploadSession => ({
  id: r.id, path: r.path, size: BigInt(r.size), sha256: r.sha256, mtimeNs: BigInt(r.mtime_ns), baseSha256: r.base_sha256, clientId: r.client_id,
  received: BigInt(r.received), createdMs: Number(r.created_ms), expiresMs: Number(r.expires_ms),
});
