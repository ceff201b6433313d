/**
 * The walker's thread. Listing a directory with its lstat in one sync call (io/list-dir.ts) is far
 * faster than Node's async calls for many small files, so it runs here, off the main thread. Entries
 * go back in packed batches; the thread waits when more than a few batches are unread, so memory
 * stays flat however large the tree.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { getSystemErrorName } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import { TimeGranularity } from '../core/units.js';
import { F, FIELDS, KIND_NOT_UTF8, KIND_STAT_FAILED, listDir } from './list-dir.js';
import { addon } from './native.js';

export interface WalkRequest {
  root: string;
  batchSize: number;
  /** Int32Array over a SharedArrayBuffer: [batches posted, batches consumed]. */
  flow: SharedArrayBuffer;
  maxUnread: number;
  /** The listing digest of each directory as the last scan recorded it (see dirKey). */
  known: Map<string, string>;
  /** Names that make a directory's listing never count as unchanged (a target's temp files). */
  volatileName?: RegExp;
}

/**
 * A batch is packed: `rels` joined by NUL, `fields` FIELDS numbers per entry (see io/list-dir.ts).
 * `digests` are the directories whose entries are all in this batch or an earlier one, with their
 * new listing digest; `kept` the directories whose listing equals the known digest: their entries
 * are not sent (`keptFiles` and `keptBytes` count them for progress).
 */
export type WalkMessage =
  | {
      type: 'batch'; rels: string; fields: BigInt64Array; count: number; dirs: number;
      digests: Array<[string, string]>; kept: string[]; keptFiles: number; keptBytes: number;
      /** Directories on another filesystem than their parent (mount points), listed in this batch. */
      mounts: string[];
    }
  | { type: 'error'; rel: string; code: string; message: string }
  | { type: 'end'; granularityNs: bigint };

/** A directory's key in the Store: '' for the root, else its relative path and a trailing '/'. */
export const dirKey = (dirRel: string): string => (dirRel === '' ? '' : `${dirRel}/`);

const req = workerData as WalkRequest;
const flow = new Int32Array(req.flow);
const port = parentPort!;

function post(msg: WalkMessage): void {
  if (msg.type === 'batch') {
    while (Atomics.load(flow, 0) - Atomics.load(flow, 1) >= req.maxUnread) {
      Atomics.wait(flow, 1, Atomics.load(flow, 1), 1000);
    }
    Atomics.add(flow, 0, 1);
    port.postMessage(msg, [msg.fields.buffer as ArrayBuffer]);
    return;
  }
  port.postMessage(msg);
}

function report(rel: string, code: string, message: string): void {
  post({ type: 'error', rel, code, message });
}

/**
 * What a directory's listing says about its entries: names, kinds, sizes, modes, owners, mtimes,
 * ctimes and birth times (not atimes: reading a file must not make its directory look changed).
 * In name order, so a filesystem that lists in another order each time (NFS, FUSE) still matches.
 */
function digestOf(names: string[], fields: BigInt64Array): string {
  const order = names.map((_, i) => i).sort((a, b) => (names[a]! < names[b]! ? -1 : 1));
  const sorted = new BigInt64Array(fields.length);
  order.forEach((from, to) => {
    sorted.set(fields.subarray(from * FIELDS, (from + 1) * FIELDS), to * FIELDS);
    // Nor device or mount numbers: a share remounted gets new ones, its listings are the same.
    sorted[to * FIELDS + F.atimeS] = sorted[to * FIELDS + F.atimeNs] = sorted[to * FIELDS + F.dev] = sorted[to * FIELDS + F.mnt] = 0n;
  });
  return createHash('sha1').update(order.map((i) => names[i]).join('\0')).update(new Uint8Array(sorted.buffer)).digest('base64');
}

function walk(): void {
  const granularity = new TimeGranularity();
  let rels: string[] = [];
  let fields = new BigInt64Array(req.batchSize * FIELDS);
  let batch = { dirs: 0, digests: [] as Array<[string, string]>, kept: [] as string[], keptFiles: 0, keptBytes: 0, mounts: [] as string[] };
  const flush = (): void => {
    post({ type: 'batch', rels: rels.join('\0'), fields, count: rels.length, ...batch });
    rels = [];
    fields = new BigInt64Array(req.batchSize * FIELDS);
    batch = { dirs: 0, digests: [], kept: [], keptFiles: 0, keptBytes: 0, mounts: [] };
  };
  // Each directory with the mount it is on (its mount id, where the helper gives one: a bind mount
  // of the same filesystem shares the device number), to find what is mounted inside the tree.
  const mountOf = (fields: BigInt64Array, at: number): bigint => (fields[at + F.mnt]! !== 0n ? fields[at + F.mnt]! : fields[at + F.dev]!);
  let rootDev = -1n;
  try {
    rootDev = addon ? mountOf(addon.identify(req.root).fields, 0) : statSync(req.root, { bigint: true }).dev;
  } catch {
    // the listing of the root reports it
  }
  const stack: Array<[string, bigint]> = [['', rootDev]];
  while (stack.length > 0) {
    const [dirRel, dirDev] = stack.pop()!;
    let listing;
    try {
      listing = listDir(req.root, dirRel);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      report(dirRel, e.code ?? 'EIO', e.message);
      continue;
    }
    batch.dirs++;
    const { names, fields: found } = listing;
    const volatile = req.volatileName !== undefined && names.some((n) => req.volatileName!.test(n));
    const bad = (i: number): boolean => found[i * FIELDS + F.kind]! < 0n;
    // A listing with an error or a temp file in it is always sent whole: the next scan must see it again.
    const digest = volatile || names.some((_, i) => bad(i)) ? undefined : digestOf(names, found);
    const key = dirKey(dirRel);
    const kept = digest !== undefined && req.known.get(key) === digest;
    for (let i = 0; i < names.length; i++) {
      const rel = dirRel === '' ? names[i]! : `${dirRel}/${names[i]!}`;
      const at = i * FIELDS;
      const kind = found[at + F.kind]!;
      if (kind === KIND_NOT_UTF8) {
        report(rel, 'EILSEQ', 'the name is not valid UTF-8; ferry cannot copy it yet');
        continue;
      }
      if (kind === KIND_STAT_FAILED) {
        const code = getSystemErrorName(-Number(found[at + F.mode]));
        if (code !== 'ENOENT') report(rel, code, `${code}: lstat '${join(req.root, rel)}'`);
        continue; // ENOENT: it vanished between readdir and lstat
      }
      if (kind === 1n) {
        const dev = mountOf(found, at);
        stack.push([rel, dev]);
        if (dev !== dirDev && dirDev >= 0n) batch.mounts.push(rel);
      }
      if (kind === 0n) granularity.observe(found[at + F.mtimeS]! * 1_000_000_000n + found[at + F.mtimeNs]!);
      if (kept) {
        if (kind !== 1n) {
          batch.keptFiles++;
          batch.keptBytes += Number(found[at + F.size]);
        }
        continue;
      }
      fields.set(found.subarray(at, at + FIELDS), rels.length * FIELDS);
      rels.push(rel);
      if (rels.length >= req.batchSize) flush();
    }
    if (kept) batch.kept.push(key);
    else if (digest !== undefined) batch.digests.push([key, digest]);
  }
  flush();
  post({ type: 'end', granularityNs: granularity.ns });
}

walk();
