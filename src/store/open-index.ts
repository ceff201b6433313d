import type { IndexStore } from './index-store.js';
import { PgIndexStore } from './postgres/pg-index-store.js';
import { SqliteIndexStore } from './sqlite/sqlite-index-store.js';

/** A `postgres://` or `postgresql://` URL opens the PostgreSQL index; anything else is a SQLite file. */
export async function openIndexStore(db: string): Promise<IndexStore> {
  return /^postgres(ql)?:\/\//i.test(db) ? PgIndexStore.open(db) : SqliteIndexStore.open(db);
}
