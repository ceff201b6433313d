import type { FileEntry } from '../core/entry.js';
import type { Algorithm } from '../core/hash.js';

/** Messages between the main thread and an I/O pool thread (see fs-worker.ts). */
export type FsRequest =
  | { id: number; op: 'read'; path: string; rel: string; algorithm: Algorithm | null; maxSize: number }
  | { id: number; op: 'write'; temp: string; final: string; rel: string; data: Uint8Array; atimeNs: bigint; mtimeNs: bigint }
  | { id: number; op: 'syncfs'; path: string };

export type FsReply =
  | { id: number; kind: 'read'; data: Uint8Array; hash: string | null; entry: FileEntry }
  | { id: number; kind: 'large' }
  | { id: number; kind: 'changed'; entry: FileEntry }
  | { id: number; kind: 'written'; entry: FileEntry }
  | { id: number; kind: 'synced' }
  | { id: number; kind: 'error'; code: string; message: string };
