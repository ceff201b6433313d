import type { FileEntry } from './entry.js';
import type { RunMode, RunStatus, RunSummary, Side, StatsSnapshot } from './events.js';

export type FileStatus = 'pending' | 'synced' | 'failed';

/** One row of `files`: a source entry, where it goes, and how far it got. */
export interface FileRecord {
  sourcePath: string;
  destPath: string;
  rel: string;
  kind: 'file' | 'dir' | 'symlink';
  size: bigint;
  createdNs: bigint;
  changedNs: bigint;
  modifiedNs: bigint;
  accessedNs: bigint;
  permissions: number;
  /** The source entry's owner and group (recorded; applied only with --owner). */
  uid: number;
  gid: number;
  hash: string | null;
  algorithm: string | null;
  status: FileStatus;
  error: string | null;
  attempts: number;
}

export interface JobInfo {
  sourceRoot: string;
  destRoot: string;
  /** Errors met by the last scan (a mirror refuses to delete after an incomplete scan). */
  lastScanErrors: number;
  /** True when the last scan ran to its end (a crash mid-scan leaves it false). */
  lastScanComplete: boolean;
  /** The destination's mtime precision as last probed, or null before the first probe. */
  destPrecisionNs: bigint | null;
  /** Whether the destination tells "A" from "a", as probed; null before the first probe. */
  destCaseSensitive: boolean | null;
  /** Whether the destination keeps permission bits, as probed; null before the first probe. */
  destKeepsModes: boolean | null;
  /** st_dev of the source root when the job first scanned it. */
  sourceDevice: bigint | null;
  /** st_ino of the source root when the job first scanned it. */
  sourceInode: bigint | null;
  /** What names the source root across remounts (io/fs-identity.ts, as JSON), from the first scan. */
  sourceIdentity: string | null;
  /** How the last run ended: null when it never ended (a crash, `kill -9`) or there was none. */
  lastRunStatus: RunStatus | null;
  /** True when there was a run before this one. */
  hasRuns: boolean;
}

export interface FinishScanOptions {
  windowNs: bigint;
  /**
   * How a copy's permission bits must stand to its source's to be up to date: `narrow` (the default:
   * no bit the source lacks), `exact` (--perms: the same bits), `exact-no-setid` (--perms without
   * --owner: the same bits but setuid and setgid, which are never given to a copy of another owner).
   */
  perms?: 'narrow' | 'exact' | 'exact-no-setid' | 'ignore';
  errors: number;
  caseInsensitive: boolean;
  /** Per side: every directory the scan listed was kept, and it met no error (nothing can be unseen). */
  unchanged: { source: boolean; destination: boolean };
}

/** Facts about the job's trees, recorded once and read by later runs. */
export interface JobFacts {
  destPrecisionNs: bigint;
  destCaseSensitive: boolean;
  destKeepsModes: boolean;
  sourceDevice: bigint;
  sourceInode: bigint;
  sourceIdentity: string;
}

/** A filesystem mounted inside the source, as the scans found it. */
export interface SourceMount {
  /** Its mount point, relative to the source root. */
  rel: string;
  /** Its identity (io/fs-identity.ts, as JSON) when it was first found. */
  identity: string;
  /** Not there at the last scan (unmounted, or another filesystem in its place): nothing below it is mirrored. */
  missing: boolean;
}

export interface ScanResult {
  files: number;
  pending: number;
  pendingBytes: bigint;
  synced: number;
}

export interface Backlog {
  files: number;
  bytes: bigint;
}

/** A destination entry the copy may replace, as the last scan saw it. */
export interface PlannedReplacement {
  rel: string;
  kind: string;
  size: bigint;
  modifiedNs: bigint;
}

/** A row to mark synced, with the size and mtime of the version that was copied. */
export interface SyncedFile {
  sourcePath: string;
  hash: string | null;
  algorithm: string | null;
  size: bigint;
  modifiedNs: bigint;
}

/** One run of a job, as the Store recorded it (each worker of a shared job has its own). */
export interface RunRecord {
  id: number;
  mode: string;
  /** null while it runs, or when it never ended (killed). */
  status: string | null;
  startedMs: number;
  endedMs: number | null;
  filesCopied: number;
  bytesCopied: number;
  filesFailed: number;
  /** Why it failed or stopped, in one sentence, when it did. */
  error: string | null;
}

/** What a run published of itself while it ran (about once a second): see Store.publishStats. */
export interface RunLive {
  runId: number;
  host: string;
  pid: number;
  /** When it last published, ms since the epoch (the writer's clock). */
  atMs: number;
  /** How long ago that was, by the database's clock where it has one (PostgreSQL: machines' clocks may differ). */
  ageMs: number;
  stats: StatsSnapshot;
  /** Its progress over the run, oldest first: bytes written and files done by then. */
  samples: Array<{ tMs: number; bytes: number; files: number }>;
}

/** A file the last attempt could not copy, and why. */
export interface FailedFile {
  rel: string;
  error: string | null;
  attempts: number;
}

/** A job as `ferry copy --status` shows it. */
export interface JobStatus {
  sourceRoot: string;
  destRoot: string;
  pending: Backlog;
  synced: Backlog;
  failed: number;
  /** The last runs, newest first. */
  runs: RunRecord[];
}

/**
 * The one place ferry keeps state. Every method may reject with FerryError CONFIG when the
 * database cannot be read or written. Writes are atomic per call (one transaction); none is
 * visible to another process until it resolves.
 */
export interface Store {
  readonly location: string;
  /** Present where several processes may share the job (PostgreSQL): see JobCrew. */
  readonly crew?: JobCrew;
  /**
   * Ties the database to one SOURCE → DESTINATION pair on first use; later calls with another pair
   * reject with JOB_MISMATCH. Safe to repeat with the same pair.
   */
  bindJob(sourceRoot: string, destRoot: string): Promise<JobInfo>;

  /** Records facts about the job's trees for later runs. */
  saveJobFacts(facts: Partial<JobFacts>): Promise<void>;

  /** Starts a scan: returns the new scan generation. */
  beginScan(): Promise<number>;
  /** The listing digest of each directory of one side as recorded by the last scans, by directory key. */
  dirDigests(side: Side): Promise<Map<string, string>>;
  /**
   * Records, for scan `generation`, the new digests of directories whose entries were all put, and
   * the directories found unchanged (`kept`): their rows stay as they are and finishScan keeps them.
   */
  putDirDigests(side: Side, generation: number, digests: Array<[string, string]>, kept: string[]): Promise<void>;
  /**
   * Upserts source entries seen by scan `generation`. A file whose size, mtime and kind are
   * unchanged keeps its hash; any other change clears it.
   */
  putSourceEntries(generation: number, entries: FileEntry[]): Promise<void>;
  /** Adds or updates entries seen on the destination by scan `generation`. */
  putDestEntries(generation: number, entries: FileEntry[]): Promise<void>;
  /**
   * Ends scan `generation`: forgets the source rows and destination entries it did not see (those of
   * directories it kept count as seen), then marks each row `synced` when
   * the destination listing has the same kind with equal size and |mtime difference| < windowNs
   * (directories: present) and permission bits as `perms` asks, `pending` otherwise. With `caseInsensitive`, names match ignoring
   * (ASCII) case, as on the destination itself.
   */
  finishScan(generation: number, options: FinishScanOptions): Promise<ScanResult>;

  /** Files and symlinks still `pending` (directories are not counted), and their bytes. */
  backlog(): Promise<Backlog>;
  /** Up to `limit` pending rows after `afterRowid`, in rowid order, with their rowids. */
  /** With `kinds`: only directories ('dirs'), or only files and symlinks ('entries'). */
  pendingAfter(afterRowid: number, limit: number, kinds?: 'dirs' | 'entries'): Promise<Array<FileRecord & { rowid: number }>>;
  /** Marks rows synced with their hashes, in one transaction. */
  markSynced(files: SyncedFile[]): Promise<void>;
  /** Marks a row failed with a reason; it is retried by the next scan. */
  markFailed(sourcePath: string, error: string): Promise<void>;
  /**
   * Keeps a row pending after its file changed while read, with the fresh stat when there is one
   * (its kind too: a file replaced by a directory is a directory now).
   */
  requeue(sourcePath: string, entry: FileEntry | undefined): Promise<void>;
  /** Forgets a row whose source vanished. */
  forget(sourcePath: string): Promise<void>;
  /** Bytes and files the Store holds as synced (regular files), over all runs. */
  syncedTotals(): Promise<Backlog>;

  /**
   * Destination entries of the last scan that have no source row (compared ignoring case when
   * `caseInsensitive`), in descending path order: a directory comes after everything inside it.
   */
  extras(afterRel: string | null, limit: number, caseInsensitive: boolean): Promise<Array<{ rel: string; kind: string }>>;
  /**
   * Destination entries of the last scan whose source row has the same path but another kind (a
   * file that became a directory, or the other way): what the copy is planned to replace, with the
   * size and mtime the scan saw (named by the source row's path).
   */
  kindConflicts(caseInsensitive: boolean): Promise<PlannedReplacement[]>;
  /** Drops one destination entry (after it was deleted). */
  dropDestEntry(rel: string): Promise<void>;
  /** The filesystems mounted inside the source, as the last scan left them. */
  sourceMounts(): Promise<SourceMount[]>;
  /** Replaces the recorded mounts inside the source. */
  setSourceMounts(mounts: SourceMount[]): Promise<void>;
  /** Source directories, deepest first, for setting their times after files landed in them. */
  directories(afterRel: string | null, limit: number): Promise<FileRecord[]>;

  /** What `ferry copy --status` shows of the job: null when the database holds none yet. Writes nothing. */
  describe(): Promise<JobStatus | null>;

  /** The last `limit` runs, newest first (what `describe` lists, without its totals over every row). Writes nothing. */
  recentRuns(limit: number): Promise<RunRecord[]>;
  /** Up to `limit` failed rows, by path, with their errors. Writes nothing. */
  failures(limit: number): Promise<FailedFile[]>;
  /**
   * Records what run `runId` is doing now (its stats snapshot, the process running it) and, with
   * `sample`, one point of its progress over time. One small write; called about once a second.
   */
  publishStats(runId: number, live: { host: string; pid: number; stats: StatsSnapshot }, sample?: { tMs: number; bytes: number; files: number }): Promise<void>;
  /** What run `runId` last published, with its samples; null when it published nothing. Writes nothing. */
  liveStats(runId: number): Promise<RunLive | null>;
  startRun(mode: RunMode): Promise<number>;
  finishRun(runId: number, status: RunStatus, summary: RunSummary): Promise<void>;

  close(): Promise<void>;
}

/** One worker of a job shared by several `ferry copy` processes, as `ferry copy --status` lists it. */
export interface WorkerRecord {
  id: number;
  host: string;
  pid: number;
  /** scanning, waiting (for the scan), copying, standby (only others' leased files left), finishing, done, interrupted, failed. */
  state: string;
  files: number;
  bytes: number;
  /** Bytes per second over the last few seconds, as its last heartbeat said. */
  rate: number;
  startedMs: number;
  heartbeatMs: number;
  /** Its heartbeat is older than its lease: it died, or lost the database. */
  stale: boolean;
}

/** What a worker joining a shared job does first. */
export type CrewRole = 'lead' | 'join';

/**
 * The workers of one copy job sharing its backlog (PostgreSQL): a round starts with the first
 * worker, which scans (or resumes) and makes the directories while the others wait; then every
 * worker claims pending files under a lease it renews; the last one standing runs the mirror.
 * Times are the database server's clock, so machines with skewed clocks agree. A Store without
 * `crew` (SQLite) keeps one worker per job.
 */
export interface JobCrew {
  /** Registers this process; `lead` when no live worker was on the job (a new round), else `join`. */
  join(host: string, pid: number, leaseMs: number): Promise<CrewRole>;
  /** The lead has planned and made the directories: the others may copy. */
  open(): Promise<void>;
  /**
   * What a joined worker does now: `copy` once the round is open, `lead` when the worker that was
   * scanning died (this one takes the scan over), `over` when the round already ended.
   */
  poll(): Promise<'wait' | 'copy' | 'lead' | 'over'>;
  /**
   * Claims pending files no live worker holds, in id order, under this worker's lease: up to `rows`
   * of them and, past the first, no more than `bytes` in all (so one worker does not take every big
   * file at once). Empty with `waitMs` > 0: files are still leased by others (retry after `waitMs`);
   * with 0: none is left. `was`: the worker (host:pid) whose lease on the row ran out, if any.
   */
  claim(limit: { rows: number; bytes: number }): Promise<{ rows: Array<FileRecord & { rowid: number; was: string | null }>; waitMs: number }>;
  /** Renews this worker's leases and records its progress; returns how many workers copy now. */
  heartbeat(progress: { state: string; files: number; bytes: number; rate: number }): Promise<{ copying: number }>;
  /** After its transfer: whether this worker is the last one, and so runs the mirror (claims are released). */
  finish(): Promise<boolean>;
  /** Pending files this worker held back (changed while read): its share of what stays pending. */
  held(): Promise<number>;
  /**
   * Ends workers known to be dead (a process of this host that is gone): their leases run out at
   * once, and their state becomes `gone`.
   */
  bury(ids: number[]): Promise<void>;
  /** Records how this worker ended. */
  leave(state: string): Promise<void>;
  /** Every worker of the job's current round, oldest first, and the database's clock (`nowMs`) to age their heartbeats by. */
  workers(): Promise<{ round: number; roundState: string; nowMs: number; workers: WorkerRecord[] }>;
}
