// Small measuring helpers shared by the peer benchmarks (syncthing, rclone webdav) and, later,
// ferry serve/client: waiting for a file to land, percentiles, small-file trees, free ports.
// Plain ESM, no build step, no dependencies.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Milliseconds on a monotonic clock (performance.now()): use these for every latency. */
export const now = () => performance.now();

/**
 * Resolves with the monotonic time (performance.now()) at which `file` is seen complete, or rejects
 * after `timeoutMs`. "Complete" is `expected`: a number (the file's size in bytes, regular file), a
 * Buffer/string (exact content), or a predicate `(stat, file) => boolean | Promise<boolean>`
 * (called only for an existing entry). The file is checked on every fs.watch event of its parent
 * directory and, as a fallback (parent not there yet, missed events), every `pollMs` (10 ms).
 */
export function waitForFile(file, expected, timeoutMs = 60_000, { pollMs = 10 } = {}) {
  const check = makeCheck(expected);
  const started = now();
  return new Promise((resolve, reject) => {
    let done = false;
    let watcher = null;
    let pollTimer = null;
    let running = false;
    let again = false;
    const finish = (err, at) => {
      if (done) return;
      done = true;
      clearTimeout(pollTimer);
      clearTimeout(deadline);
      try {
        watcher?.close();
      } catch {
        /* already closed */
      }
      if (err) reject(err);
      else resolve(at);
    };
    const attempt = async () => {
      if (done) return;
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        do {
          again = false;
          const t = now();
          let st = null;
          try {
            st = await fs.promises.stat(file);
          } catch {
            st = null;
          }
          if (st && (await check(st, file))) return finish(null, t);
        } while (again && !done);
      } catch (e) {
        return finish(e);
      } finally {
        running = false;
      }
      if (!watcher) tryWatch();
    };
    const tryWatch = () => {
      if (done || watcher) return;
      try {
        watcher = fs.watch(path.dirname(file), { persistent: false }, () => attempt());
        watcher.on('error', () => {
          try {
            watcher?.close();
          } catch {
            /* ignore */
          }
          watcher = null;
        });
      } catch {
        watcher = null; // parent directory not there yet: polling covers it
      }
    };
    const poll = () => {
      if (done) return;
      attempt().finally(() => {
        if (!done) pollTimer = setTimeout(poll, pollMs);
      });
    };
    const deadline = setTimeout(() => {
      finish(Object.assign(new Error(`${file} not complete after ${timeoutMs} ms`), { code: 'ETIMEDOUT', waitedMs: now() - started }));
    }, timeoutMs);
    tryWatch();
    poll();
  });
}

function makeCheck(expected) {
  if (typeof expected === 'function') return expected;
  if (typeof expected === 'number') return (st) => st.isFile() && st.size === expected;
  if (typeof expected === 'string' || Buffer.isBuffer(expected)) {
    const want = Buffer.isBuffer(expected) ? expected : Buffer.from(expected);
    return async (st, file) => {
      if (!st.isFile() || st.size !== want.length) return false;
      try {
        return (await fs.promises.readFile(file)).equals(want);
      } catch {
        return false;
      }
    };
  }
  if (expected === undefined || expected === null) return (st) => st.isFile();
  throw new TypeError('waitForFile: expected must be a size, a Buffer/string or a predicate');
}

/**
 * Waits until every file of `files` ([{ rel, size }], as makeSmallFiles returns) exists under
 * `root` with its size. Checks the files still missing every `pollMs` (100 ms by default: 2,000
 * stats cost ~2 ms). Resolves with the monotonic time of the pass that found the last ones.
 */
export async function waitForFiles(root, files, timeoutMs = 120_000, { pollMs = 100, onProgress } = {}) {
  let missing = files.slice();
  const deadline = now() + timeoutMs;
  for (;;) {
    const t = now();
    const still = [];
    for (const f of missing) {
      let ok;
      try {
        const st = fs.statSync(path.join(root, f.rel));
        ok = st.isFile() && st.size === f.size;
      } catch {
        ok = false;
      }
      if (!ok) still.push(f);
    }
    missing = still;
    onProgress?.(files.length - missing.length, files.length);
    if (missing.length === 0) return t;
    if (now() > deadline) {
      throw Object.assign(new Error(`${missing.length} of ${files.length} files still missing under ${root} after ${timeoutMs} ms (first: ${missing[0].rel})`), { code: 'ETIMEDOUT', missing: missing.length });
    }
    await sleep(pollMs);
  }
}

/** The p-th percentile (0–100) of `list`, nearest-rank; NaN for an empty list. */
export function percentile(list, p) {
  const v = list.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * v.length);
  return v[Math.min(v.length - 1, Math.max(0, rank - 1))];
}

/**
 * Writes `n` files of `size` random bytes under `dir`, `perDir` per subdirectory (d000/f00000.bin …;
 * perDir 0 = all in `dir`). Returns [{ rel, size }] in the order written.
 */
export function makeSmallFiles(dir, n, size = 4096, { perDir = 100, prefix = 'f' } = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const files = [];
  const pool = randomBytes(Math.max(size * 64, 1 << 20)); // slices of one random pool: fast, still incompressible
  const madeDirs = new Set();
  for (let i = 0; i < n; i++) {
    const sub = perDir > 0 ? `d${String(Math.floor(i / perDir)).padStart(3, '0')}` : '';
    const rel = path.join(sub, `${prefix}${String(i).padStart(5, '0')}.bin`);
    if (sub && !madeDirs.has(sub)) {
      fs.mkdirSync(path.join(dir, sub), { recursive: true });
      madeDirs.add(sub);
    }
    const off = (i * 7919) % (pool.length - size + 1);
    const buf = Buffer.from(pool.subarray(off, off + size));
    buf.writeUInt32LE(i, 0); // distinct content per file (syncthing/rclone dedupe nothing by accident)
    fs.writeFileSync(path.join(dir, rel), buf);
    files.push({ rel, size });
  }
  return files;
}

/**
 * A TCP port free on `host` now (bound then released: a small race remains). `freePort(3)` returns
 * 3 distinct ports, all held until all are picked.
 */
export async function freePort(count = 1, host = '127.0.0.1') {
  const servers = [];
  try {
    const ports = [];
    for (let i = 0; i < count; i++) {
      const srv = net.createServer();
      servers.push(srv);
      await new Promise((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, host, resolve);
      });
      ports.push(srv.address().port);
    }
    return count === 1 ? ports[0] : ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r()))));
  }
}

/** Polls `fn` (async, truthy = done) every `intervalMs` until it is truthy or `timeoutMs` passes. */
export async function pollUntil(fn, { timeoutMs = 60_000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ''}`);
    await sleep(intervalMs);
  }
}

/** CPU seconds (user+system) and RSS (KiB) of a process, from /proc; null when it is gone. */
export function procUsage(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSec = (Number(f[11]) + Number(f[12])) / 100; // USER_HZ
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
    return { cpuSec, rssKiB };
  } catch {
    return null;
  }
}

/** Median of the finite values of `list` (mean of the middle two for an even count). */
export function median(list) {
  const v = list.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
