import { basename, join } from 'node:path';
import type { FileEntry } from '../core/entry.js';
import type { Emit, Side } from '../core/events.js';
import type { Target } from '../core/target.js';
import type { ListBatch, Tree } from '../core/tree.js';
import type { Store } from '../core/store.js';

export interface ScanOptions {
  source: Tree;
  target: Target;
  /** Whether the destination root exists (a first copy into a new directory has nothing to walk). */
  destExists: boolean;
  /** Relative destination paths not to walk (the trash directory when it sits inside). */
  destExclude: string[];
  /** Remove the temp files interrupted runs left on the destination (not on a dry run). */
  tidy: boolean;
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
    let granularityNs = 1n;
    const known = await store.dirDigests(which);
    const counts = { files: 0, dirs: 0, bytes: 0, errors: 0 };
    let keptDirs = 0;
    let lastEmit = 0;
    const progress = (done: boolean): void => {
      o.emit({ type: 'scan.progress', side: which, ...counts, done });
    };
    const reserved = o.target.reservedName;
    const walk: AsyncIterable<ListBatch> = which === 'source'
      ? o.source.list({ signal: o.signal, known, volatileName: reserved })
      : o.target.list({ signal: o.signal, known, tidy: o.tidy, exclude: o.destExclude });
    for await (const batch of walk) {
      for (const e of batch.errors) {
        counts.errors++;
        o.emit({ type: 'scan.error', side: which, path: e.rel, message: e.message });
      }
      // The target's own names are never data: a source file named so is reported, never copied (a
      // tree ferry once wrote into); the target leaves its own temp files out of its listing.
      let entries: FileEntry[] = batch.entries;
      if (which === 'source') {
        outcome.sourceMounts.push(...batch.mounts);
        entries = [];
        for (const e of batch.entries) {
          if (e.kind === 'file' && reserved.test(basename(e.rel))) {
            outcome.tempNamed++;
            o.emit({ type: 'file.skip', path: e.rel, source: join(o.source.root, e.rel), destination: join(o.target.root, e.rel), size: Number(e.size), reason: 'temp-name' });
            continue;
          }
          entries.push(e);
        }
      } else {
        outcome.staleTemps += batch.removedTemps ?? 0;
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
