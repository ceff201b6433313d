import { hashEntry } from '../../engine/hash-entry.js';
import type { ServerFiles } from './files.js';

/**
 * At start: what the sync directory holds against what the database says (a crash between a rename
 * and its record, files put there by hand). A file whose size or mtime is not the recorded one is
 * hashed and recorded; a recorded file that is gone is recorded deleted. Symlinks and ferry's own
 * temp files are left alone.
 */
export async function reconcileSyncDir(files: ServerFiles): Promise<{ found: number; gone: number }> {
  const rows = new Map((await files.store.listFiles()).map((f) => [f.path, f]));
  let found = 0;
  let gone = 0;
  const seen = new Set<string>();
  let unreadable = false;
  for await (const batch of files.target.list()) {
    if (batch.errors.length > 0) unreadable = true;
    for (const e of batch.entries) {
      if (e.kind !== 'file') continue;
      seen.add(e.rel);
      const row = rows.get(e.rel);
      if (row && row.size === e.size && row.mtimeNs === e.mtimeNs) continue;
      const sha = (await hashEntry(files.target, e.rel, 'sha256').catch(() => undefined))?.hash;
      if (sha === undefined) continue;
      await files.recordFound(e.rel, e.size, e.mtimeNs, sha);
      found++;
    }
  }
  // A directory that could not be read is not a deletion: nothing is recorded gone then.
  for (const path of unreadable ? [] : rows.keys()) {
    if (seen.has(path)) continue;
    await files.recordGone(path);
    gone++;
  }
  return { found, gone };
}
