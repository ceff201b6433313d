/** A regular file of the source as `ferry route` classified it. */
export interface RouteFile {
  /** Relative to the source root, POSIX. */
  path: string;
  size: bigint;
  mtimeNs: bigint;
  /** BLAKE3 of the content. */
  hash: string;
  mime: string;
  category: string;
}

export interface RouteDriveRow {
  id: string;
  label: string;
  category: string;
}

/** A content waiting for a drive. */
export interface PendingDelivery {
  id: number;
  driveId: string;
  hash: string;
  /** The source file (relative) that carries the content. */
  path: string;
  size: bigint;
  queuedNs: bigint;
  attempts: number;
  lastError: string | null;
}

/** A content that is on a drive. */
export interface Delivery {
  driveId: string;
  hash: string;
  /** Where it is on the drive, relative to where the drive takes deliveries (its root, or its `folder`). */
  path: string;
  /** The source file it came from; null once that file left the source (a later file of that name is another file). */
  sourcePath: string | null;
  size: bigint;
  /** The mtime of the file on the drive as ferry left it. */
  mtimeNs: bigint;
  deliveredNs: bigint;
}

export interface DriveStats {
  id: string;
  label: string;
  category: string;
  delivered: number;
  deliveredBytes: bigint;
  pending: number;
  pendingBytes: bigint;
  /** Pending contents whose last attempt failed. */
  failing: number;
  lastSeenNs: bigint | null;
  lastLocation: string | null;
}

/**
 * `ferry route`'s state. Every write is one transaction. Deliveries are recorded only after the
 * bytes are on the drive and flushed; a pending row stays until then.
 */
export interface RouteStore {
  readonly location: string;
  /** Ties the database to a source directory; another one forgets the old source's files and queue (deliveries stay). */
  bindSource(source: string): Promise<void>;
  /** A value the router keeps for itself (the fingerprint of the rules the files were classified by), or undefined. */
  meta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  /**
   * Gives every known file the category `categorize` says now (from its recorded type, name and size:
   * the rules changed, not the files). Returns how many changed category.
   */
  recategorize(categorize: (path: string, size: number, mime: string) => string): Promise<number>;
  /** Makes the drive table match the configuration: new drives added, edited ones updated, missing ones inactive. */
  syncDrives(drives: RouteDriveRow[]): Promise<void>;
  /** Size and mtime of every known source file, by path. */
  knownFiles(): Promise<Map<string, { size: bigint; mtimeNs: bigint }>>;
  getFile(path: string): Promise<RouteFile | undefined>;
  /** Paths that carry `hash`. */
  pathsWithHash(hash: string): Promise<string[]>;
  /** Upserts classified files, stamped `lookedNs` (the scan's start) for `duplicates`. */
  putFiles(files: RouteFile[], lookedNs: bigint): Promise<void>;
  /**
   * Forgets source files that left the source (and, with `below`, everything under those paths as
   * directories). Their deliveries stay, no longer tied to a source path.
   */
  removeFiles(paths: string[], options?: { below?: boolean }): Promise<number>;
  /** Makes the next scan classify and hash these files again (they changed while ferry read them). */
  staleFiles(paths: string[]): Promise<void>;
  /**
   * Brings the queue in line with the files and drives: queues each content a drive of its category
   * does not have yet (once per drive, whatever its names), points pending rows at a path that
   * still carries their content, and drops rows no file or drive needs any more. Hands each row it
   * queued to `onQueued` (inside the transaction: it must not call the Store) and returns how many.
   */
  refreshQueue(nowNs: bigint, onQueued?: (row: PendingDelivery) => void): Promise<number>;
  pending(driveId: string | null, afterId: number, limit: number): Promise<PendingDelivery[]>;
  /** The queued row of a content for a drive. */
  queued(driveId: string, hash: string): Promise<PendingDelivery | undefined>;
  deliveries(driveId: string, hash: string): Promise<Delivery | undefined>;
  deliveryAt(driveId: string, path: string): Promise<Delivery | undefined>;
  /** Deliveries of a content on any drive. */
  deliveriesOf(hash: string): Promise<Delivery[]>;
  /**
   * Of the files classified since `lookedNs`, those whose content a drive of their category already
   * has, or awaits, under another source path: each with that drive, the other name, and whether it
   * is still queued.
   */
  duplicates(lookedNs: bigint): Promise<Array<{ path: string; driveId: string; sameAs: string; queued: boolean }>>;
  /** Records deliveries and takes their contents off the queue; a content replaced at the same path loses its row. */
  recordDeliveries(rows: Delivery[]): Promise<void>;
  /** Notes a failed attempt; the row stays queued. */
  pendingFailed(id: number, error: string): Promise<void>;
  dropPending(id: number): Promise<void>;
  driveSeen(driveId: string, location: string, nowNs: bigint): Promise<void>;
  stats(): Promise<DriveStats[]>;
  /** The last `limit` deliveries over every drive, newest first. */
  recentDeliveries(limit: number): Promise<Delivery[]>;
  /** Forgets deliveries and the queue (of one drive, or all). Returns how many rows of each went. */
  clear(driveId: string | null): Promise<{ deliveries: number; pending: number }>;
  close(): Promise<void>;
}
