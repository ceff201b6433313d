import type { SyncOperation } from './index-store.js';
import type { WorkerRecord } from './store.js';

/**
 * The one typed stream of what ferry does. Faces and the engine emit these; renderers (tty, plain,
 * ndjson), the audit log and later the server's WebSocket consume them. Byte counts travel in the
 * sampled `stats` snapshot, never as an event per block. Sizes are numbers of bytes (safe up to
 * 8 PiB), paths are relative to the roots unless named `source`/`destination`.
 */
export type Side = 'source' | 'destination';
/** `join`: a worker that joined a job other workers had started (PostgreSQL): it copies, and does not scan. */
export type RunMode = 'scan' | 'resume' | 'join' | 'dry-run';
export type Phase = 'starting' | 'scanning' | 'transferring' | 'mirroring' | 'done';

export interface CurrentFile {
  path: string;
  size: number;
  done: number;
}

export interface StatsSnapshot {
  phase: Phase;
  elapsedMs: number;
  /** Bytes written to the destination during this run. */
  bytesSession: number;
  /** Bytes of files the Store holds as synced, over every run of this job. */
  bytesOverall: number;
  filesDone: number;
  filesFailed: number;
  filesSkipped: number;
  /** What is still to be copied in this run. */
  backlogFiles: number;
  backlogBytes: number;
  /** Bytes per second over the last few seconds, and since the transfer began. */
  rateNow: number;
  rateAvg: number;
  etaBacklogSec?: number;
  current: CurrentFile[];
  queue: { used: number; capacity: number };
}

export interface FileOutcome {
  path: string;
  source: string;
  destination: string;
  size: number;
}

export type FerryEvent =
  | { type: 'run.start'; mode: RunMode; source: string; destination: string; db: string; backlogFiles: number; backlogBytes: number }
  | { type: 'scan.progress'; side: Side; files: number; dirs: number; bytes: number; errors: number; done: boolean }
  | { type: 'scan.error'; side: Side; path: string; message: string }
  | { type: 'plan.done'; files: number; pending: number; pendingBytes: number; synced: number; modifyWindowNs: string }
  | ({ type: 'file.start' } & FileOutcome)
  | ({ type: 'file.done'; hash: string | null; algorithm: string | null; dryRun?: boolean } & FileOutcome)
  /**
   * A file not copied: it changed while read (requeued), vanished, has a temp file's name, or, for a
   * file that started, stays `pending` (the run stopped, the destination filled up or went away, or a
   * directory holds its place until the mirror runs). Every `file.start` ends in one done, error or skip.
   */
  | ({ type: 'file.skip'; reason: 'changed' | 'vanished' | 'temp-name' | 'pending' } & FileOutcome)
  | ({ type: 'file.error'; message: string; errno?: string } & FileOutcome)
  | ({ type: 'file.deleted'; trashedTo?: string; dryRun?: boolean } & FileOutcome)
  /** What stood where the source has an entry of another kind was moved out of the way (deleted, or to the trash). */
  | { type: 'file.replaced'; path: string; destination: string; was: 'file' | 'dir' | 'symlink' | 'other'; trashedTo?: string }
  /** `scope`: only what is below this path (relative) was kept; without it, nothing was deleted. */
  | { type: 'mirror.refused'; reason: string; destination: string; scope?: string }
  | { type: 'notice'; message: string }
  /** The user asked ferry to stop (Ctrl-C, SIGTERM): it finishes the database writes, then ends. */
  | { type: 'run.stopping'; message: string }
  | { type: 'route.classified'; path: string; size: number; mime: string; category: string; by: string }
  | { type: 'route.queued'; path: string; drive: string; category: string; size: number }
  | { type: 'route.duplicate'; path: string; drive: string; sameAs: string; queued: boolean }
  | { type: 'route.present'; path: string; drive: string; destination: string }
  | { type: 'route.error'; path: string; message: string }
  | { type: 'drive.online'; drive: string; location: string }
  | { type: 'drive.offline'; drive: string; reason: string }
  | { type: 'drive.refused'; drive: string; location: string; reason: string }
  | { type: 'drive.done'; drive: string; delivered: number; bytes: number; failed: number; pendingLeft: number; stopped?: string; stoppedBy?: 'away' | 'full' | 'error' | 'interrupted' }
  | ({ type: 'stats' } & StatsSnapshot)
  /** Every worker of a job shared by several processes, at each of this one's heartbeats (about every second). */
  | { type: 'crew'; round: number; roundState: string; nowMs: number; workers: WorkerRecord[] }
  | { type: 'run.end'; status: RunStatus; summary: RunSummary }
  /**
   * A path changed in a watched tree (created, modified, renamed or deleted: the watcher does not say
   * which). `root` is the tree's directory, `path` relative to it. Emitted by the shared watcher
   * (engine/watcher.ts) once per path as it settles, for paths a face's filters leave out too.
   */
  | { type: 'change'; root: string; path: string }
  /**
   * Two sides changed one path since they last agreed: the content both last saw (`baseHash`, null
   * when the path is new on both) is neither side's now. `kept` is the side whose content stays at
   * `path`; the other's is kept beside it as `keptAs` (`name.sync-conflict-YYYYMMDD-HHMMSS-<client>.ext`).
   * Nothing emits it yet: no face today has two sides that both write. The server emits it when a
   * client's upload names a base hash that is no longer the path's current one (seed 004), the client
   * when a download meets a local edit; the dashboard shows it.
   */
  | { type: 'conflict'; root: string; path: string; baseHash: string | null; kept: 'local' | 'remote'; keptAs: string; client?: string }
  /** An operation on a watched root's index (realtime update, startup sync, reconciliation) ended; `ferry index history` lists them. */
  | { type: 'operation'; operation: IndexOperation }
  /** Something about a watched root the user should know; the index stays as it was or is walked again. */
  | { type: 'warning'; repositoryId: string; message: string }
  /** `ferry watch --target`: one copy of the root into the target ran (its exit code as `ferry copy`'s; `refused`: why the mirror deleted nothing). */
  | { type: 'target.copied'; root: string; target: string; exitCode: number; summary: RunSummary; refused?: string }
  /** `ferry watch --target`: a copy could not run at all (a fatal error, as one sentence); the next change tries again. */
  | { type: 'target.error'; root: string; target: string; message: string };

/** One row of a watched root's history, as the index Store records it (times in ms since the epoch). */
export type IndexOperation = SyncOperation;

export type RunStatus = 'done' | 'failed' | 'interrupted' | 'refused' | 'error';

export interface RunSummary {
  mode: RunMode;
  filesCopied: number;
  bytesCopied: number;
  filesFailed: number;
  filesSkippedChanged: number;
  filesDeleted: number;
  pendingLeft: number;
  elapsedMs: number;
  /** Set when the run stopped on a fatal error. */
  error?: { code: string; message: string };
}

export type Emit = (event: FerryEvent) => void;

/** A tiny synchronous fan-out: every listener sees every event, in order. */
export class EventBus {
  private readonly listeners: Emit[] = [];

  on(listener: Emit): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  readonly emit: Emit = (event) => {
    for (const l of this.listeners) l(event);
  };
}
