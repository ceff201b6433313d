import type { FileRecord } from '../../core/store.js';

/** A row of `files` as `pg` returns it (int8 as strings). */
export interface FileRow {
  id: string;
  source_path: string;
  dest_path: string;
  rel: string;
  kind: FileRecord['kind'];
  size: string;
  created: string | null;
  changed: string;
  modified: string;
  accessed: string;
  permissions: string;
  uid: string | null;
  gid: string | null;
  hash: string | null;
  algorithm: string | null;
  status: FileRecord['status'];
  error: string | null;
  attempts: string;
}

export function toRecord(r: FileRow): FileRecord & { rowid: number } {
  return {
    rowid: Number(r.id), sourcePath: r.source_path, destPath: r.dest_path, rel: r.rel, kind: r.kind, size: BigInt(r.size),
    createdNs: r.created === null ? 0n : BigInt(r.created), changedNs: BigInt(r.changed), modifiedNs: BigInt(r.modified),
    accessedNs: BigInt(r.accessed), permissions: Number(r.permissions), uid: Number(r.uid ?? 0), gid: Number(r.gid ?? 0), hash: r.hash, algorithm: r.algorithm, status: r.status,
    error: r.error, attempts: Number(r.attempts),
  };
}
