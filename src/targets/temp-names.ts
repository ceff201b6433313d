import { createHash, randomBytes } from 'node:crypto';

/**
 * ferry's temp files are `.ferry-tmp-<job tag: 8 hex><path tag: 8 hex>` beside their destination.
 * The job tag keeps two jobs writing into one destination apart; the path tag is derived from the
 * relative path, so a run resuming after a crash reuses (truncates, then renames) the temp file the
 * crashed run left instead of leaving it behind.
 */
export const TEMP_NAME = /^\.ferry-tmp-([0-9a-f]{8})([0-9a-f]{8})$/;

/** How old another job's temp file must be before a scan removes it (a live writer keeps it fresh). */
export const FOREIGN_TEMP_GRACE_NS = 60n * 60n * 1_000_000_000n;

export function jobTag(identity: string): string {
  return createHash('sha256').update(identity).digest('hex').slice(0, 8);
}

export function tempNameFor(tag: string, rel: string): string {
  return `.ferry-tmp-${tag}${createHash('sha256').update(rel).digest('hex').slice(0, 8)}`;
}

export function randomTempName(tag: string): string {
  return `.ferry-tmp-${tag}${randomBytes(4).toString('hex')}`;
}

/** Whether a temp file may be removed: ours (any age), or another job's left for over an hour. */
export function isStaleTemp(name: string, tag: string, mtimeNs: bigint, nowNs: bigint): boolean {
  const m = TEMP_NAME.exec(name);
  if (!m) return false;
  return m[1] === tag || nowNs - mtimeNs > FOREIGN_TEMP_GRACE_NS;
}
