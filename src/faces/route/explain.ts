import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { describeFileError, FerryError } from '../../core/errors.js';
import { hashEntry } from '../../engine/hash-entry.js';
import { pathInTree } from '../../engine/overlap.js';
import { LocalTree } from '../../targets/local-tree.js';
import { openRouteStore, storeExists } from '../../store/open.js';
import { classify, type Classification } from './classify.js';
import type { RouteConfig } from './config.js';
import { DriveLocator } from './drives.js';
import { readMountTable } from '../../engine/volumes.js';
import { routeFilter } from './route-filter.js';

export interface DriveVerdict {
  label: string;
  here: boolean;
  /** "delivered as PATH", "queued", or "not yet seen by a scan". */
  state: string;
}

export interface Explanation {
  path: string;
  size: number;
  hash: string;
  classification: Classification;
  /** Why the scan leaves this file out (it is never delivered), or null when it is routed. */
  notRouted: string | null;
  drives: DriveVerdict[];
}

/** Why a file goes where it goes: what its bytes say, each rule's verdict, the category, and each drive of it. */
export async function explain(config: RouteConfig, file: string): Promise<Explanation> {
  const path = resolve(file);
  const s = await stat(path).catch(() => undefined);
  if (!s) throw new FerryError('USAGE', `${file} does not exist.`);
  if (!s.isFile()) throw new FerryError('USAGE', `${file} is not a regular file.`);
  let hashed;
  let classification: Classification;
  try {
    const folder = new LocalTree(dirname(path));
    hashed = await hashEntry(folder, basename(path), 'blake3', s.size);
    if (!hashed) throw new FerryError('USAGE', `${file} changed while it was read; try again once it is still.`);
    classification = await classify(path, hashed.size, config.rules);
  } catch (err) {
    if (err instanceof FerryError) throw err;
    throw new FerryError('USAGE', `Cannot read ${file}: ${describeFileError(err)}.`, { cause: err });
  }
  // The scan's own decision: a file it leaves out is never delivered, whatever its category.
  const rel = pathInTree(config.source, path);
  const notRouted = rel === undefined || rel === '' ? `it is not inside the source ${config.source}` : (routeFilter(config)(rel) ?? null);
  const drives = config.drives.filter((d) => d.category === classification.category);
  const { online } = await new DriveLocator(drives, config.source).locate(readMountTable());
  const store = storeExists(config.database) ? await openRouteStore(config.database, { readOnly: true }) : undefined;
  try {
    const verdicts: DriveVerdict[] = [];
    for (const d of drives) {
      const delivered = await store?.deliveries(d.id, hashed.hash);
      const queued = !delivered && (await store?.queued(d.id, hashed.hash)) !== undefined;
      const state = delivered ? `delivered as ${delivered.path}` : queued ? 'queued' : notRouted ? `not delivered: ${notRouted}` : 'not delivered yet';
      verdicts.push({ label: d.label, here: online.has(d.id), state });
    }
    return { path, size: hashed.size, hash: hashed.hash, classification, notRouted, drives: verdicts };
  } finally {
    await store?.close();
  }
}
