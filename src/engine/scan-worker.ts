/**
 * The walker's thread. Listing a directory with its lstat in one sync call (io/list-dir.ts) is far
 * faster than Node's async calls for many small files, so it runs here, off the main thread. Entries
 * go back in packed batches; the thread waits when more than a few batches are unread, so memory
 * stays flat however large the tree.
 */
import { getSystemErrorName } from 'node:util';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { F, FIELDS, KIND_NOT_UTF8, KIND_STAT_FAILED, listDir } from '../io/list-dir.js';

export interface WalkRequest {
  root: string;
  batchSize: number;
  /** Int32Array over a SharedArrayBuffer: [batches posted, batches consumed]. */
  flow: SharedArrayBuffer;
  maxUnread: number;
}

/** A batch is packed: `rels` joined by NUL, `fields` FIELDS numbers per entry (see io/list-dir.ts). */
export type WalkMessage =
  | { type: 'batch'; rels: string; fields: BigInt64Array; count: number; dirs: number }
  | { type: 'error'; rel: string; code: string; message: string }
  | { type: 'end' };

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

function walk(): void {
  let rels: string[] = [];
  let fields = new BigInt64Array(req.batchSize * FIELDS);
  let dirs = 0;
  const flush = (): void => {
    post({ type: 'batch', rels: rels.join('\0'), fields, count: rels.length, dirs });
    rels = [];
    fields = new BigInt64Array(req.batchSize * FIELDS);
    dirs = 0;
  };
  const stack: string[] = [''];
  while (stack.length > 0) {
    const dirRel = stack.pop()!;
    let listing;
    try {
      listing = listDir(dirRel === '' ? req.root : join(req.root, dirRel));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      report(dirRel, e.code ?? 'EIO', e.message);
      continue;
    }
    dirs++;
    const { names, fields: found } = listing;
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
      fields.set(found.subarray(at, at + FIELDS), rels.length * FIELDS);
      rels.push(rel);
      if (kind === 1n) stack.push(rel);
      if (rels.length >= req.batchSize) flush();
    }
  }
  flush();
  post({ type: 'end' });
}

walk();
