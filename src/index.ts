/** ferry's public library API. */
export { FerryError, ERROR_CODES, EXIT, exitCodeFor, type ErrorCode, type Outcome } from './core/errors.js';
export type { FileEntry, EntryKind } from './core/entry.js';
export type { FerryEvent, RunSummary, StatsSnapshot, Emit, IndexOperation } from './core/events.js';
export type { TreeWatcher, TreeWatcherHandlers, Subscribe } from './core/watcher.js';
export { Watcher, type WatcherOptions } from './engine/watcher.js';
export type { Target, TargetCaps, TargetListOptions, WriteHandle, EntryAttrs, FileTimes } from './core/target.js';
export { copy, COPY_DEFAULTS, type CopyOptions, type CopyResult } from './faces/copy/copy.js';
export { createHasher, ALGORITHMS, type Algorithm } from './core/hash.js';
export { walkTree } from './io/walk.js';
export { LocalTarget } from './targets/local.js';
export { LocalTree } from './targets/local-tree.js';
export { MemoryTarget } from './targets/memory.js';
export { RemoteTarget, type RemoteTargetOptions, type RemoteExpectation, type RemoteSession } from './targets/remote.js';
export type { Tree, Source, ListBatch, ListOptions, ReadHandle, WholeRead } from './core/tree.js';
export type { Backlog, BacklogItem, SyncedRow } from './core/backlog.js';
export { runJob, type RunOptions, type RunResult } from './engine/run.js';
export { SqliteStore } from './store/sqlite/sqlite-store.js';
export { PgStore } from './store/postgres/pg-store.js';
export type { Store, FileRecord } from './core/store.js';
export { auditRecord, type AuditRecord } from './report/audit.js';
export { parseSize, formatBytes } from './core/units.js';
export { SyncManager, DEFAULT_SYNC_MANAGER_CONFIG, type SyncManagerConfig, type SyncStatus, type SyncEvent } from './faces/watch/sync-manager.js';
export { SqliteIndexStore } from './store/sqlite/sqlite-index-store.js';
export { PgIndexStore } from './store/postgres/pg-index-store.js';
export { openIndexStore } from './store/open.js';
export type { IndexStore, IndexRecord, IndexRoot, SyncOperation, OperationType, OperationStatus } from './core/index-store.js';
export { SqliteServerStore } from './store/sqlite/sqlite-server-store.js';
export { PgServerStore } from './store/postgres/pg-server-store.js';
export { openServerStore } from './store/open.js';
export type {
  ServerStore, ServerFile, Change, ChangeOp, ClientRow, ApiKeyRow, ConflictRow, UploadSession, RecordWrite,
} from './core/server-store.js';
export { startServer, SERVE_DEFAULTS, type ServeOptions, type RunningServer } from './faces/server/serve.js';
export { newApiKey, hashApiKey } from './http/api-keys.js';
export { startDashboard, DASHBOARD_DEFAULTS, type DashboardOptions, type RunningDashboard } from './faces/dashboard/dashboard.js';
