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

/** The copy Store of one SOURCE → DESTINATION job; `readOnly` (SQLite) takes no lock and writes nothing (the file must exist). */
export async function openCopyStore(location: string, options: { readOnly?: boolean } = {}): Promise<Store> {
  return isPgUrl(location) ? (await import('./postgres/pg-store.js')).PgStore.open(location) : (await import('./sqlite/sqlite-store.js')).SqliteStore.open(location, options);
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
 * serve keys add` beside the running server, which holds it).
 */
export async function openServerStore(location: string, options: { lock?: boolean } = {}): Promise<ServerStore> {
  return isPgUrl(location)
    ? (await import('./postgres/pg-server-store.js')).PgServerStore.open(location, options)
    : (await import('./sqlite/sqlite-server-store.js')).SqliteServerStore.open(location, options);
}

/**
 * Whether there is a database to open read-only: a SQLite file that exists, or any URL (a server's
 * database is made ready by the first open, read-only or not).
 */
export function storeExists(location: string): boolean {
  return isPgUrl(location) || existsSync(location);
}
