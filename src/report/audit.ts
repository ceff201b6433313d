import { closeSync, createWriteStream, openSync, type WriteStream } from 'node:fs';
import { describeFileError, FerryError } from '../core/errors.js';
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

/** Turns an event into its audit record, or undefined for events the audit does not keep. */
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

/** Appends audit records to a file. Opening checks the path first, so a bad --log fails before any copy. */
export class AuditLog {
  private readonly stream: WriteStream;

  constructor(readonly path: string) {
    try {
      closeSync(openSync(path, 'a'));
    } catch (err) {
      throw new FerryError('USAGE', `Cannot write the audit log ${path}: ${describeFileError(err)}.`, { cause: err });
    }
    this.stream = createWriteStream(path, { flags: 'a' });
  }

  readonly listener = (e: FerryEvent): void => {
    const r = auditRecord(e);
    if (!r) return;
    // The lines of one turn of the event loop leave in one write, not one write each.
    if (!this.stream.writableCorked) {
      this.stream.cork();
      setImmediate(() => this.stream.uncork());
    }
    this.stream.write(`${JSON.stringify(r)}\n`);
  };

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }
}
