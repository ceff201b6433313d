/**
 * The index Store behind `ferry watch` (seed 003): the roots being watched, a record for every file
 * under each, and the history of the operations that keep those records current. Times are ms
 * since the epoch except `modTimeNs`. Every method may reject with FerryError CONFIG when the
 * database cannot be read or written.
 */
export interface IndexRoot {
  id: string;
  path: string;
  /** st_dev and st_ino of the root when it was added: a different directory there is not this root. */
  device: bigint | null;
  inode: bigint | null;
  /** What names the root across remounts (io/fs-identity.ts, as JSON); null for a root added before ferry kept one. */
  identity: string | null;
  /** The pid of the `ferry watch` that said it watches this root (see `writerActive`), or null. */
  watchedBy: number | null;
  addedAt: number;
}

export interface IndexRecord {
  repositoryId: string;
  filePath: string;
  fileSize: number;
  modTimeNs: bigint;
  /** sha256 hex of the content; null when hashing is off or the file could not be read. */
  contentHash: string | null;
  lastScanned: number;
  scanGeneration: number;
  createdAt: number;
  updatedAt: number;
}

export type OperationType = 'realtime' | 'reconciliation' | 'startup';
export type OperationStatus = 'running' | 'completed' | 'failed';

export interface SyncOperation {
  id: number;
  repositoryId: string;
  operationType: OperationType;
  filesScanned: number;
  filesAdded: number;
  filesUpdated: number;
  filesRemoved: number;
  startTime: number;
  endTime: number | null;
  durationMs: number | null;
  status: OperationStatus;
  errorMessage: string | null;
}

export interface OperationCounts {
  filesScanned: number;
  filesAdded: number;
  filesUpdated: number;
  filesRemoved: number;
}

/** What one file looks like on disk now, for an upsert. */
export interface SeenFile {
  filePath: string;
  fileSize: number;
  modTimeNs: bigint;
  contentHash: string | null;
}

export interface IndexStore {
  readonly location: string;
  /** Adds a root, or updates the path and identity of the root with that id. */
  addRoot(root: Omit<IndexRoot, 'addedAt' | 'watchedBy' | 'identity'> & { identity?: string | null }): Promise<void>;
  /** Records what names the root now (a root recreated in place is followed). */
  setRootIdentity(id: string, identity: string): Promise<void>;
  /** Records that this process watches the root (`pid`), or no longer does (null). */
  setWatchedBy(id: string, pid: number | null): Promise<void>;
  /** Whether a process holds this index's writer lock now (a watcher, a reconcile): what makes `watchedBy` current. */
  writerActive(): Promise<boolean>;
  removeRoot(id: string): Promise<void>;
  roots(): Promise<IndexRoot[]>;
  root(id: string): Promise<IndexRoot | undefined>;

  /** Starts a reconciliation of root `id`: returns its new scan generation. */
  nextGeneration(id: string): Promise<number>;
  /** The generation of root `id`'s last reconciliation (realtime updates write at it). */
  currentGeneration(id: string): Promise<number>;
  /** The records of the named files of root `id` that exist (for comparing a batch against them). */
  recordsFor(id: string, filePaths: string[]): Promise<Map<string, IndexRecord>>;
  /**
   * Inserts or updates records (one transaction) at `generation`, and moves the unchanged
   * `touched` paths to it too. Returns how many were added and how many updated.
   */
  putRecords(id: string, generation: number, files: SeenFile[], touched: string[]): Promise<{ added: number; updated: number }>;
  /** Removes the records of root `id` not seen by `generation` (orphans); returns how many. */
  removeOrphans(id: string, generation: number): Promise<number>;
  /** Removes the records of these paths, and of everything below them unless `below` is false; returns how many. */
  removeRecords(id: string, filePaths: string[], options?: { below?: boolean }): Promise<number>;

  getRecord(id: string, filePath: string): Promise<IndexRecord | undefined>;
  /** Records in path order, after `afterPath`, at most `limit`. */
  listRecords(id: string, options?: { afterPath?: string; limit?: number }): Promise<IndexRecord[]>;
  countRecords(id: string): Promise<number>;

  /** Starts an operation row (`running`); `startedAt` (ms) when it began before it was recorded. */
  startOperation(id: string, type: OperationType, startedAt?: number): Promise<number>;
  finishOperation(operationId: number, status: Exclude<OperationStatus, 'running'>, counts: OperationCounts, error?: string): Promise<void>;
  /** The newest operations of root `id` first. */
  operations(id: string, limit: number): Promise<SyncOperation[]>;

  close(): Promise<void>;
}
