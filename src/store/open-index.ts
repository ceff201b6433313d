import type { IndexStore } from './index-store.js';
import { PgIndexStore } from './postgres/pg-index-store.js';
import { SqliteIndexStore } from './sqlite/sqlite-index-store.js';
import { isPgUrl } from './url.js';

/** A `postgres://` or `postgresql://` URL opens the PostgreSQL index; anything else is a SQLite file. */
export async function openIndexStore(db: string, options: { readOnly?: boolean } = {}): Promise<IndexStore> {
  return isPgUrl(db) ? PgIndexStore.open(db, options) : SqliteIndexStore.open(db, options);
}
