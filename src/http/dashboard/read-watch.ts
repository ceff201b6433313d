import type { IndexStore } from '../../core/index-store.js';
import { pidAlive } from '../../store/lock.js';
import type { JobView, WatchView } from './views.js';

/** A `ferry watch` index: its roots, their file counts, whether a watcher holds each, its operations. */
export async function readWatch(store: IndexStore, base: Pick<JobView, 'id' | 'location'>): Promise<JobView> {
  const roots: WatchView['roots'] = [];
  for (const r of await store.roots()) {
    const ops = await store.operations(r.id, 20);
    const watching = r.watchedBy !== null && pidAlive(r.watchedBy);
    const failed = ops.find((o) => o.status === 'failed');
    const lastFailed = ops[0]?.status === 'failed';
    const health = watching
      ? lastFailed ? `watched (pid ${r.watchedBy}); the last operation failed: ${failed?.errorMessage ?? 'no reason recorded'}` : `watched by ferry watch (pid ${r.watchedBy})`
      : r.watchedBy !== null ? `not watched: its watcher (pid ${r.watchedBy}) is gone` : 'not watched (no ferry watch runs for it)';
    roots.push({
      id: r.id, path: r.path, files: await store.countRecords(r.id), watchedBy: r.watchedBy, health, healthy: watching && !lastFailed,
      operations: ops.map((o) => ({
        type: o.operationType, status: o.status, startMs: o.startTime, durationMs: o.durationMs, scanned: o.filesScanned,
        added: o.filesAdded, updated: o.filesUpdated, removed: o.filesRemoved, error: o.errorMessage,
      })),
    });
  }
  const watched = roots.filter((r) => r.watchedBy !== null && r.health.startsWith('watched')).length;
  const lastOp = Math.max(0, ...roots.flatMap((r) => r.operations.map((o) => o.startMs)));
  return {
    ...base, face: 'watch', title: `index of ${roots.length} root${roots.length === 1 ? '' : 's'}`,
    state: watched > 0 ? 'running' : 'idle',
    stateText: watched > 0 ? `watching ${watched} of ${roots.length} root${roots.length === 1 ? '' : 's'}` : 'no watcher running',
    sinceMs: lastOp || null, watch: { roots },
  };
}
