import type { Backlog, BacklogItem, SyncedRow } from '../core/backlog.js';
import type { FileEntry } from '../core/entry.js';
import type { FileRecord, Store } from '../core/store.js';

/**
 * A copy job's backlog: the Store's pending rows, each going to the same relative path on the
 * target as it has in the source. The Store keys rows by source path; the transfer by row id.
 */
export class StoreBacklog implements Backlog {
  /** The source path of each row handed out and not yet settled. */
  private readonly paths = new Map<number, string>();

  /** `page`: where pending rows come from (by default the Store's, in rowid order; a worker of a crew claims them). */
  constructor(
    private readonly store: Store,
    private readonly page: Store['pendingAfter'] = (after, limit, kinds) => store.pendingAfter(after, limit, kinds),
  ) {}

  async pendingAfter(afterId: number, limit: number, kinds?: 'dirs' | 'entries'): Promise<BacklogItem[]> {
    const rows = await this.page(afterId, limit, kinds);
    return rows.map((r) => {
      this.paths.set(r.rowid, r.sourcePath);
      return itemOf(r);
    });
  }

  markSynced(rows: SyncedRow[]): Promise<void> {
    return this.store.markSynced(rows.map((r) => ({ sourcePath: this.take(r.id), hash: r.hash, algorithm: r.algorithm, size: r.size, modifiedNs: r.modifiedNs })));
  }

  markFailed(id: number, error: string): Promise<void> {
    return this.store.markFailed(this.take(id), error);
  }

  requeue(id: number, entry: FileEntry | undefined): Promise<void> {
    return this.store.requeue(this.take(id), entry);
  }

  forget(id: number): Promise<void> {
    return this.store.forget(this.take(id));
  }

  private take(id: number): string {
    const path = this.paths.get(id);
    if (path === undefined) throw new Error(`row ${id} was not handed out by this backlog`);
    this.paths.delete(id);
    return path;
  }
}

/** The row itself, given the item's names (no copy of each row: a backlog page is 512 of them). */
function itemOf(r: FileRecord & { rowid: number }): BacklogItem {
  return Object.assign(r, { id: r.rowid, sourceRel: r.rel, destRel: r.rel });
}
