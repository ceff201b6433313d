import type { FileEntry } from '../core/entry.js';
import type { Algorithm } from '../core/hash.js';

/** Messages between the main thread and an I/O pool thread (see fs-worker.ts). */
export type FsRequest =
  | { id: number; op: 'read'; path: string; rel: string; algorithm: Algorithm | null; maxSize: number; hashOnly?: boolean }
  | {
      id: number;
      op: 'write';
      temp: string;
      final: string;
      rel: string;
      data: Uint8Array;
      atimeNs: bigint;
      mtimeNs: bigint;
      /** fdatasync this file itself: the root's syncfs cannot be trusted to cover it. */
      syncEach: boolean;
      /** st_dev of the root: a file on another device (a mount below the root) is synced itself. */
      rootDev: bigint;
      /** When set, a temp file that lands on another device is removed and the write fails ENXIO (the drive went away). */
      requiredDev?: bigint;
    }
  | { id: number; op: 'syncfs'; fd: number };

export type FsReply =
  | { id: number; kind: 'read'; data: Uint8Array; hash: string | null; entry: FileEntry }
  | { id: number; kind: 'large' }
  | { id: number; kind: 'changed'; entry: FileEntry }
  | { id: number; kind: 'written'; entry: FileEntry; flushed: boolean }
  | { id: number; kind: 'synced' }
  | { id: number; kind: 'error'; code: string; message: string };

/** A write that would land on another filesystem than the drive it was meant for (the drive was unmounted). */
export function notOnDevice(rel: string): Error {
  return Object.assign(new Error(`${rel} would land outside the drive: it is no longer mounted there`), { code: 'ENXIO' });
}
