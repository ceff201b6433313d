/**
 * The walker's thread. Sync readdir + lstat are ~10× faster than Node's async calls for many small
 * files, so they run here, off the main thread. Entries go back in batches; the thread waits when
 * more than a few batches are unread, so memory stays flat however large the tree.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { entryFromStats, type FileEntry } from '../core/entry.js';

export interface WalkRequest {
  root: string;
  batchSize: number;
  /** Int32Array over a SharedArrayBuffer: [batches posted, batches consumed]. */
  flow: SharedArrayBuffer;
  maxUnread: number;
}

export type WalkMessage =
  | { type: 'batch'; entries: FileEntry[]; dirs: number }
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
  }
  port.postMessage(msg);
}

function report(rel: string, err: unknown): void {
  const e = err as NodeJS.ErrnoException;
  post({ type: 'error', rel, code: e.code ?? 'EIO', message: e.message });
}

function walk(): void {
  let batch: FileEntry[] = [];
  let dirs = 0;
  const stack: string[] = [''];
  while (stack.length > 0) {
    const dirRel = stack.pop()!;
    let names;
    try {
      names = readdirSync(dirRel === '' ? req.root : join(req.root, dirRel), { withFileTypes: true });
    } catch (err) {
      report(dirRel, err);
      continue;
    }
    dirs++;
    for (const d of names) {
      const rel = dirRel === '' ? d.name : `${dirRel}/${d.name}`;
      let st;
      try {
        st = lstatSync(join(req.root, rel), { bigint: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') report(rel, err);
        else if (d.name.includes('\uFFFD')) {
          // readdir turned bytes that are not UTF-8 into U+FFFD: the name cannot be opened again.
          post({ type: 'error', rel, code: 'EILSEQ', message: 'the name is not valid UTF-8; ferry cannot copy it yet' });
        }
        continue; // otherwise it vanished between readdir and lstat
      }
      const entry = entryFromStats(rel, st);
      batch.push(entry);
      if (entry.kind === 'dir') stack.push(rel);
      if (batch.length >= req.batchSize) {
        post({ type: 'batch', entries: batch, dirs });
        batch = [];
        dirs = 0;
      }
    }
  }
  post({ type: 'batch', entries: batch, dirs });
  post({ type: 'end' });
}

walk();
