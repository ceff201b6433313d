import { existsSync } from 'node:fs';
import type { IndexStore } from '../core/index-store.js';
import type { RouteStore } from '../core/route-store.js';
import type { ServerStore } from '../core/server-store.js';
import type { Store } from '../core/store.js';
import { isPgUrl } from './url.js';

/*
 * One opener for every Store contract. A location is a `postgres://` or `postgresql://` URL (the
 * PostgreSQL implementation) or anything else: a SQLite file path (or ":memory:"). Each opener
 * applies its contract's migrations and takes its one-writer lock, as the implementation's own
 * `open` documents; errors are theirs (CONFIG, STORE_LOCKED). Each is loaded when first opened: a
 * run on SQLite never loads `pg`, and one on PostgreSQL never loads better-sqlite3.
 */

/** The copy Store of one SOURCE → DESTINATION job; `readOnly` takes no lock and writes nothing (SQLite: the file must exist; PostgreSQL: read-only transactions, no migration). */
export async function openCopyStore(location: string, options: { readOnly?: boolean } = {}): Promise<Store> {
  return isPgUrl(location) ? (await import('./postgres/pg-store.js')).PgStore.open(location, options) : (await import('./sqlite/sqlite-store.js')).SqliteStore.open(location, options);
}

/** The index of `ferry watch`; `readOnly` takes no lock and writes nothing (a SQLite file must exist). */
export async function openIndexStore(location: string, options: { readOnly?: boolean } = {}): Promise<IndexStore> {
  return isPgUrl(location)
    ? (await import('./postgres/pg-index-store.js')).PgIndexStore.open(location, options)
    : (await import('./sqlite/sqlite-index-store.js')).SqliteIndexStore.open(location, options);
}

/** The state of `ferry route`; `readOnly` takes no lock and writes nothing (a SQLite file must exist). */
export async function openRouteStore(location: string, options: { readOnly?: boolean } = {}): Promise<RouteStore> {
  return isPgUrl(location)
    ? (await import('./postgres/pg-route-store.js')).PgRouteStore.open(location, options)
    : (await import('./sqlite/sqlite-route-store.js')).SqliteRouteStore.open(location, options);
}

/**
 * The state of `ferry serve`; `lock: false` takes no one-writer lock and may still write (`ferry
 * serve keys add` beside the running server, which holds it); `readOnly` (SQLite; the file must
 * exist) neither locks nor writes (the dashboard). A PostgreSQL server store reads without the lock.
 */
export async function openServerStore(location: string, options: { lock?: boolean; readOnly?: boolean } = {}): Promise<ServerStore> {
  return isPgUrl(location)
    ? (await import('./postgres/pg-server-store.js')).PgServerStore.open(location, options.readOnly ? { lock: false } : options)
    : (await import('./sqlite/sqlite-server-store.js')).SqliteServerStore.open(location, options);
}

/**
 * Whether there is a database to open read-only: a SQLite file that exists, or any URL (a server's
 * database is made ready by the first open, read-only or not).
 */
export function storeExists(location: string): boolean {
  return isPgUrl(location) || existsSync(location);
}

/** The kinds of ferry database, by the table each one's migrations make first. */
export type StoreKind = 'copy' | 'watch' | 'route' | 'server' | 'client';
const KIND_MARKERS: Array<[string, StoreKind]> = [['job', 'copy'], ['roots', 'watch'], ['route_files', 'route'], ['server_files', 'server'], ['client_files', 'client']];

/**
 * Which kind of ferry database `location` is, read without writing: undefined for a file that is not
 * one (or cannot be read). A PostgreSQL URL is taken for a copy job's (the one kind that shares a
 * database among processes).
 */
export async function storeKind(location: string): Promise<StoreKind | undefined> {
  if (isPgUrl(location)) return 'copy';
  const Database = (await import('better-sqlite3')).default;
  let db: InstanceType<typeof Database> | undefined;
  try {
    db = new Database(location, { readonly: true, fileMustExist: true });
    const names = new Set((db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[]));
    return KIND_MARKERS.find(([marker]) => names.has(marker))?.[1];
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}
