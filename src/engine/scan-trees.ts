import { basename, join } from 'node:path';
import type { FileEntry } from '../core/entry.js';
import type { Emit, Side } from '../core/events.js';
import type { Store } from '../store/store.js';
import { walkTree } from './scan.js';

export interface ScanOptions {
  sourceRoot: string;
  destRoot: string;
  /** Whether the destination root exists (a first copy into a new directory has nothing to walk). */
  destExists: boolean;
  /** Relative destination paths not to walk (the trash directory when it sits inside). */
  destExclude: string[];
  isTempName(name: string): boolean;
  /** The same names as a pattern, for the walker threads: a directory holding one is always re-read. */
  tempNamePattern: RegExp;
  /** Removes a stale ferry temp file found on the destination (undefined on a dry run). */
  removeStaleTemp?: (rel: string, mtimeNs: bigint) => Promise<boolean>;
  emit: Emit;
  signal: AbortSignal;
}

export interface ScanOutcome {
  generation: number;
  errors: number;
  staleTemps: number;
  sourceGranularityNs: bigint;
  destGranularityNs: bigint;
  /** Per side: every directory listed was found unchanged, and the walk met no error. */
  unchanged: { source: boolean; destination: boolean };
  /** The filesystems mounted inside the source (their mount points, relative). */
  sourceMounts: string[];
  /** Source files left out because their names are ferry's temp names (reported, never copied). */
  tempNamed: number;
}

/**
 * The scan phase (§2.2): walks source and destination at the same time, each in its own thread,
 * streaming both listings into the Store in batches. Progress is emitted at most every 200 ms a side.
 * Every directory is listed, but one whose listing digest (names, kinds, sizes, times, modes) equals
 * the last scan's keeps its rows as they are: an unchanged tree costs one Store write a directory.
 */
export async function scanTrees(store: Store, o: ScanOptions): Promise<ScanOutcome> {
  const generation = await store.beginScan();
  const outcome: ScanOutcome = {
    generation, errors: 0, staleTemps: 0, sourceGranularityNs: 1n, destGranularityNs: 1n, unchanged: { source: false, destination: false },
    sourceMounts: [], tempNamed: 0,
  };

  const side = async (which: Side): Promise<void> => {
    const root = which === 'source' ? o.sourceRoot : o.destRoot;
    let granularityNs = 1n;
    const known = await store.dirDigests(which);
    const counts = { files: 0, dirs: 0, bytes: 0, errors: 0 };
    let keptDirs = 0;
    let lastEmit = 0;
    const progress = (done: boolean): void => {
      o.emit({ type: 'scan.progress', side: which, ...counts, done });
    };
    for await (const batch of walkTree(root, { signal: o.signal, known, volatileName: o.tempNamePattern })) {
      for (const e of batch.errors) {
        counts.errors++;
        o.emit({ type: 'scan.error', side: which, path: e.rel, message: e.message });
      }
      // ferry's temp files are never data: not copied from a source (a tree ferry once wrote into),
      // not listed on the destination (so never mirrored), and removed there once stale.
      const entries: FileEntry[] = [];
      if (which === 'source') outcome.sourceMounts.push(...batch.mounts);
      for (const e of batch.entries) {
        if (e.kind === 'file' && o.isTempName(basename(e.rel))) {
          if (which === 'destination' && (await o.removeStaleTemp?.(e.rel, e.mtimeNs))) outcome.staleTemps++;
          if (which === 'source') {
            // Nothing is skipped without a word: a source file named like ferry's temp files.
            outcome.tempNamed++;
            o.emit({ type: 'file.skip', path: e.rel, source: join(o.sourceRoot, e.rel), destination: join(o.destRoot, e.rel), size: Number(e.size), reason: 'temp-name' });
          }
          continue;
        }
        if (which === 'destination' && o.destExclude.some((x) => e.rel === x || e.rel.startsWith(`${x}/`))) continue;
        entries.push(e);
      }
      for (const e of entries) {
        if (e.kind === 'dir') continue;
        counts.files++;
        counts.bytes += Number(e.size);
      }
      counts.files += batch.keptFiles;
      counts.bytes += batch.keptBytes;
      counts.dirs += batch.dirs;
      keptDirs += batch.kept.length;
      if (batch.granularityNs !== undefined) granularityNs = batch.granularityNs;
      if (which === 'source') await store.putSourceEntries(generation, entries);
      else await store.putDestEntries(generation, entries);
      // After the rows: a digest recorded before them could vouch for rows a crash never wrote.
      if (batch.digests.length > 0 || batch.kept.length > 0) await store.putDirDigests(which, generation, batch.digests, batch.kept);
      const now = performance.now();
      if (now - lastEmit > 200) {
        lastEmit = now;
        progress(false);
      }
    }
    progress(true);
    outcome.unchanged[which] = counts.errors === 0 && counts.dirs > 0 && keptDirs === counts.dirs;
    if (which === 'source') {
      outcome.sourceGranularityNs = granularityNs;
      outcome.errors += counts.errors;
    } else {
      outcome.destGranularityNs = granularityNs;
    }
  };

  await Promise.all([side('source'), o.destExists ? side('destination') : Promise.resolve()]);
  return outcome;
}
