import type { Delivery, PendingDelivery } from '../../core/route-store.js';

/** Rows of route_pending and route_deliveries as `pg` returns them: int8 as strings (a double cannot hold them). */
export interface PendingRow {
  id: string;
  drive_id: string;
  hash: string;
  path: string;
  size: string;
  queued_ns: string;
  attempts: string;
  last_error: string | null;
}
export const PENDING_COLUMNS = 'id, drive_id, hash, path, size, queued_ns, attempts, last_error';

export const toPending = (r: PendingRow): PendingDelivery => ({
  id: Number(r.id), driveId: r.drive_id, hash: r.hash, path: r.path, size: BigInt(r.size), queuedNs: BigInt(r.queued_ns),
  attempts: Number(r.attempts), lastError: r.last_error,
});

export interface DeliveryRow {
  drive_id: string;
  hash: string;
  path: string;
  source_path: string | null;
  size: string;
  mtime_ns: string;
  delivered_ns: string;
}
export const DELIVERY_COLUMNS = 'drive_id, hash, path, source_path, size, mtime_ns, delivered_ns';

export const toDelivery = (r: DeliveryRow): Delivery => ({
  driveId: r.drive_id, hash: r.hash, path: r.path, sourcePath: r.source_path, size: BigInt(r.size), mtimeNs: BigInt(r.mtime_ns),
  deliveredNs: BigInt(r.delivered_ns),
});
