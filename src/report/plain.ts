import type { FerryEvent } from '../core/events.js';
import { formatBytes } from '../core/units.js';
import { endLines, planLine, scanLine, startLine, statsLine } from './lines.js';

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
        o.writeErr(`scan error (${e.side}): ${e.path || '.'}: ${e.message}\n`);
        break;
      case 'plan.done':
        o.write(`${planLine(e)}\n`);
        break;
      case 'file.done':
        if (e.dryRun) o.write(`would copy ${e.path} (${formatBytes(e.size)})\n`);
        else if (o.verbose) o.write(`copied ${e.path} (${formatBytes(e.size)})${e.hash ? ` ${e.algorithm}:${e.hash}` : ''}\n`);
        break;
      case 'file.deleted':
        if (e.dryRun) o.write(`would delete ${e.path}\n`);
        else o.write(`${e.trashedTo ? 'trashed' : 'deleted'} ${e.path}\n`);
        break;
      case 'file.skip':
        o.write(`${e.reason === 'changed' ? 'changed while read, requeued' : 'vanished from the source'}: ${e.path}\n`);
        break;
      case 'file.error':
        o.writeErr(`failed: ${e.path}: ${e.message}\n`);
        break;
      case 'mirror.refused':
        o.writeErr(`mirror refused, nothing deleted: ${e.reason}\n`);
        break;
      case 'notice':
        o.write(`note: ${e.message}\n`);
        break;
      case 'stats':
        if (e.phase === 'transferring' && performance.now() - lastProgress >= every) {
          lastProgress = performance.now();
          o.write(`${statsLine(e)}\n`);
        }
        break;
      case 'run.end':
        for (const line of endLines(e.status, e.summary, o.resumeHint)) o.write(`${line}\n`);
        break;
      default:
        break;
    }
  };
}
