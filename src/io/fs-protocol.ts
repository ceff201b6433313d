import type { FsOps } from './beneath-ops.js';

/**
 * Messages between the main thread and an I/O pool thread (fs-worker.ts): one of the operations of
 * beneath-ops.ts (or syncfs) with its arguments, and its result or its error, as plain data.
 */
export type FsOp = keyof FsOps | 'syncfs';

export interface FsRequest {
  id: number;
  op: FsOp;
  args: unknown;
}

/** A failure, with the error's own properties (`rel`, `kind`, `notEmpty`, `own`…) kept. */
export interface FsFailure {
  code: string;
  message: string;
  props: Record<string, unknown>;
}

export type FsReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: FsFailure };
