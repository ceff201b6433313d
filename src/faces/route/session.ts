import { FerryError, type Outcome } from '../../core/errors.js';
import { EventBus, type Emit, type FerryEvent } from '../../core/events.js';
import { AuditLog } from '../../engine/audit-log.js';
import { storeExists } from '../../store/open.js';
import { routeLogPath, type RouteConfig } from './config.js';
import type { DriveResult } from './deliver.js';
import { Router, type ScanSummary } from './router.js';

export interface SessionOptions {
  emit: Emit;
  signal: AbortSignal;
  /** The commands that only read: no lock, no audit log; a database not made yet reads as an empty one. */
  readOnly?: boolean;
  /** Deliveries leave audit lines (the copy's, engine/audit-log.ts) in the log beside the database. */
  audit?: boolean;
}

/** Opens the Router (and, with `audit`, the audit log its deliveries write to) for `use`, and closes them after. */
export async function withRouter<T>(config: RouteConfig, o: SessionOptions, use: (r: Router) => Promise<T>): Promise<T> {
  const readOnly = o.readOnly === true;
  if (readOnly && !storeExists(config.database)) config = { ...config, database: ':memory:' };
  const bus = new EventBus();
  bus.on(o.emit);
  const router = await Router.open(config, { emit: bus.emit, signal: o.signal, readOnly: readOnly && config.database !== ':memory:' });
  let audit: AuditLog | undefined;
  try {
    const log = o.audit && !readOnly ? routeLogPath(config.database) : undefined;
    if (log) {
      audit = new AuditLog(log, { makeParent: true });
      bus.on(audit.listener);
    }
    return await use(router);
  } finally {
    await audit?.close();
    await router.close();
  }
}

/**
 * Not all delivered: a file that could not be read or written, a source directory the scan could
 * not read, a drive that filled up or failed. A drive that is away (or went) is not a failure.
 */
export function isFailure(e: FerryEvent): boolean {
  if (e.type === 'file.error' || e.type === 'route.error' || e.type === 'scan.error') return true;
  return e.type === 'drive.done' && (e.stoppedBy === 'full' || e.stoppedBy === 'error');
}

/** What `sync-once` and `process-pending` did, for the summary and the exit code. */
export interface DeliveryReport {
  outcome: Outcome;
  /** Set by sync-once: what the scan found. */
  scan?: ScanSummary;
  drives: Map<string, DriveResult>;
  /** Files delivered, or found on their drive already. */
  delivered: number;
  /** Drives that are away with files waiting for them. */
  waiting: Array<{ label: string; pending: number }>;
}

async function deliveryReport(router: Router, drives: Map<string, DriveResult>, failures: number, signal: AbortSignal, scan?: ScanSummary): Promise<DeliveryReport> {
  const waiting = (await router.store.stats()).filter((s) => s.pending > 0 && !router.online.has(s.id)).map((s) => ({ label: s.label, pending: s.pending }));
  const delivered = [...drives.values()].reduce((n, r) => n + r.delivered + r.present, 0);
  const outcome: Outcome = signal.aborted ? 'interrupted' : failures > 0 ? 'failed' : 'ok';
  return { outcome, ...(scan ? { scan } : {}), drives, delivered, waiting };
}

/** Counts the failures among the events on their way to `emit`. */
function counting(emit: Emit): { emit: Emit; failures: () => number } {
  let failures = 0;
  return {
    emit: (e) => {
      if (isFailure(e)) failures++;
      emit(e);
    },
    failures: () => failures,
  };
}

/** `ferry route sync-once`: scan the source once, queue what is new, deliver to the drives that are here. */
export async function syncOnce(config: RouteConfig, o: Omit<SessionOptions, 'readOnly' | 'audit'>): Promise<DeliveryReport> {
  const c = counting(o.emit);
  return withRouter(config, { ...o, emit: c.emit, audit: true }, async (router) => {
    await router.locate();
    const scan = await router.scan();
    const drives = await router.deliver();
    return deliveryReport(router, drives, c.failures(), o.signal, scan);
  });
}

/** `ferry route process-pending`: deliver the queues (of one drive, by its label) without a scan. */
export async function processPending(config: RouteConfig, o: Omit<SessionOptions, 'readOnly' | 'audit'> & { drive?: string }): Promise<DeliveryReport> {
  const only = o.drive === undefined ? undefined : config.drives.filter((d) => d.label.toLowerCase() === o.drive!.toLowerCase()).map((d) => d.id);
  if (only?.length === 0) throw new FerryError('USAGE', `No drive is labelled "${o.drive}".`, { hint: 'See `ferry route list-drives`.' });
  const c = counting(o.emit);
  return withRouter(config, { ...o, emit: c.emit, audit: true }, async (router) => {
    await router.locate();
    if (only && !router.online.has(only[0]!)) throw new FerryError('DEST_UNAVAILABLE', `The drive "${o.drive}" is not here; its files stay queued.`);
    const drives = await router.deliver(only);
    return deliveryReport(router, drives, c.failures(), o.signal);
  });
}
