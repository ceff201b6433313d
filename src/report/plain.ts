import type { FerryEvent } from '../core/events.js';
import { formatBytes } from '../core/units.js';
import { crewLine, endLines, planLine, scanLine, startLine, statsLine } from './lines.js';
import { clean, shown } from './quote.js';

export interface RendererOptions {
  write: (text: string) => void;
  writeErr: (text: string) => void;
  /** The command that resumes this job, shown when work is left. */
  resumeHint: string;
  verbose: boolean;
  /** How often a progress line is printed (plain mode). */
  progressEveryMs?: number;
}

/** Output for a pipe or a log file: append-only lines, progress every few seconds. */
export function plainRenderer(o: RendererOptions): (e: FerryEvent) => void {
  let lastProgress = performance.now();
  let crew: Extract<FerryEvent, { type: 'crew' }> | undefined;
  const every = o.progressEveryMs ?? 5000;
  return (e) => {
    switch (e.type) {
      case 'run.start':
        o.write(`${startLine(e)}\n`);
        break;
      case 'scan.progress':
        if (e.done) o.write(`${scanLine(e)}\n`);
        break;
      case 'scan.error':
        o.writeErr(`scan error (${e.side}): ${shown(e.path || '.')}: ${clean(e.message)}\n`);
        break;
      case 'plan.done':
        o.write(`${planLine(e)}\n`);
        break;
      case 'file.done':
        if (e.dryRun) o.write(`would copy ${shown(e.path)} (${formatBytes(e.size)})\n`);
        else if (o.verbose) o.write(`copied ${shown(e.path)} (${formatBytes(e.size)})${e.hash ? ` ${e.algorithm}:${e.hash}` : ''}\n`);
        break;
      case 'file.deleted':
        if (e.dryRun) o.write(`would delete ${shown(e.path)}\n`);
        else o.write(`${e.trashedTo ? 'trashed' : 'deleted'} ${shown(e.path)}\n`);
        break;
      case 'file.replaced':
        o.write(`replaced ${shown(e.path)}: the ${e.was === 'dir' ? 'directory' : e.was} there was ${e.trashedTo ? `moved to ${shown(e.trashedTo)}` : 'deleted'} to make way for the source's entry of another kind\n`);
        break;
      case 'file.skip':
        if (e.reason === 'pending') break; // the run's end says how many stay pending, and why
        if (e.reason === 'temp-name') o.writeErr(`not copied: ${shown(e.path)}: its name is one ferry uses for its temp files (rename it to copy it)\n`);
        else o.write(`${e.reason === 'changed' ? 'changed while read, requeued' : 'vanished from the source'}: ${shown(e.path)}\n`);
        break;
      case 'file.error':
        o.writeErr(`failed: ${shown(e.path)}: ${clean(e.message)}\n`);
        break;
      case 'mirror.refused':
        if (e.scope !== undefined) o.writeErr(`mirror: kept everything below ${shown(e.scope)}: ${clean(e.reason)}\n`);
        else o.writeErr(`mirror refused, nothing deleted: ${clean(e.reason)}\n`);
        break;
      case 'notice':
        o.write(`note: ${clean(e.message)}\n`);
        break;
      case 'run.stopping':
        o.writeErr(`stopping: ${e.message}\n`);
        break;
      case 'stats':
        if (e.phase === 'transferring' && performance.now() - lastProgress >= every) {
          lastProgress = performance.now();
          o.write(`${statsLine(e)}\n`);
          if (crew && crew.workers.length > 1) o.write(`${crewLine(crew)}\n`);
        }
        break;
      case 'crew':
        crew = e;
        break;
      case 'run.end':
        for (const line of endLines(e.status, e.summary, o.resumeHint)) o.write(`${line}\n`);
        break;
      default:
        break;
    }
  };
}
