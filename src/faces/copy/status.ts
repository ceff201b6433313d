import { resolve } from 'node:path';
import { FerryError } from '../../core/errors.js';
import type { JobStatus, WorkerRecord } from '../../core/store.js';
import { defaultDbPath, resolveRoots } from '../../engine/job-paths.js';
import { openCopyStore, storeExists } from '../../store/open.js';
import { isPgUrl, redact } from '../../store/url.js';

/** What `ferry copy --status` shows: the job, its backlog and runs, and (PostgreSQL) every worker. */
export interface CopyStatus {
  db: string;
  job: JobStatus;
  crew?: { round: number; roundState: string; nowMs: number; workers: WorkerRecord[] };
}

/**
 * Reads a copy job's state without taking its lock or writing (SQLite), beside any running worker.
 * The database is --db, or the default one of SOURCE → DESTINATION.
 */
export async function copyStatus(o: { source?: string; destination?: string; db?: string }): Promise<CopyStatus> {
  let location: string;
  if (o.db !== undefined) location = isPgUrl(o.db) ? o.db : resolve(o.db);
  else if (o.source !== undefined && o.destination !== undefined) {
    const roots = resolveRoots(o.source, o.destination);
    location = defaultDbPath(roots.source, roots.destination);
  } else {
    throw new FerryError('USAGE', 'ferry copy --status needs SOURCE and DESTINATION, or the job\'s --db.');
  }
  const shown = isPgUrl(location) ? redact(location) : location;
  if (!isPgUrl(location) && !storeExists(location)) {
    throw new FerryError('USAGE', `There is no copy job in ${shown}: no ferry copy has run with this database yet.`);
  }
  const store = await openCopyStore(location, { readOnly: true });
  try {
    const job = await store.describe();
    if (!job) throw new FerryError('USAGE', `There is no copy job in ${shown}: no ferry copy has run with this database yet.`);
    if (o.source !== undefined && o.destination !== undefined) {
      const roots = resolveRoots(o.source, o.destination);
      if (roots.source !== job.sourceRoot || roots.destination !== job.destRoot) {
        throw new FerryError('JOB_MISMATCH', `The database ${shown} belongs to ${job.sourceRoot} → ${job.destRoot}, not ${roots.source} → ${roots.destination}.`);
      }
    }
    return { db: shown, job, crew: store.crew ? await store.crew.workers() : undefined };
  } finally {
    await store.close();
  }
}
