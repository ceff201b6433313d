import type { ServerStore } from '../../core/server-store.js';
import type { JobView, ServerView } from './views.js';

/** A client heard from within this long counts as connected (clients send a heartbeat every 15 s by default). */
export const CONNECTED_MS = 60_000;

/**
 * A `ferry serve` server's state: its clients (connected: `connected` when the server itself says
 * so, else heard from lately), the last changes of its feed, its open conflicts.
 */
export async function readServer(store: ServerStore, base: Pick<JobView, 'id' | 'location'>, connected?: () => string[], nowMs = Date.now()): Promise<JobView> {
  const sequence = await store.sequence();
  const now = connected ? new Set(connected()) : undefined;
  const rows = await store.listClients();
  const names = new Map(rows.map((c) => [c.clientId, c.name]));
  const clients: ServerView['clients'] = rows.map((c) => ({
    id: c.clientId, name: c.name, platform: c.platform, lastSeenMs: c.lastSeenMs, lastSeq: c.lastSeq,
    connected: now ? now.has(c.clientId) : nowMs - c.lastSeenMs < CONNECTED_MS,
  }));
  const changes = (await store.changesSince(Math.max(0, sequence - 30), 30)).reverse().map((c) => ({
    seq: c.seq, op: c.op, path: c.path, size: c.op === 'DELETE' ? null : Number(c.size), client: c.clientId === null ? null : (names.get(c.clientId) ?? c.clientId), atMs: c.timeMs,
  }));
  const conflicts = (await store.listConflicts()).slice(-50).reverse().map((c) => ({ path: c.path, copy: c.copy, client: c.clientId === null ? null : (names.get(c.clientId) ?? c.clientId), atMs: c.timeMs }));
  const on = clients.filter((c) => c.connected).length;
  return {
    ...base, face: 'server', title: `server: ${clients.length} client${clients.length === 1 ? '' : 's'}`,
    state: on > 0 ? 'running' : 'idle', stateText: `${on} of ${clients.length} client${clients.length === 1 ? '' : 's'} connected; change ${sequence}`,
    sinceMs: changes[0]?.atMs ?? null, server: { sequence, clients, changes, conflicts } satisfies ServerView,
  };
}
