import { closeSync, createWriteStream, openSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { describeFileError, FerryError } from '../core/errors.js';
import type { FerryEvent } from '../core/events.js';
import { makeDirs } from '../io/make-dirs.js';
import { auditRecord } from '../report/audit.js';

/**
 * The audit log (seed 001 §4.2): a JSON line for every file a run copied, failed, deleted, replaced
 * or refused, whatever face started the run (copy, watch --target, route's deliveries). The engine
 * keeps it because every byte ferry moves goes through the engine; report/audit.ts words the lines.
 * Opening checks the path first, so a bad --log fails before any copy.
 */
export class AuditLog {
  private readonly stream: WriteStream;

  /** `makeParent`: create the directory it goes in (ferry's state directory, for a default path). */
  constructor(readonly path: string, options: { makeParent?: boolean } = {}) {
    if (options.makeParent) makeDirs(dirname(path));
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
