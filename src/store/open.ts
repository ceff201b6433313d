import { existsSync } from 'node:fs';
import type { IndexStore } from '../core/index-store.js';
import { PgIndexStore } from './postgres/pg-index-store.js';
import { PgRouteStore } from './postgres/pg-route-store.js';
import { PgServerStore } from './postgres/pg-server-store.js';
import { PgStore } from './postgres/pg-store.js';
import type { RouteStore } from '../core/route-store.js';
import type { ServerStore } from '../core/server-store.js';
import { SqliteIndexStore } from './sqlite/sqlite-index-store.js';
import { SqliteRouteStore } from './sqlite/sqlite-route-store.js';
import { SqliteServerStore } from './sqlite/sqlite-server-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from '../core/store.js';
import { isPgUrl } from './url.js';

/*
 * One opener for every Store contract. A location is a `postgres://` or `postgresql://` URL (the
 * PostgreSQL implementation) or anything else: a SQLite file path (or ":memory:"). Each opener
 * applies its contract's migrations and takes its one-writer lock, as the implementation's own
 * `open` documents; errors are theirs (CONFIG, STORE_LOCKED).
 */

/** The copy Store of one SOURCE → DESTINATION job; `readOnly` (SQLite) takes no lock and writes nothing (the file must exist). */
export async function openCopyStore(location: string, options: { readOnly?: boolean } = {}): Promise<Store> {
  return isPgUrl(location) ? PgStore.open(location) : SqliteStore.open(location, options);
}

/** The index of `ferry watch`; `readOnly` takes no lock and writes nothing (a SQLite file must exist). */
export async function openIndexStore(location: string, options: { readOnly?: boolean } = {}): Promise<IndexStore> {
  return isPgUrl(location) ? PgIndexStore.open(location, options) : SqliteIndexStore.open(location, options);
}

/** The state of `ferry route`; `readOnly` takes no lock and writes nothing (a SQLite file must exist). */
export async function openRouteStore(location: string, options: { readOnly?: boolean } = {}): Promise<RouteStore> {
  return isPgUrl(location) ? PgRouteStore.open(location, options) : SqliteRouteStore.open(location, options);
}

/**
 * The state of `ferry serve`; `lock: false` takes no one-writer lock and may still write (`ferry
 * serve keys add` beside the running server, which holds it).
 */
export async function openServerStore(location: string, options: { lock?: boolean } = {}): Promise<ServerStore> {
  return isPgUrl(location) ? PgServerStore.open(location, options) : SqliteServerStore.open(location, options);
}

/**
 * Whether there is a database to open read-only: a SQLite file that exists, or any URL (a server's
 * database is made ready by the first open, read-only or not).
 */
export function storeExists(location: string): boolean {
  return isPgUrl(location) || existsSync(location);
}
