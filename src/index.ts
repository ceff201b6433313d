/** ferry's public library API. */
export { FerryError, ERROR_CODES, EXIT, type ErrorCode } from './core/errors.js';
export type { FileEntry, EntryKind } from './core/entry.js';
export type { FerryEvent, RunSummary, StatsSnapshot, Emit } from './core/events.js';
export type { Target, TargetCaps, WriteHandle } from './core/target.js';
export { copy, COPY_DEFAULTS, type CopyOptions, type CopyResult } from './faces/copy/copy.js';
export { createHasher, ALGORITHMS, type Algorithm } from './core/hash.js';
export { walkTree } from './engine/scan.js';
export { LocalTarget } from './targets/local.js';
export { SqliteStore } from './store/sqlite/sqlite-store.js';
export { PgStore } from './store/postgres/pg-store.js';
export type { Store, FileRecord } from './store/store.js';
export { auditRecord, type AuditRecord } from './report/audit.js';
export { parseSize, formatBytes } from './core/units.js';
export { SyncManager, DEFAULT_SYNC_MANAGER_CONFIG, type SyncManagerConfig, type SyncStatus, type SyncEvent } from './faces/watch/sync-manager.js';
export { SqliteIndexStore } from './store/sqlite/sqlite-index-store.js';
export { PgIndexStore } from './store/postgres/pg-index-store.js';
export { openIndexStore } from './store/open-index.js';
export type { IndexStore, IndexRecord, IndexRoot, SyncOperation, OperationType, OperationStatus } from './store/index-store.js';
