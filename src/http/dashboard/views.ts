/**
 * What the dashboard page shows: one JobView per job of any face, as JSON (numbers, strings; no
 * bigints). The page (assets/app.js) renders these and nothing else.
 */
export type Face = 'copy' | 'watch' | 'route' | 'server' | 'vault';

/** running; stopped as the last run ended (done, interrupted, failed, refused); or not running now (idle). */
export type JobState = 'running' | 'done' | 'interrupted' | 'failed' | 'refused' | 'killed' | 'idle' | 'unreadable';

export interface JobView {
  /** Stable and opaque (a hash of where the job is kept): never a path. */
  id: string;
  face: Face;
  title: string;
  /** Where its state is kept (a database file, a PostgreSQL URL without its password, a repository). */
  location: string;
  state: JobState;
  /** One sentence: how it stands ("copying", "done", "interrupted", "stopped without a word: killed?"). */
  stateText: string;
  /** When the state began or was last seen: the run's end, or its last published snapshot; ms since the epoch. */
  sinceMs: number | null;
  /** Why it could not be read, when it could not. */
  error?: string;
  copy?: CopyView;
  watch?: WatchView;
  route?: RouteView;
  server?: ServerView;
  vault?: VaultView;
}

export interface CopyView {
  source: string;
  destination: string;
  phase: string | null;
  /** Over the whole job: what is in place and what is left (files and bytes). */
  synced: { files: number; bytes: number };
  pending: { files: number; bytes: number };
  failedCount: number;
  /** This run, while it runs (or as it ended). */
  run: null | {
    id: number; host: string; pid: number; atMs: number; filesDone: number; bytesSession: number; rateNow: number; rateAvg: number;
    backlogFiles: number; backlogBytes: number; etaSec: number | null; current: Array<{ path: string; size: number; done: number }>;
  };
  /** [t ms, bytes per second] over the run, for the chart. */
  rates: Array<[number, number]>;
  failures: Array<{ path: string; error: string; attempts: number }>;
  runs: Array<{ id: number; mode: string; status: string | null; startedMs: number; endedMs: number | null; filesCopied: number; bytesCopied: number; filesFailed: number; error: string | null }>;
  workers: Array<{ host: string; pid: number; state: string; files: number; bytes: number; rate: number; heartbeatMs: number; stale: boolean }>;
  /** The command that goes on with the job, as words (the page quotes them). */
  resume: string[];
}

export interface WatchView {
  roots: Array<{
    id: string; path: string; files: number; watchedBy: number | null; health: string; healthy: boolean;
    operations: Array<{ type: string; status: string; startMs: number; durationMs: number | null; scanned: number; added: number; updated: number; removed: number; error: string | null }>;
  }>;
}

export interface RouteView {
  drives: Array<{ id: string; label: string; category: string; online: boolean; lastSeenMs: number | null; location: string | null; pending: number; pendingBytes: number; delivered: number; deliveredBytes: number; failing: number }>;
  recent: Array<{ drive: string; path: string; size: number; atMs: number }>;
}

export interface ServerView {
  sequence: number;
  clients: Array<{ id: string; name: string; platform: string | null; lastSeenMs: number; lastSeq: number; connected: boolean }>;
  changes: Array<{ seq: number; op: string; path: string; size: number | null; client: string | null; atMs: number }>;
  conflicts: Array<{ path: string; copy: string; client: string | null; atMs: number }>;
}

export interface VaultView {
  managed: string;
  remote: string;
  device: string;
  summary: string[];
  devices: Array<{ name: string; host: string; lastSync: string }>;
  lock: null | { owner: string; purpose: string; expires: string; expired: boolean };
  lastSync: null | { at: string | null; result: string | null; message: string | null };
}
