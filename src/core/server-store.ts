/**
 * The state of `ferry serve`: what each path of the sync directory holds (or held: a tombstone), the
 * change log that numbers every change, the clients, the API keys (hashed), the conflicts and the
 * resumable upload sessions. SQLite and PostgreSQL implement it (store/sqlite, store/postgres) and
 * pass one suite (test/server-store.test.ts). Every `record*` is one transaction: the sequence rises
 * by exactly one, the file row and its change are written together, or nothing is.
 */

export type ChangeOp = 'CREATE' | 'UPDATE' | 'DELETE' | 'MOVE';

/** A path of the sync directory as the server last recorded it. */
export interface ServerFile {
  /** POSIX, relative to the sync directory. */
  path: string;
  size: bigint;
  mtimeNs: bigint;
  /** SHA-256 (hex) of the content; for a tombstone, of the content that was deleted. */
  sha256: string;
  /** The change that made the row what it is. */
  seq: number;
  /** A tombstone: the path was deleted at `seq`. */
  deleted: boolean;
  /** The client whose change it was (null: the server itself). */
  clientId: string | null;
}

/** One entry of the change log. */
export interface Change {
  /** Rises by one from 1: a gap never happens. */
  seq: number;
  op: ChangeOp;
  /** The path changed (for a MOVE, where the file went). */
  path: string;
  /** For a MOVE, where it was; else null. */
  from: string | null;
  size: bigint;
  mtimeNs: bigint;
  sha256: string;
  clientId: string | null;
  /** When it was recorded, ms since the epoch. */
  timeMs: number;
}

export interface ClientRow {
  clientId: string;
  name: string;
  platform: string | null;
  registeredMs: number;
  lastSeenMs: number;
  /** The last sequence the client said it has seen (0 before it said any). */
  lastSeq: number;
}

export interface ApiKeyRow {
  name: string;
  /** SHA-256 (hex) of the key: the key itself is never stored. */
  hash: string;
  createdMs: number;
}

export interface ConflictRow {
  /** The name both versions were at. */
  path: string;
  /** Where the losing version is kept. */
  copy: string;
  sha256: string;
  /** The client whose version lost (its name is in the copy's name). */
  clientId: string | null;
  timeMs: number;
}

export interface UploadSession {
  id: string;
  path: string;
  size: bigint;
  /** The SHA-256 the client declared (checked before the file gets its name); null until it is known. */
  sha256: string | null;
  mtimeNs: bigint;
  /** The content the client's version replaces (null: the path was new to the client). */
  baseSha256: string | null;
  clientId: string | null;
  /** Bytes received and written so far (what a resuming client sends from). */
  received: bigint;
  createdMs: number;
  /** Sessions idle past this are removed with their bytes. */
  expiresMs: number;
}

export interface RecordWrite {
  path: string;
  size: bigint;
  mtimeNs: bigint;
  sha256: string;
  clientId: string | null;
}

export interface ServerStore {
  /** Where it is, as given (a file path or a URL with the password left out). */
  readonly location: string;
  /** The last change's sequence (0 before any). */
  sequence(): Promise<number>;
  /** The row at `path`, a tombstone included. */
  getFile(path: string): Promise<ServerFile | undefined>;
  /** Every row in path order; tombstones only with `deleted`. */
  listFiles(options?: { deleted?: boolean }): Promise<ServerFile[]>;
  /** Rows at `dir/…` (every depth), tombstones left out: what a directory on the server holds. */
  listUnder(dir: string): Promise<ServerFile[]>;
  /** New content at `path`: CREATE when there was none (or a tombstone), else UPDATE. */
  recordWrite(w: RecordWrite): Promise<Change>;
  /** `path` deleted: its row becomes a tombstone. Resolves undefined when there is no live row. */
  recordDelete(path: string, clientId: string | null): Promise<Change | undefined>;
  /**
   * `from` renamed to `to` (which must have no live row): `to` takes `from`'s content, `from` becomes
   * a tombstone, one MOVE change. Resolves undefined when `from` has no live row or `to` has one.
   */
  recordMove(from: string, to: string, clientId: string | null): Promise<Change | undefined>;
  /** Changes with a sequence above `since`, in order, at most `limit`. */
  changesSince(since: number, limit: number): Promise<Change[]>;

  /** Registers a client, or updates the one with `clientId` (its name and platform). */
  registerClient(c: { clientId: string; name: string; platform: string | null }): Promise<ClientRow>;
  getClient(clientId: string): Promise<ClientRow | undefined>;
  listClients(): Promise<ClientRow[]>;
  /** The client was heard from now; with `lastSeq`, it has seen the changes up to it. */
  touchClient(clientId: string, lastSeq?: number): Promise<void>;

  /** Adds a key by its hash; rejects (FerryError CONFIG) when the name is taken. */
  addKey(name: string, hash: string): Promise<void>;
  listKeys(): Promise<ApiKeyRow[]>;
  /** Resolves false when there was no key of that name. */
  revokeKey(name: string): Promise<boolean>;

  recordConflict(c: ConflictRow): Promise<void>;
  listConflicts(): Promise<ConflictRow[]>;

  createUpload(s: UploadSession): Promise<void>;
  getUpload(id: string): Promise<UploadSession | undefined>;
  /** Bytes received so far, and a new expiry. */
  updateUpload(id: string, received: bigint, expiresMs: number): Promise<void>;
  deleteUpload(id: string): Promise<void>;
  /** Sessions whose expiry is at or before `nowMs`. */
  expiredUploads(nowMs: number): Promise<UploadSession[]>;

  close(): Promise<void>;
}
