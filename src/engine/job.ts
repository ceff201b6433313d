import { rmdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { describeFileError, errnoCode, FerryError, type Outcome } from '../core/errors.js';
import { makeDirs } from '../io/make-dirs.js';
import { EventBus, type Emit, type RunStatus } from '../core/events.js';
import type { Algorithm } from '../core/hash.js';
import { runJob, type RunResult } from './run.js';
import { openCopyStore } from '../store/open.js';
import type { Store } from '../core/store.js';
import { isPgUrl, redact } from '../store/url.js';
import { LocalTarget } from '../targets/local.js';
import { LocalTree } from '../targets/local-tree.js';
import { AuditLog } from './audit-log.js';
import { assertOutsideRoots, defaultDbPath, defaultLogPath, resolveRoots } from './job-paths.js';
import { SETTER_PRECISION_NS } from './plan.js';

/** One run of a copy job: the two roots, ferry's own files, and how the engine copies (see CopyOptions). */
export interface JobOptions {
  source: string;
  destination: string;
  db?: string;
  log?: string;
  bwlimit?: number;
  checksum: Algorithm | null;
  deleteExtras: boolean;
  maxDelete?: number;
  trash?: string;
  rescan: boolean;
  blockSize: number;
  queueCapacity: number;
  transfers: number;
  modifyWindowNs?: bigint;
  dryRun: boolean;
  /** --perms: copies get exactly the source's permission bits (by default: the source's, masked by the umask). */
  perms?: boolean;
  /** --owner: copies get the source's owner and group (root only; refused elsewhere with one notice). */
  owner?: boolean;
  /** --partial: a stopped file keeps its temp file, and the next run goes on from it after comparing it with the source. */
  partial?: boolean;
  statsIntervalMs?: number;
  /** --lease: how long a worker's claims on a PostgreSQL job last without its heartbeat. */
  leaseMs?: number;
}

export interface JobResult extends RunResult {
  outcome: Outcome;
  /** The database this job ran with (a PostgreSQL URL without its password; ':memory:' for a dry run). */
  db: string;
  log?: string;
}

/** What a run's end means for whoever asked for it (see exitCodeFor). */
export function outcomeOf(status: RunStatus): Outcome {
  switch (status) {
    case 'done':
      return 'ok';
    case 'refused':
      return 'refused';
    case 'interrupted':
      return 'interrupted';
    default:
      return 'failed';
  }
}

/**
 * One run of a copy job, whoever asks for it (`ferry copy`, `ferry watch --target`): resolves the
 * roots and ferry's own files beside them, opens the Store (its one-writer lock with it), the
 * audit log and the target, runs the engine (resume or scan, transfer, mirror) and closes them all.
 * Bad input rejects with a FerryError before anything is written.
 */
export async function runCopyJob(o: JobOptions, listen: Emit, signal: AbortSignal): Promise<JobResult> {
  const roots = resolveRoots(o.source, o.destination);
  if (o.maxDelete !== undefined && !o.deleteExtras) throw new FerryError('USAGE', '--max-delete only applies with --delete-extras.');
  // --db is a SQLite file, or a PostgreSQL URL (then the audit log defaults to where the file would be).
  const pgUrl = o.db !== undefined && isPgUrl(o.db) ? o.db : undefined;
  const dbPath = pgUrl ? redact(pgUrl) : resolve(o.db ?? defaultDbPath(roots.source, roots.destination));
  const logPath = o.dryRun ? undefined : resolve(o.log ?? defaultLogPath(pgUrl ? defaultDbPath(roots.source, roots.destination) : dbPath));
  if (!pgUrl) assertOutsideRoots(dbPath, 'The database', roots);
  if (logPath) assertOutsideRoots(logPath, 'The audit log', roots);
  if (o.trash) assertOutsideRoots(resolve(o.trash), 'The trash directory', roots);
  // Each run trashes into its own subdirectory, so a name trashed twice keeps both versions.
  const trash = o.trash ? join(resolve(o.trash), new Date().toISOString().replace(/[:.]/g, '-')) : undefined;
  const db = o.dryRun ? ':memory:' : dbPath;

  const store: Store = await openCopyStore(pgUrl && !o.dryRun ? pgUrl : db).catch((err: unknown) => {
    if (err instanceof FerryError && err.code === 'STORE_LOCKED') {
      throw new FerryError('STORE_LOCKED', err.message, {
        hint: 'A SQLite job database takes one worker at a time: wait for it, or stop it (ferry resumes where it left off). Several workers share a job through PostgreSQL: give each the same --db postgres://…',
      });
    }
    throw err;
  });
  const bus = new EventBus();
  bus.on(listen);
  let audit: AuditLog | undefined;
  let target: LocalTarget | undefined;
  try {
    await store.bindJob(roots.source, roots.destination);
    if (logPath) {
      // The default log sits in ferry's state directory, which a PostgreSQL job has not made yet.
      audit = new AuditLog(logPath, { makeParent: o.log === undefined });
      bus.on(audit.listener);
    }
    if (!o.dryRun) {
      for (const dir of trash ? [roots.destination, trash] : [roots.destination]) {
        try {
          makeDirs(dir);
        } catch (err) {
          throw new FerryError('DEST_UNAVAILABLE', `Cannot create ${dir}: ${describeFileError(err)}.`, { cause: err });
        }
      }
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    target = new LocalTarget(roots.destination, `${dbPath}\0${roots.source}`, {
      // A shared job's workers each write temp files of their own: two that copy one file (a lease that
      // ran out under a live worker) never write into the same temp file.
      worker: store.crew ? `${hostname()}:${process.pid}` : undefined,
      trashDir: trash,
      // Not a mirror: what stands where the source has an entry of another kind may be the user's own.
      aside: o.deleteExtras ? undefined : stamp,
      // Directories made on the way to a file before their own row gives them the source's bits: private until then.
      parentMode: 0o700,
      perms: o.perms,
      owner: o.owner,
      keepPartial: o.partial,
      onReplaced: (r) => bus.emit({ type: 'file.replaced', path: r.rel, destination: join(roots.destination, r.rel), was: r.kind, trashedTo: r.trashedTo }),
      onRefused: (what, rel) => bus.emit({ type: 'notice', message: `the destination refused to ${what === 'chmod' ? 'set permissions' : 'set owners'} (first at ${rel}); copies keep what it gave them` }),
    });
    if (!o.dryRun) await target.pin().catch(() => undefined); // (a missing root is reported by the run)
    if (trash && !o.dryRun) {
      try {
        await target.checkTrash(trash);
      } catch (err) {
        if (errnoCode(err) !== 'EXDEV') throw new FerryError('DEST_UNAVAILABLE', `Cannot use the trash directory ${o.trash}: ${describeFileError(err)}.`, { cause: err });
        throw new FerryError('USAGE', `The trash directory ${o.trash} is on another filesystem than the destination ${roots.destination}; ferry moves extras there by rename, which cannot cross filesystems.`, {
          hint: 'Choose a --trash on the destination\'s filesystem (a directory beside it, say).',
        });
      }
    }
    const result = await runJob(
      store,
      new LocalTree(roots.source),
      target,
      {
        rescan: o.rescan,
        dryRun: o.dryRun,
        modifyWindowNs: o.modifyWindowNs,
        setterPrecisionNs: SETTER_PRECISION_NS,
        blockSize: o.blockSize,
        queueCapacity: o.queueCapacity,
        transfers: o.transfers,
        algorithm: o.checksum,
        bwlimit: o.bwlimit,
        mirror: o.deleteExtras ? { maxDelete: o.maxDelete, trashDir: trash } : undefined,
        statsIntervalMs: o.statsIntervalMs,
        leaseMs: o.leaseMs,
        partial: o.partial,
        perms: o.perms ? (o.owner ? 'exact' : 'exact-no-setid') : 'narrow',
      },
      bus.emit,
      signal,
    ).catch((err: unknown) => {
      throw destinationError(err, roots.destination, db);
    });
    return { ...result, outcome: outcomeOf(result.status), db, log: logPath };
  } finally {
    // This run's trash directory, if nothing went there: a watcher or a cron job runs again and again.
    if (trash) await rmdir(trash).catch(() => undefined);
    await target?.close(); // the descriptor held for syncfs: a watched target copies again and again
    await audit?.close();
    await store.close();
  }
}

/**
 * Fatal errors the user can act on, in their words: the database cannot be written (a full disk,
 * I/O errors) → CONFIG; the destination root itself is unwritable or gone → DEST_UNAVAILABLE.
 */
function destinationError(err: unknown, destination: string, db: string): unknown {
  if (err instanceof FerryError || !(err instanceof Error)) return err;
  if (db.startsWith('postgres') && ('severity' in err || /^(ECONN|ETIMEDOUT|EPIPE)/.test(String((err as { code?: unknown }).code)) || /Connection terminated/.test(err.message))) {
    return new FerryError('CONFIG', `The database ${db} could not be used: ${err.message}.`, {
      hint: 'Run the same command again when the database is back; ferry resumes where it left off.',
      cause: err,
    });
  }
  if (!('code' in err)) return err;
  const code = String(err.code);
  if (code.startsWith('SQLITE_')) {
    return new FerryError('CONFIG', `The database ${db} could not be written: ${err.message} (${code}).`, {
      hint: 'Free space where the database lives (or move it with --db); the next run resumes.',
      cause: err,
    });
  }
  if (['EACCES', 'EPERM', 'EROFS', 'ENOENT', 'ENOTDIR', 'ENOSPC', 'EIO', 'ENOTCONN', 'ESTALE'].includes(code)) {
    return new FerryError('DEST_UNAVAILABLE', `The destination ${destination} cannot be written: ${describeFileError(err)}.`, { cause: err });
  }
  return err;
}
