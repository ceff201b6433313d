import type { FerryEvent, IndexOperation } from '../core/events.js';
import { formatBytes } from '../core/units.js';

export interface WatchRendererOptions {
  write: (text: string) => void;
  writeErr: (text: string) => void;
}

/** One operation of a root's history, as `ferry watch` and `ferry index history` print it. */
export function operationLine(o: IndexOperation): string {
  const when = new Date(o.startTime).toISOString();
  const took = o.durationMs === null ? '' : ` in ${o.durationMs} ms`;
  const error = o.errorMessage ? `: ${o.errorMessage}` : '';
  return `${when} ${o.repositoryId} ${o.operationType} ${o.status}: ${o.filesScanned} scanned, +${o.filesAdded} ~${o.filesUpdated} -${o.filesRemoved}${took}${error}\n`;
}

/** One record of the index, as `ferry index files` prints it: path, size, sha256. */
export function recordLine(r: { filePath: string; fileSize: number; contentHash: string | null }): string {
  return `${r.filePath}\t${formatBytes(r.fileSize)}\t${r.contentHash ?? '-'}\n`;
}

/**
 * `ferry watch`'s lines: each operation of the index as it ends, the copies of `--target`, and
 * warnings on stderr. A change is not a line: the operation that applies it is.
 */
export function watchRenderer(o: WatchRendererOptions): (e: FerryEvent) => void {
  return (e) => {
    switch (e.type) {
      case 'operation':
        o.write(operationLine(e.operation));
        break;
      case 'warning':
        o.writeErr(`warning: ${e.repositoryId}: ${e.message}\n`);
        break;
      case 'target.error':
        o.writeErr(`warning: target ${e.target}: ${e.message}\n`);
        break;
      case 'target.copied': {
        const s = e.summary;
        o.write(`target ${e.target}: copied ${s.filesCopied} file(s), ${formatBytes(s.bytesCopied)}, deleted ${s.filesDeleted}, ` +
          `failed ${s.filesFailed}${s.error ? ` (${s.error.message})` : ''}\n`);
        if (e.refused) o.writeErr(`warning: target ${e.target}: nothing was deleted: ${e.refused}\n`);
        break;
      }
      default:
        break;
    }
  };
}
