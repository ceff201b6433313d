import { exitCodeFor } from '../../core/errors.js';
import type { Emit } from '../../core/events.js';
import { runCopyJob, type JobOptions, type JobResult } from '../../engine/job.js';

/**
 * Everything `ferry copy` takes, already parsed and validated by the CLI: the job's roots and
 * ferry's files (`db`, `log`, `trash`), and how the engine copies (see engine/job.ts).
 */
export type CopyOptions = JobOptions;

export { COPY_DEFAULTS } from './defaults.js';

export interface CopyResult extends JobResult {
  exitCode: number;
}

/**
 * `ferry copy SRC DST`: a resumable, checksummed copy of one tree into another (seed 001). The
 * engine runs the job (engine/job.ts: roots, Store, audit log, target, run); the face adds its
 * defaults (COPY_DEFAULTS, through the CLI) and the exit code its outcome means.
 */
export async function copy(o: CopyOptions, listen: Emit, signal: AbortSignal): Promise<CopyResult> {
  const result = await runCopyJob(o, listen, signal);
  return { ...result, exitCode: exitCodeFor(result.outcome) };
}
