import type { ServerFile } from '../../core/server-store.js';

/** What a client says of one path in a sync request. */
export interface ClientFile {
  path: string;
  /** The content it has now (absent when `deleted`). */
  sha256: string | null;
  /** The content it last synced for this path (null: never). */
  base: string | null;
  /** It had the path (its base) and deleted it locally. */
  deleted: boolean;
}

export type SyncAction = 'nothing' | 'upload' | 'download' | 'delete_local' | 'delete_remote' | 'conflict';

export interface PlannedAction {
  path: string;
  action: SyncAction;
  reason: string;
}

/**
 * The one decision of sync analysis, per path: the client's entry against the server's row (a
 * tombstone included), judged by content and the client's base, never by the clock. Same bytes are
 * never a conflict; a modification beats a deletion.
 */
export function decide(c: ClientFile | undefined, s: ServerFile | undefined): PlannedAction | undefined {
  if (!c) {
    if (!s || s.deleted) return undefined;
    return { path: s.path, action: 'download', reason: 'the client does not have it' };
  }
  const at = (action: SyncAction, reason: string): PlannedAction => ({ path: c.path, action, reason });
  if (c.deleted || c.sha256 === null) {
    if (!s || s.deleted) return at('nothing', 'deleted on both sides');
    if (s.sha256 === c.base) return at('delete_remote', 'deleted on the client, unchanged on the server');
    return at('download', 'deleted on the client but changed on the server since: the change wins');
  }
  if (!s) return at('upload', 'new on the client');
  if (s.deleted) {
    if (c.base !== null && c.sha256 === c.base && s.sha256 === c.base) return at('delete_local', 'deleted on the server, unchanged on the client');
    return at('upload', c.base === null ? 'new on the client' : 'changed on the client after it was deleted on the server: the change wins');
  }
  if (s.sha256 === c.sha256) return at('nothing', 'the same content on both sides');
  if (s.sha256 === c.base) return at('upload', 'changed on the client');
  if (c.base !== null && c.sha256 === c.base) return at('download', 'changed on the server');
  return at('conflict', c.base === null ? 'different contents on both sides, with no common base' : 'changed on both sides since the last sync');
}
