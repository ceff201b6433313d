/** What `ferry client` remembers of one path: the content last in step with the server (its base). */
export interface SyncedFile {
  path: string;
  sha256: string;
  /** The local file's size and mtime when it was last in step (unchanged: not hashed again). */
  size: bigint;
  mtimeNs: bigint;
}

/** The client's state: its id, the last change it has, and the base of every path it synced. */
export interface ClientState {
  readonly location: string;
  meta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  get(path: string): Promise<SyncedFile | undefined>;
  all(): Promise<SyncedFile[]>;
  put(f: SyncedFile): Promise<void>;
  forget(path: string): Promise<void>;
  close(): Promise<void>;
}
