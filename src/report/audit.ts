import type { FerryEvent } from '../core/events.js';

/** One line of the audit log (§4.2), JSON Lines. */
export interface AuditRecord {
  time: string;
  status: 'synced' | 'failed' | 'deleted' | 'refused' | 'replaced' | 'skipped';
  source: string | null;
  destination: string;
  checksum: string | null;
  algorithm: string | null;
  size: number;
  error?: string;
  trashedTo?: string;
}

/**
 * The audit renderer: an event as its audit record, or undefined for events the audit does not keep.
 * engine/audit-log.ts appends the records to the log file.
 */
export function auditRecord(e: FerryEvent, now = new Date()): AuditRecord | undefined {
  const time = now.toISOString();
  switch (e.type) {
    case 'file.done':
      if (e.dryRun) return undefined;
      return { time, status: 'synced', source: e.source, destination: e.destination, checksum: e.hash, algorithm: e.algorithm, size: e.size };
    case 'file.error':
      return { time, status: 'failed', source: e.source, destination: e.destination, checksum: null, algorithm: null, size: e.size, error: e.message };
    case 'file.deleted':
      if (e.dryRun) return undefined;
      return { time, status: 'deleted', source: null, destination: e.destination, checksum: null, algorithm: null, size: e.size, ...(e.trashedTo ? { trashedTo: e.trashedTo } : {}) };
    case 'mirror.refused':
      return { time, status: 'refused', source: null, destination: e.destination, checksum: null, algorithm: null, size: 0, error: e.reason };
    case 'file.replaced':
      return { time, status: 'replaced', source: null, destination: e.destination, checksum: null, algorithm: null, size: 0, error: `a ${e.was} stood where the source has another kind of entry`, ...(e.trashedTo ? { trashedTo: e.trashedTo } : {}) };
    case 'file.skip':
      if (e.reason !== 'temp-name') return undefined;
      return { time, status: 'skipped', source: e.source, destination: e.destination, checksum: null, algorithm: null, size: e.size, error: 'named like ferry\'s temp files: not copied' };
    default:
      return undefined;
  }
}
