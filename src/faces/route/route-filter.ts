import { filterReason } from '../../engine/index-filter.js';
import { ownFilesWithin } from '../../engine/own-files.js';
import { routeLogPath, type RouteConfig } from './config.js';

/** Files still arriving (browser downloads, partial copies) are never routed. */
export const PARTIAL_PATTERNS = ['*.part', '*.partial', '*.crdownload', '*.download'];

/**
 * The one decision of which source files are routed, shared by the scan, the watcher and `explain`:
 * the index's filters (hidden, temporary and backup files), partial downloads, the configuration's
 * `ignore`, and ferry's own files when they sit inside the source (the database with its -wal,
 * -shm and .lock, the configuration). Returns why a path (relative to the source) is not routed,
 * or undefined when it is.
 */
export function routeFilter(config: RouteConfig): (rel: string) => string | undefined {
  const partial = filterReason(PARTIAL_PATTERNS, 'being a partial download (*.part, *.partial, *.crdownload, *.download)');
  const ignored = filterReason(config.ignore, '`ignore` in the configuration');
  // By device and inode: a source reached through a symlink or a bind mount still knows its own files.
  const log = routeLogPath(config.database);
  const own = [...ownFilesWithin(config.source, [config.database, config.file, ...(log ? [log] : [])])];
  return (rel) => {
    if (own.some((o) => rel === o || rel.startsWith(`${o}-`) || rel.startsWith(`${o}.`))) return 'one of ferry\'s own files (its database, audit log or configuration)';
    const why = partial(rel) ?? ignored(rel);
    if (why?.startsWith('left out by ')) return why.slice('left out by '.length).replace(/^being /, '');
    return why;
  };
}
