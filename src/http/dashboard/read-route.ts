import { constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RouteStore } from '../../core/route-store.js';
import type { JobView, RouteView } from './views.js';

/** The file that names a drive in its root (faces/route/drives.ts writes it). */
const DRIVE_MARKER = '.ferry-drive.json';

/**
 * `ferry route`'s drives: online when the place it was last seen still holds its marker, naming it;
 * away otherwise. Pending and delivered contents per drive, the last deliveries.
 */
export async function readRoute(store: RouteStore, base: Pick<JobView, 'id' | 'location'>): Promise<JobView> {
  const stats = await store.stats();
  const drives: RouteView['drives'] = [];
  for (const d of stats) {
    drives.push({
      id: d.id, label: d.label, category: d.category, online: d.lastLocation !== null && (await markerNames(d.lastLocation, d.id)),
      lastSeenMs: d.lastSeenNs === null ? null : Number(d.lastSeenNs / 1_000_000n), location: d.lastLocation,
      pending: d.pending, pendingBytes: Number(d.pendingBytes), delivered: d.delivered, deliveredBytes: Number(d.deliveredBytes), failing: d.failing,
    });
  }
  const labels = new Map(stats.map((d) => [d.id, d.label]));
  const recent = (await store.recentDeliveries(20)).map((x) => ({ drive: labels.get(x.driveId) ?? x.driveId, path: x.path, size: Number(x.size), atMs: Number(x.deliveredNs / 1_000_000n) }));
  const online = drives.filter((d) => d.online).length;
  const pending = drives.reduce((n, d) => n + d.pending, 0);
  return {
    ...base, face: 'route', title: `route: ${drives.length} drive${drives.length === 1 ? '' : 's'}`, state: 'idle',
    stateText: `${online} online, ${drives.length - online} away; ${pending} file${pending === 1 ? '' : 's'} waiting`,
    sinceMs: recent[0]?.atMs ?? null, route: { drives, recent },
  };
}

/** Whether the marker in `dir` names drive `id`; a drive that does not answer within 2 s (a dying USB stick, a hung mount) is away. */
async function markerNames(dir: string, id: string): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer')), 2000)));
  try {
    const text = await Promise.race([readFile(join(dir, DRIVE_MARKER), { encoding: 'utf8', flag: constants.O_RDONLY | constants.O_NONBLOCK }), late]);
    const m = JSON.parse(text) as { ferry?: unknown; id?: unknown };
    return m.ferry === 'route-drive' && m.id === id;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
