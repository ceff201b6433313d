import { resolve } from 'node:path';
import { PIPELINE_DEFAULTS } from '../../core/defaults.js';
import { describeFileError, exitCodeFor, FerryError } from '../../core/errors.js';
import type { FerryEvent } from '../../core/events.js';
import { runCopyJob, type JobResult } from '../../engine/job.js';
import { defaultDbPath, defaultLogPath, resolveRoots } from '../../engine/job-paths.js';

/** What a watched mirror deletes at most in one go unless told otherwise (see TargetSyncOptions.maxDelete). */
export const DEFAULT_WATCH_MAX_DELETE = 100;

export interface TargetSyncOptions {
  root: string;
  target: string;
  /** Propagate deletes (the copy's mirror, with all its refusals). Off by default. */
  deleteExtras: boolean;
  /**
   * With deleteExtras: a copy that would delete more than this many files deletes none and says why
   * (default 100, as Nextcloud asks before it deletes more than 100 files: a mirror that runs on its
   * own for months should not follow an `rm -rf` of the root that left one dotfile behind).
   */
  maxDelete?: number;
  /** The copy job's database (default: the one `ferry copy ROOT TARGET` would use). */
  db?: string;
}

/** What a target copy tells its listener (FerryEvents): each run's summary, and a fatal error as one sentence. */
export type TargetEvent = Extract<FerryEvent, { type: 'target.copied' | 'target.error' }>;

/**
 * Keeps TARGET a copy of ROOT with the engine's copy job (as `ferry copy ROOT TARGET`, with its Store,
 * checksums, whole-file landing and, with `deleteExtras`, its guarded mirror). Each request runs
 * one copy; requests that come while one runs are folded into one more run after it. The scan of
 * an unchanged tree costs one Store write a directory, so a run after a small change is cheap.
 * TARGET cannot be inside ROOT (the copy refuses it), so ferry's own writes never echo back.
 */
export class TargetSync {
  private running: Promise<void> | undefined;
  private again = false;
  private readonly stop = new AbortController();

  /** The copy job's database and audit log: ferry's own files, never changes of a root they may sit in. */
  get ownFiles(): string[] {
    const db = this.o.db !== undefined ? resolve(this.o.db) : defaultDbPath(resolve(this.o.root), resolve(this.o.target));
    return [db, defaultLogPath(db)];
  }

  /** Throws the copy's own FerryError when ROOT → TARGET can never work (TARGET inside ROOT, say). */
  constructor(
    private readonly o: TargetSyncOptions,
    private readonly listen: (e: TargetEvent) => void,
  ) {
    resolveRoots(o.root, o.target);
  }

  /** Asks for a copy soon; returns once the copy that covers this request has finished. */
  request(): Promise<void> {
    if (this.stop.signal.aborted) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.loop().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Stops a copy in flight (it resumes from its backlog next time) and waits for it. */
  async close(): Promise<void> {
    this.stop.abort(new Error('stopped'));
    await this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      await this.once();
    } while (this.again && !this.stop.signal.aborted);
  }

  private async once(): Promise<void> {
    const { root, target } = this.o;
    let result: JobResult;
    let refused: string | undefined;
    try {
      result = await runCopyJob(
        {
          // `ferry copy`'s defaults: sha256, the pipeline's sizes.
          ...PIPELINE_DEFAULTS, source: root, destination: target, db: this.o.db, deleteExtras: this.o.deleteExtras, rescan: false, dryRun: false,
          maxDelete: this.o.deleteExtras ? (this.o.maxDelete ?? DEFAULT_WATCH_MAX_DELETE) : undefined,
        },
        (e: FerryEvent) => {
          if (e.type === 'mirror.refused') refused = e.reason;
        },
        this.stop.signal,
      );
    } catch (err) {
      this.listen({ type: 'target.error', root, target, message: err instanceof FerryError ? err.message : describeFileError(err) });
      return;
    }
    this.listen({ type: 'target.copied', root, target, exitCode: exitCodeFor(result.outcome), summary: result.summary, ...(refused ? { refused } : {}) });
  }
}
