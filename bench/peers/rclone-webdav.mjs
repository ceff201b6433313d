// rclone's WebDAV server and client as a peer for the `ferry serve` / `ferry client` benchmarks:
// the same shape as ferry (a server holding the files, clients copying to and from it over HTTP),
// but without live sync: a client is one `rclone copy` run, so "sync" = copy up from A, then copy
// down into B.
//
//   import { checkRclone, startWebdav, rcloneCopy, rcloneCopyFrom } from './peers/rclone-webdav.mjs';
//   const srv = await startWebdav({ dir: serverDir });
//   try { await rcloneCopy(dirA, srv.url); await rcloneCopyFrom(srv.url, dirB); } finally { await srv.stop(); }
//
// No rclone config file: the remote is the on-the-fly `:webdav:` backend with --webdav-url, and
// `--config=` (empty: in-memory config, no "config file not found" notice).
//
// Quirks of Debian bookworm's rclone 1.60.1 (`apt-get install -y rclone`):
// - `rclone serve webdav` does not honour X-OC-Mtime: uploaded files get the upload time as mtime
//   (whatever --webdav-vendor says), and it offers no hashes over WebDAV. With the default vendor
//   ("other") `rclone copy` up to the server therefore compares by size only: a change that keeps
//   the size is not uploaded unless you pass --ignore-times (option `args`). The copy down to a
//   local dir compares size + mtime (the server's upload time, 1 s precision) as usual.
// - The webdav *client* (backend) paces its HTTP calls at >= 10 ms apart (hard-coded in 1.60; the
//   --webdav-pacer-min-sleep flag of later versions is not there, and --tpslimit can only lower it):
//   at most ~100 requests/s whatever --transfers says. An upload costs 3 requests per file (MKCOL
//   of the parent, PUT, PROPFIND), a download ~1 (GET), so small files go up at ~30 files/s and
//   down at ~90 files/s (measured: 2,000 × 4 KiB up 65 s, down 22 s; --transfers 4 and 16 the
//   same: 400 files in 13.2 / 13.6 s at 8 % CPU). The server is not the limit: 100 parallel curl
//   PUTs take 0.6 s. Say so next to any small-file figure of this peer.
// - serve webdav's VFS caches directory listings for 5 min (--dir-cache-time): files removed from or
//   put into the server dir behind its back (not through WebDAV) stay invisible or "present" (seen
//   here: after `rm` in the server dir, a copy up found the old listing and uploaded nothing). Start a
//   fresh server (or use a fresh remotePath) per round, or pass `serveArgs: ['--dir-cache-time', '0s']`.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, now, pollUntil, procUsage } from './measure.mjs';

export const RCLONE_INSTALL_HINT = 'rclone is not installed: apt-get install -y rclone   (Debian bookworm ships 1.60.1)';

/** { ok, bin, version, hint }: whether `rclone` runs here, and how to get it when it does not. */
export function checkRclone(bin = process.env.FERRY_BENCH_RCLONE ?? 'rclone') {
  const r = spawnSync(bin, ['version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return { ok: false, bin, version: null, hint: RCLONE_INSTALL_HINT };
  return { ok: true, bin, version: r.stdout.trim().split('\n')[0], hint: null };
}

const live = new Set();
let exitHook = false;
function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const c of live) {
        try {
          c.kill('SIGKILL');
        } catch {
          /* gone */
        }
      }
    });
  }
}

/** SIGKILLs every rclone process (server or copy) this module started and that still runs. */
export function killAllRclone() {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/**
 * Starts `rclone serve webdav <dir> --addr 127.0.0.1:<free port>` and resolves once it answers a
 * PROPFIND. Returns { url, port, pid, child, usage(), stop() }. `serveArgs` are extra flags;
 * `logFile` gets its stdout/stderr (default: discarded).
 */
export async function startWebdav({ dir, serveArgs = [], logFile, timeoutMs = 20_000 } = {}) {
  if (!dir) throw new Error('startWebdav needs { dir }');
  const chk = checkRclone();
  if (!chk.ok) throw new Error(chk.hint);
  fs.mkdirSync(dir, { recursive: true });
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    const out = logFile ? fs.openSync(logFile, attempt ? 'a' : 'w') : 'ignore';
    const child = spawn(chk.bin, ['serve', 'webdav', path.resolve(dir), '--addr', `127.0.0.1:${port}`, '--config=', ...serveArgs], {
      stdio: ['ignore', out, out],
    });
    if (typeof out === 'number') fs.closeSync(out);
    track(child);
    let exited = null;
    child.once('exit', (code, sig) => {
      exited = { code, sig };
    });
    const stop = async (graceMs = 3000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await done;
      clearTimeout(t);
    };
    try {
      const t0 = now();
      await pollUntil(
        async () => {
          if (exited) throw Object.assign(new Error(`rclone serve webdav exited (${exited.code ?? exited.sig})`), { exited: true });
          const res = await fetch(url, { method: 'PROPFIND', headers: { Depth: '0' }, signal: AbortSignal.timeout(2000) });
          await res.arrayBuffer();
          return res.status === 207;
        },
        { timeoutMs, intervalMs: 50, what: `rclone serve webdav on ${url}` },
      );
      return {
        url,
        port,
        dir: path.resolve(dir),
        version: chk.version,
        startMs: now() - t0,
        child,
        get pid() {
          return child.pid;
        },
        usage: () => procUsage(child.pid),
        stop,
      };
    } catch (e) {
      lastErr = e;
      await stop();
      if (!exited) break; // it ran but never answered: no point trying another port
    }
  }
  throw lastErr;
}

function remoteArgs(url, remotePath) {
  return [`:webdav:${remotePath ?? ''}`, `--webdav-url=${url}`];
}

/**
 * Runs one rclone command to completion; resolves { wallMs, stdout, stderr } (rejects on failure).
 */
function runRclone(args, { timeoutMs = 600_000, env = {} } = {}) {
  const chk = checkRclone();
  if (!chk.ok) return Promise.reject(new Error(chk.hint));
  return new Promise((resolve, reject) => {
    const t0 = now();
    const child = spawn(chk.bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    track(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      const wallMs = now() - t0;
      if (code === 0) resolve({ wallMs, stdout, stderr });
      else reject(Object.assign(new Error(`rclone ${args.slice(0, 3).join(' ')} … failed (${code ?? sig}): ${stderr.slice(-1500)}`), { wallMs, stderr }));
    });
  });
}

/**
 * `rclone copy <src> :webdav:<remotePath> --webdav-url=<url>`: uploads what is new or of another
 * size (see the quirks above). `args`: extra flags (e.g. ['--transfers', '8'], ['--ignore-times']).
 */
export function rcloneCopy(src, url, { remotePath = '', args = [], timeoutMs } = {}) {
  return runRclone(['copy', path.resolve(src), ...remoteArgs(url, remotePath), '--config=', ...args], { timeoutMs });
}

/** The reverse: `rclone copy :webdav:<remotePath> <dst> --webdav-url=<url>` (client B pulling). */
export function rcloneCopyFrom(url, dst, { remotePath = '', args = [], timeoutMs } = {}) {
  fs.mkdirSync(dst, { recursive: true });
  const [remote, urlFlag] = remoteArgs(url, remotePath);
  return runRclone(['copy', remote, path.resolve(dst), urlFlag, '--config=', ...args], { timeoutMs });
}
