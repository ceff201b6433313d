// ferry serve + ferry client, measured against syncthing (two instances on loopback, see
// peers/syncthing.mjs) and, for the initial sync, rclone (`rclone serve webdav` + `rclone copy` up
// from A, then down into B, see peers/rclone-webdav.mjs), all in the same run:
//
//   propagation  a new 64-byte file written in client A until it is on disk in client B with its
//                content: 20 changes at 1/s (each at a random point of its second) and 300 at
//                100/s (each at a random point of its 10 ms slot); p50, p99, max per round.
//   initial      A → server → B of FERRY_BENCH_SERVE_FILES (10,000) files of 4 KiB and of one
//                file of FERRY_BENCH_SERVE_LARGE_MB (1024) MiB: from the start of the servers /
//                processes until B has everything; then checked (counts, sizes, a sample of
//                sha256s for the small files; the sha256 of the large one).
//   memory       RSS of `ferry serve` with FERRY_BENCH_SERVE_CLIENTS (50) clients registered over
//                POST /register and connected over WebSocket (the `ws` package, no client
//                processes), before, while connected, while 100 uploads fan out to all, after.
//   many         (only with FERRY_BENCH_SERVE_MANY=1, or named) 50 real `ferry client start`
//                processes with 100 files each: until the server has all, until every client has all.
//
//   node bench/run.mjs serve [propagation|initial|memory|many ...]     (default: the first three,
//                                                                        plus many when FERRY_BENCH_SERVE_MANY=1)
//   node bench/serve.mjs [parts ...]                                     (the same, standalone)
//
// Environment: FERRY_BENCH_SERVE_FILES (10000), FERRY_BENCH_SERVE_SIZE (4096 bytes),
// FERRY_BENCH_SERVE_LARGE_MB (1024), FERRY_BENCH_SERVE_ROUNDS (default FERRY_BENCH_ROUNDS, 3),
// FERRY_BENCH_SERVE_CLIENTS (50), FERRY_BENCH_SERVE_MANY=1, FERRY_BENCH_SERVE_MANY_CLIENTS (50),
// FERRY_BENCH_SERVE_MANY_FILES (100 per client), FERRY_BENCH_SERVE_MANY_TIMEOUT (300 s), and the
// runner's FERRY_BENCH_SETTLE, FERRY_BENCH_QUIET_WAIT, FERRY_BENCH_TIMEOUT, FERRY_BENCH_ROTATE.
//
// ferry's clients get `debounce_ms: 1000` (syncthing's folders have fsWatcherDelayS=1) and their
// state db outside the synced folder. Tools alternate within each round (ferry, syncthing[, rclone]),
// and ratios are taken round by round (BENCHMARKING.md). Data lives under bench/out/dst/serve
// (removed at the end), logs under bench/out/logs/serve (kept), raw figures in
// bench/out/serve-<time>.json, the markdown goes where the runner puts it.
/* global FormData, Blob -- Node 18+ globals the eslint config does not list */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import {
  OUT_DIR,
  ferryBin,
  fmtBytes,
  fmtNum,
  fmtRatio,
  log,
  mdTable,
  median,
  rmrf,
  settings,
  settle,
  snapshotFerry,
  treeStats,
  waitQuiet,
  warmTree,
} from './lib.mjs';
import { freePort, makeSmallFiles, now, percentile, procUsage, sleep, waitForFiles } from './peers/measure.mjs';
import { checkSyncthing, killAllSyncthing, startPair } from './peers/syncthing.mjs';
import { checkRclone, killAllRclone, rcloneCopy, rcloneCopyFrom, startWebdav } from './peers/rclone-webdav.mjs';

export const SERVE_PARTS = ['propagation', 'initial', 'memory', 'many'];

function envInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, not "${raw}"`);
  return Math.round(n);
}

const cfg = {
  files: envInt('FERRY_BENCH_SERVE_FILES', 10_000),
  size: envInt('FERRY_BENCH_SERVE_SIZE', 4096),
  largeMiB: envInt('FERRY_BENCH_SERVE_LARGE_MB', 1024),
  rounds: envInt('FERRY_BENCH_SERVE_ROUNDS', settings.rounds),
  wsClients: envInt('FERRY_BENCH_SERVE_CLIENTS', 50),
  many: process.env.FERRY_BENCH_SERVE_MANY === '1',
  manyClients: envInt('FERRY_BENCH_SERVE_MANY_CLIENTS', 50),
  manyFiles: envInt('FERRY_BENCH_SERVE_MANY_FILES', 100),
  manyTimeoutS: envInt('FERRY_BENCH_SERVE_MANY_TIMEOUT', 300),
  slowChanges: 20,
  fastRate: 100,
  fastSeconds: 3,
  debounceMs: 1000,
  fanoutUploads: 100,
};

const WORK = path.join(OUT_DIR, 'dst', 'serve');
const LOGS = path.join(OUT_DIR, 'logs', 'serve');
const SAMPLE_HASHES = 25;

const ms = (x) => (Number.isFinite(x) ? `${Math.round(x)}` : 'n/a');
const sec = (x) => (Number.isFinite(x) ? (x < 10 ? x.toFixed(2) : x.toFixed(1)) : 'n/a');
const mib = (kib) => (Number.isFinite(kib) ? `${(kib / 1024).toFixed(0)}` : 'n/a');

// ---------- processes we start (all killed on exit, also on error) ----------

const live = new Set();
function spawnTracked(cmd, args, opts) {
  const child = spawn(cmd, args, opts);
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}
function killAllFerry() {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}
process.once('exit', killAllFerry);

async function stopChild(child, graceMs = 8000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return null;
  const exited = new Promise((r) => child.once('exit', (code, sig) => r(code ?? sig)));
  try {
    child.kill('SIGTERM');
  } catch {
    /* gone */
  }
  let killed = false;
  const t = setTimeout(() => {
    killed = true;
    try {
      child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }, graceMs);
  const how = await exited;
  clearTimeout(t);
  return killed ? 'SIGKILL after SIGTERM was ignored' : how;
}

function lineReader(stream, onLine) {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      onLine(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
}

// ---------- ferry: server and clients ----------

/** `ferry serve --port PORT --dir base/srv --db base/srv.db --quiet`; resolves once it prints `listening on`. */
async function startFerryServer(base, { port, maxFileSize, logName } = {}) {
  const dir = path.join(base, 'srv');
  fs.mkdirSync(dir, { recursive: true });
  const args = [ferryBin, 'serve', '--port', String(port ?? 0), '--dir', dir, '--db', path.join(base, 'srv.db'), '--quiet'];
  if (maxFileSize) args.push('--max-file-size', String(maxFileSize));
  const errFile = path.join(LOGS, `${logName}-serve.err`);
  const errFd = fs.openSync(errFile, 'w');
  const child = spawnTracked(process.execPath, args, { stdio: ['ignore', 'pipe', errFd] });
  fs.closeSync(errFd);
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`ferry serve did not print "listening on" in 30 s: ${out}`)), 30_000);
    lineReader(child.stdout, (line) => {
      out += `${line}\n`;
      const m = /listening on (https?:\/\/\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace(/\/$/, ''));
      }
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`ferry serve exited (${code ?? sig}) before listening: ${out}${fs.readFileSync(errFile, 'utf8').slice(-1500)}`));
    });
  });
  return {
    url,
    child,
    exitP: new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(child.exitCode ?? child.signalCode) : child.once('exit', (c, sg) => r(`server: ${c ?? sg}`)))),
    pid: child.pid,
    usage: () => procUsage(child.pid),
    stop: () => stopChild(child),
    async health() {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) });
      return res.json();
    },
  };
}

/** `ferry client init`, then `debounce_ms` and `state_db` appended (docs/serve.md). Returns the config path. */
function initFerryClient(base, name, syncDir, url) {
  const config = path.join(base, `${name}.yaml`);
  const r = spawnSync(process.execPath, [ferryBin, 'client', 'init', '--name', name, '--sync-dir', syncDir, '--server', url, '--config', config], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ferry client init ${name} failed (${r.status}): ${r.stderr || r.stdout}`);
  fs.appendFileSync(config, `debounce_ms: ${cfg.debounceMs}\nstate_db: ${JSON.stringify(path.join(base, `${name}.db`))}\n`);
  return config;
}

/**
 * `ferry client start --config C` (long-running). `connected` resolves at its "connected to the
 * server" line; `problems` collects its `failed:` / `notice:` / `disconnected` lines.
 */
function startFerryClient(config, logName) {
  const outLog = fs.createWriteStream(path.join(LOGS, `${logName}.out`));
  const errLog = fs.createWriteStream(path.join(LOGS, `${logName}.err`));
  const child = spawnTracked(process.execPath, [ferryBin, 'client', 'start', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const problems = [];
  let exited = null;
  let onConnected;
  let onFail;
  const connected = new Promise((resolve, reject) => {
    onConnected = resolve;
    onFail = reject;
  });
  connected.catch(() => {});
  lineReader(child.stdout, (line) => {
    outLog.write(`${line}\n`);
    if (line.startsWith('connected to the server')) onConnected(now());
    else if (/^(failed|notice|disconnected):/.test(line)) problems.push(line);
  });
  lineReader(child.stderr, (line) => {
    errLog.write(`${line}\n`);
    if (line.trim()) problems.push(line);
  });
  child.once('exit', (code, sig) => {
    exited = code ?? sig;
    onFail(new Error(`ferry client (${logName}) exited (${exited}): ${problems.slice(-5).join(' | ')}`));
    outLog.end();
    errLog.end();
  });
  const exitP = new Promise((r) => child.once('exit', (c, sg) => r(`${logName}: ${c ?? sg}`)));
  return {
    child,
    pid: child.pid,
    exitP,
    connected,
    problems,
    get exited() {
      return exited;
    },
    usage: () => procUsage(child.pid),
    stop: () => stopChild(child),
  };
}

async function withTimeout(promise, msTimeout, what) {
  let t;
  try {
    return await Promise.race([promise, new Promise((_, reject) => (t = setTimeout(() => reject(new Error(`timed out after ${msTimeout} ms waiting for ${what}`)), msTimeout)))]);
  } finally {
    clearTimeout(t);
  }
}

/** A ferry server with clients A and B on `dirA` / `dirB`, started in that order (configs written first). */
async function startFerryTrio(base, dirA, dirB, logName, { maxFileSize, t0Hook } = {}) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const cfgA = initFerryClient(base, 'A', dirA, url);
  const cfgB = initFerryClient(base, 'B', dirB, url);
  const t0 = now();
  t0Hook?.(t0);
  const server = await startFerryServer(base, { port, maxFileSize, logName });
  const a = startFerryClient(cfgA, `${logName}-A`);
  const b = startFerryClient(cfgB, `${logName}-B`);
  const stop = async () => {
    const how = await Promise.all([a.stop(), b.stop()]);
    await server.stop();
    return how;
  };
  return { t0, server, a, b, stop };
}

// ---------- propagation ----------

/**
 * Watches `dir` (one fs.watch, plus a 100 ms poll of what is still missing) for expected files;
 * records for each the monotonic time at which its content was first seen complete.
 */
function arrivalTracker(dir) {
  const pending = new Map(); // name -> { data, written }
  const latency = new Map(); // name -> ms
  const check = (name) => {
    const p = pending.get(name);
    if (!p) return;
    const t = now();
    let buf;
    try {
      buf = fs.readFileSync(path.join(dir, name));
    } catch {
      return;
    }
    if (buf.equals(p.data)) {
      latency.set(name, t - p.written);
      pending.delete(name);
    }
  };
  const watcher = fs.watch(dir, { persistent: false }, (_ev, name) => {
    if (name) check(String(name));
  });
  watcher.on('error', () => {});
  const poll = setInterval(() => {
    for (const name of [...pending.keys()]) check(name);
  }, 100);
  return {
    /** Call just before writing the file in A: starts its clock. */
    expect(name, data) {
      pending.set(name, { data, written: now() });
    },
    async drain(names, timeoutMs) {
      const deadline = now() + timeoutMs;
      while (names.some((n) => pending.has(n)) && now() < deadline) await sleep(50);
      for (const n of names) check(n);
      return { lat: names.filter((n) => latency.has(n)).map((n) => latency.get(n)), missing: names.filter((n) => pending.has(n)) };
    },
    close() {
      clearInterval(poll);
      watcher.close();
    },
  };
}

const changeData = (tag) => Buffer.concat([Buffer.from(`${tag} `), randomBytes(64)]).subarray(0, 64);

/**
 * `count` new files written into `dirA`, change i at a random point of its slot of `periodMs`
 * (not on the dot: syncthing's watcher aggregates on a timer and writes exactly on the period lock
 * onto its phase), each awaited in `dirB` through `tracker`.
 */
async function writePhase(dirA, tracker, { count, periodMs, prefix, drainMs }) {
  const names = [];
  let late = 0;
  const t0 = now() + 20;
  for (let i = 0; i < count; i++) {
    const due = t0 + i * periodMs + Math.random() * periodMs * 0.9;
    const wait = due - now();
    if (wait > 1) await sleep(wait);
    else if (wait < -periodMs) late++;
    const name = `${prefix}-${String(i).padStart(4, '0')}.txt`;
    const data = changeData(name);
    names.push(name);
    tracker.expect(name, data);
    fs.writeFileSync(path.join(dirA, name), data);
  }
  const spanMs = now() - t0;
  const { lat, missing } = await tracker.drain(names, drainMs);
  return {
    count,
    rate: count / Math.max(spanMs / 1000, 1e-3),
    late,
    arrived: lat.length,
    missing,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    min: lat.length ? Math.min(...lat) : NaN,
    max: lat.length ? Math.max(...lat) : NaN,
  };
}

async function propagationPhases(dirA, dirB) {
  const tracker = arrivalTracker(dirB);
  try {
    const slow = await writePhase(dirA, tracker, { count: cfg.slowChanges, periodMs: 1000, prefix: 'slow', drainMs: 30_000 });
    await sleep(2000);
    const fast = await writePhase(dirA, tracker, { count: cfg.fastRate * cfg.fastSeconds, periodMs: 1000 / cfg.fastRate, prefix: 'fast', drainMs: 60_000 });
    return { slow, fast };
  } finally {
    tracker.close();
  }
}

/** Files (not dirs) directly under `dir`, minus syncthing's marker. */
function listNames(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
}

function checkSameFiles(dirA, dirB) {
  const a = listNames(dirA);
  const b = listNames(dirB);
  const onlyA = a.filter((n) => !b.includes(n));
  const onlyB = b.filter((n) => !a.includes(n));
  let differ = 0;
  for (const n of a) if (b.includes(n) && !fs.readFileSync(path.join(dirA, n)).equals(fs.readFileSync(path.join(dirB, n)))) differ++;
  if (!onlyA.length && !onlyB.length && !differ) return null;
  return `A ${a.length} files, B ${b.length}; only in A: ${onlyA.slice(0, 5).join(', ') || '-'}${onlyA.length > 5 ? ` (+${onlyA.length - 5})` : ''}; only in B: ${onlyB.slice(0, 5).join(', ') || '-'}${onlyB.length > 5 ? ` (+${onlyB.length - 5})` : ''}; content differs: ${differ}`;
}

async function propagationFerry(base, logName) {
  const dirA = path.join(base, 'A');
  const dirB = path.join(base, 'B');
  fs.mkdirSync(dirA, { recursive: true });
  fs.mkdirSync(dirB, { recursive: true });
  const trio = await startFerryTrio(base, dirA, dirB, logName);
  try {
    await withTimeout(Promise.all([trio.a.connected, trio.b.connected]), 60_000, 'both ferry clients to connect');
    const startMs = now() - trio.t0;
    await sleep(1000);
    const phases = await propagationPhases(dirA, dirB);
    await sleep(500);
    const diff = checkSameFiles(dirA, dirB);
    const usage = { server: trio.server.usage(), a: trio.a.usage(), b: trio.b.usage() };
    return { ...phases, startMs, diff, usage, problems: [...trio.a.problems.map((p) => `A: ${p}`), ...trio.b.problems.map((p) => `B: ${p}`)] };
  } finally {
    await trio.stop();
  }
}

async function propagationSyncthing(base) {
  const dirA = path.join(base, 'A');
  const dirB = path.join(base, 'B');
  const pair = await startPair({ dirA, dirB, homeBase: path.join(base, 'homes') });
  try {
    const startMs = pair.timings.idleMs;
    await sleep(1000);
    const phases = await propagationPhases(dirA, dirB);
    let idleErr = null;
    await pair.waitIdle({ timeoutMs: 30_000 }).catch((e) => (idleErr = e.message));
    const diff = checkSameFiles(dirA, dirB);
    const u = pair.usage();
    return { ...phases, startMs, diff, usage: { a: u.a, b: u.b }, problems: idleErr ? [idleErr] : [] };
  } finally {
    await pair.stop({ keepHomes: true });
  }
}

// ---------- initial sync ----------

async function sha256File(file) {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 4 << 20 })) h.update(chunk);
  return h.digest('hex');
}

/** The two source trees, made once: small (d000/f00000.bin …) and large (large.bin). */
function makeSources() {
  const smallDir = path.join(WORK, 'src-small');
  const largeDir = path.join(WORK, 'src-large');
  log(`serve: writing the sources: ${cfg.files} × ${cfg.size} B, and ${cfg.largeMiB} MiB`);
  const files = makeSmallFiles(smallDir, cfg.files, cfg.size);
  fs.mkdirSync(largeDir, { recursive: true });
  const largeFile = path.join(largeDir, 'large.bin');
  const fd = fs.openSync(largeFile, 'w');
  const h = createHash('sha256');
  const block = Buffer.alloc(8 << 20);
  let left = cfg.largeMiB * 2 ** 20;
  while (left > 0) {
    const n = Math.min(left, block.length);
    randomBytes(n).copy(block);
    fs.writeSync(fd, block, 0, n);
    h.update(block.subarray(0, n));
    left -= n;
  }
  fs.closeSync(fd);
  // syncthing's startPair adds a .stfolder marker to its folders: made now, so every tool sees the same tree
  for (const d of [smallDir, largeDir]) fs.mkdirSync(path.join(d, '.stfolder'), { recursive: true });
  // a sample of the small files, spread over the tree, for the content check
  const step = Math.max(1, Math.floor(files.length / SAMPLE_HASHES));
  const sample = files.filter((_, i) => i % step === 0).slice(0, SAMPLE_HASHES).map((f) => ({ rel: f.rel, sha: createHash('sha256').update(fs.readFileSync(path.join(smallDir, f.rel))).digest('hex') }));
  return {
    small: { kind: 'small', dir: smallDir, files, bytes: files.length * cfg.size, sample },
    large: { kind: 'large', dir: largeDir, file: 'large.bin', bytes: cfg.largeMiB * 2 ** 20, sha: h.digest('hex') },
  };
}

/**
 * Resolves with the monotonic time of the pass (every 100 ms) that found B holding everything of
 * `src`: every small file with its size, or the large file with its size and sha256. Rejects on
 * timeout or when `signal` aborts.
 */
async function waitComplete(src, dirB, timeoutMs, signal) {
  const deadline = now() + timeoutMs;
  let missing = src.kind === 'small' ? src.files : [{ rel: src.file, size: src.bytes }];
  for (;;) {
    const t = now();
    missing = missing.filter((f) => {
      try {
        const st = fs.statSync(path.join(dirB, f.rel));
        return !(st.isFile() && st.size === f.size);
      } catch {
        return true;
      }
    });
    if (missing.length === 0) {
      if (src.kind === 'small') return t;
      if ((await sha256File(path.join(dirB, src.file))) === src.sha) return t;
      missing = [{ rel: src.file, size: src.bytes }]; // full size, not the content yet: look again
    }
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    if (now() > deadline) throw new Error(`${missing.length} of ${src.kind === 'small' ? src.files.length : 1} files still missing or incomplete in B after ${timeoutMs / 1000} s (first: ${missing[0].rel})`);
    await sleep(100);
  }
}

/** Counts, sizes and a sample of hashes (small), or the sha256 (large). null = all good. */
async function verify(src, dirB) {
  if (src.kind === 'small') {
    const got = treeStats(dirB);
    if (got.files !== src.files.length || got.bytes !== src.bytes) return `B has ${got.files} files, ${got.bytes} bytes; expected ${src.files.length}, ${src.bytes}`;
    for (const s of src.sample) {
      let sha;
      try {
        sha = createHash('sha256').update(fs.readFileSync(path.join(dirB, s.rel))).digest('hex');
      } catch (e) {
        return `${s.rel}: ${e.code}`;
      }
      if (sha !== s.sha) return `${s.rel}: content differs`;
    }
    return null;
  }
  const got = treeStats(dirB);
  if (got.files !== 1) return `B has ${got.files} files, expected 1`;
  const sha = await sha256File(path.join(dirB, src.file));
  return sha === src.sha ? null : `${src.file}: sha256 ${sha.slice(0, 16)}…, expected ${src.sha.slice(0, 16)}…`;
}

function srcUnchanged(src) {
  const got = treeStats(src.dir);
  const want = src.kind === 'small' ? src.files.length : 1;
  return got.files === want && got.bytes === src.bytes ? null : `the source A changed: ${got.files} files, ${got.bytes} bytes (expected ${want}, ${src.bytes})`;
}

const timeoutMs = () => settings.timeout * 1000;

async function initialFerry(src, base, logName) {
  const dirB = path.join(base, 'B');
  fs.mkdirSync(dirB, { recursive: true });
  const expectSeq = src.kind === 'small' ? src.files.length : 1;
  const maxFileSize = src.kind === 'large' ? `${Math.ceil(src.bytes / 2 ** 20) + 64}M` : undefined;
  const trio = await startFerryTrio(base, src.dir, dirB, logName, { maxFileSize });
  const listenAt = now();
  let readyAt = NaN;
  trio.b.connected.then((t) => (readyAt = t)).catch(() => {});
  let upAt = NaN;
  let stopPoll = false;
  const poller = (async () => {
    while (!stopPoll) {
      try {
        const h = await trio.server.health();
        if (h.sequence >= expectSeq) {
          upAt = now();
          return;
        }
      } catch {
        /* busy: next time */
      }
      await sleep(200);
    }
  })();
  try {
    const ac = new AbortController();
    void Promise.race([trio.server.exitP, trio.a.exitP, trio.b.exitP]).then((how) =>
      ac.abort(new Error(`a ferry process exited during the sync (${how}); logs ${path.relative(process.cwd(), LOGS)}/${logName}-*`)),
    );
    const doneAt = await waitComplete(src, dirB, timeoutMs(), ac.signal);
    stopPoll = true;
    await poller;
    const usage = { server: trio.server.usage(), a: trio.a.usage(), b: trio.b.usage() };
    return {
      ok: true,
      sec: (doneAt - trio.t0) / 1000,
      upSec: (upAt - trio.t0) / 1000,
      startSec: (readyAt - trio.t0) / 1000,
      listenSec: (listenAt - trio.t0) / 1000,
      usage,
      problems: [...trio.a.problems.map((p) => `A: ${p}`), ...trio.b.problems.map((p) => `B: ${p}`)],
    };
  } finally {
    stopPoll = true;
    await poller;
    await trio.stop();
  }
}

async function initialSyncthing(src, base) {
  const dirB = path.join(base, 'B');
  fs.mkdirSync(dirB, { recursive: true });
  const t0 = now();
  const pair = await startPair({ dirA: src.dir, dirB, homeBase: path.join(base, 'homes'), idle: false, timeoutMs: timeoutMs() });
  try {
    const spawnedAt = t0 + pair.timings.configuredMs;
    const doneAt = await waitComplete(src, dirB, timeoutMs());
    const usage = pair.usage();
    let idleErr = null;
    await pair.waitIdle({ timeoutMs: 120_000 }).catch((e) => (idleErr = e.message));
    return { ok: true, sec: (doneAt - spawnedAt) / 1000, startSec: (pair.timings.connectedMs - pair.timings.configuredMs) / 1000, usage: { a: usage.a, b: usage.b }, problems: idleErr ? [idleErr] : [] };
  } finally {
    await pair.stop({ keepHomes: true });
  }
}

async function initialRclone(src, base, logName) {
  const dirB = path.join(base, 'B');
  fs.mkdirSync(dirB, { recursive: true });
  const t0 = now();
  const srv = await startWebdav({ dir: path.join(base, 'srv'), logFile: path.join(LOGS, `${logName}-serve.log`) });
  try {
    const up = await rcloneCopy(src.dir, srv.url, { timeoutMs: timeoutMs() });
    const upAt = now();
    await rcloneCopyFrom(srv.url, dirB, { timeoutMs: timeoutMs() });
    const doneAt = now();
    return { ok: true, sec: (doneAt - t0) / 1000, upSec: (upAt - t0) / 1000, startSec: srv.startMs / 1000, upToolSec: up.wallMs / 1000, usage: { server: srv.usage() }, problems: [] };
  } finally {
    await srv.stop();
  }
}

// ---------- memory: many WebSocket connections to one server ----------

async function memoryBench(base) {
  const n = cfg.wsClients;
  const server = await startFerryServer(base, { logName: 'memory' });
  const sockets = [];
  let peak = 0;
  const sampler = setInterval(() => {
    const u = server.usage();
    if (u) peak = Math.max(peak, u.rssKiB);
  }, 200);
  const hb = setInterval(() => {
    for (const s of sockets) if (s.ws.readyState === WebSocket.OPEN) s.ws.send(JSON.stringify({ type: 'HEARTBEAT', time: new Date().toISOString() }));
  }, 10_000);
  try {
    await sleep(2000);
    const idle = server.usage().rssKiB;
    const t0 = now();
    const ids = [];
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${server.url}/register`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ client_name: `bench-ws-${i}`, platform: 'bench' }),
      });
      if (!res.ok) throw new Error(`POST /register: HTTP ${res.status} ${await res.text()}`);
      ids.push((await res.json()).client_id);
    }
    const registerMs = now() - t0;
    const registered = server.usage().rssKiB;
    const wsBase = server.url.replace(/^http/, 'ws');
    const t1 = now();
    await Promise.all(
      ids.map(
        (id) =>
          new Promise((resolve, reject) => {
            const ws = new WebSocket(`${wsBase}/ws/${encodeURIComponent(id)}`);
            const s = { id, ws, changes: 0, types: {}, closed: null };
            sockets.push(s);
            const timer = setTimeout(() => reject(new Error(`WebSocket ${id}: no CLIENT_CONNECT in 30 s`)), 30_000);
            ws.on('message', (data) => {
              let m;
              try {
                m = JSON.parse(data.toString());
              } catch {
                return;
              }
              s.types[m.type] = (s.types[m.type] ?? 0) + 1;
              if (m.type === 'CLIENT_CONNECT') {
                clearTimeout(timer);
                resolve();
              } else if (m.type === 'FILE_CHANGED') s.changes++;
            });
            ws.on('close', (code) => {
              s.closed = code;
              clearTimeout(timer);
              reject(new Error(`WebSocket ${id} closed (${code}) before CLIENT_CONNECT`));
            });
            ws.on('error', () => {});
          }),
      ),
    );
    const connectMs = now() - t1;
    await sleep(5000);
    const connected = server.usage().rssKiB;
    const clients = await (await fetch(`${server.url}/clients`)).json();
    const connectedCount = clients.clients.filter((c) => c.connected).length;

    // fan-out: uploads over HTTP, every socket should hear each one
    const k = cfg.fanoutUploads;
    const t2 = now();
    for (let i = 0; i < k; i++) {
      const data = randomBytes(4096);
      const form = new FormData();
      form.append('path', `fanout/u${String(i).padStart(4, '0')}.bin`);
      form.append('sha256', createHash('sha256').update(data).digest('hex'));
      form.append('base_sha256', '');
      form.append('mtime_ns', `${BigInt(Date.now()) * 1_000_000n}`);
      form.append('size', String(data.length));
      form.append('file', new Blob([data]), `u${i}.bin`);
      const res = await fetch(`${server.url}/upload`, { method: 'POST', body: form });
      if (!res.ok) throw new Error(`POST /upload: HTTP ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    }
    const uploadMs = now() - t2;
    const deadline = now() + 30_000;
    while (sockets.some((s) => s.changes < k) && now() < deadline) await sleep(20);
    const fanoutMs = now() - t2;
    const heard = sockets.filter((s) => s.changes >= k).length;
    const afterFanout = server.usage().rssKiB;
    const peakWhile = peak;
    for (const s of sockets) s.ws.close();
    await sleep(3000);
    const afterClose = server.usage().rssKiB;
    return { n, idle, registered, connected, afterFanout, peak: peakWhile, afterClose, registerMs, connectMs, connectedCount, uploads: k, uploadMs, fanoutMs, heard, minHeard: Math.min(...sockets.map((s) => s.changes)) };
  } finally {
    clearInterval(sampler);
    clearInterval(hb);
    for (const s of sockets) s.ws.terminate();
    await server.stop();
  }
}

// ---------- many: real client processes ----------

/** Complete entries (f00000.bin … of `size`) under dir/c<j>/ for every j, counted per directory. */
function manyCount(dir, clients, perClient) {
  let have = 0;
  for (let j = 0; j < clients; j++) {
    let names;
    try {
      names = fs.readdirSync(path.join(dir, `c${j}`));
    } catch {
      continue;
    }
    for (const nm of names) if (/^f\d{5}\.bin$/.test(nm) && Number(nm.slice(1, 6)) < perClient) have++;
  }
  return have;
}

async function manyBench(base) {
  const n = cfg.manyClients;
  const per = cfg.manyFiles;
  const total = n * per;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  log(`serve many: ${n} client folders × ${per} files`);
  const dirs = [];
  const configs = [];
  for (let i = 0; i < n; i++) {
    const dir = path.join(base, `client-${i}`);
    makeSmallFiles(path.join(dir, `c${i}`), per, cfg.size, { perDir: 0 });
    dirs.push(dir);
    configs.push(initFerryClient(base, `M${i}`, dir, url));
  }
  spawnSync('sync');
  await sleep(2000);
  const t0 = now();
  const server = await startFerryServer(base, { port, logName: 'many' });
  const clients = configs.map((c, i) => startFerryClient(c, `many-M${i}`));
  let serverPeak = 0;
  let clientsPeakSum = 0;
  const sampler = setInterval(() => {
    const u = server.usage();
    if (u) serverPeak = Math.max(serverPeak, u.rssKiB);
    let sum = 0;
    for (const c of clients) sum += c.usage()?.rssKiB ?? 0;
    clientsPeakSum = Math.max(clientsPeakSum, sum);
  }, 1000);
  let upAt = NaN;
  let doneAt = NaN;
  const completeAt = new Array(n).fill(NaN); // seconds after t0 at which client i had all `total`
  const deadline = t0 + cfg.manyTimeoutS * 1000;
  const incomplete = [];
  const progress = []; // [seconds, files at client 0, 1, …] every check
  try {
    while (now() < deadline) {
      if (!Number.isFinite(upAt)) {
        try {
          if ((await server.health()).sequence >= total) upAt = now();
        } catch {
          /* busy */
        }
      }
      const counts = dirs.map((d, i) => (Number.isFinite(completeAt[i]) ? total : manyCount(d, n, per)));
      const tNow = (now() - t0) / 1000;
      for (let i = 0; i < n; i++) if (!Number.isFinite(completeAt[i]) && counts[i] >= total) completeAt[i] = tNow;
      progress.push([Math.round(tNow), ...counts]);
      if (progress.length % 10 === 1) log(`serve many: ${tNow.toFixed(0)} s: files at the clients min ${Math.min(...counts)}, median ${median(counts)}, max ${Math.max(...counts)} of ${total}; server ${Number.isFinite(upAt) ? 'has all' : 'not all yet'}`);
      if (completeAt.every(Number.isFinite)) {
        doneAt = now();
        break;
      }
      if (clients.every((c) => c.exited !== null)) break;
      await sleep(2000);
    }
    // what the clients still lack at the deadline, before anything else happens
    for (let i = 0; i < n; i++) {
      if (Number.isFinite(completeAt[i])) continue;
      const missing = [];
      for (let j = 0; j < n; j++) for (let f = 0; f < per; f++) {
        const rel = path.join(`c${j}`, `f${String(f).padStart(5, '0')}.bin`);
        if (!fs.existsSync(path.join(dirs[i], rel))) missing.push(rel);
      }
      incomplete.push({ client: `M${i}`, missing: missing.length, first: missing.slice(0, 10) });
    }
    let sizesOk = null;
    if (Number.isFinite(doneAt)) {
      const expected = [];
      for (let j = 0; j < n; j++) for (let f = 0; f < per; f++) expected.push({ rel: path.join(`c${j}`, `f${String(f).padStart(5, '0')}.bin`), size: cfg.size });
      for (const d of dirs) {
        try {
          await waitForFiles(d, expected, 10_000);
        } catch (e) {
          sizesOk = e.message;
          break;
        }
      }
    }
    // byte for byte: every client's copy of every file has the sha256 of the file its author wrote
    let bytesOk = null;
    let compared = 0;
    if (Number.isFinite(doneAt) && sizesOk === null) {
      const sha = (f) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
      outer: for (let j = 0; j < n; j++) {
        for (let f = 0; f < per; f++) {
          const rel = path.join(`c${j}`, `f${String(f).padStart(5, '0')}.bin`);
          const want = sha(path.join(dirs[j], rel));
          for (let i = 0; i < n; i++) {
            if (i === j) continue;
            compared++;
            if (sha(path.join(dirs[i], rel)) !== want) {
              bytesOk = `M${i}'s ${rel} differs from M${j}'s`;
              break outer;
            }
          }
        }
      }
    }
    const have = dirs.map((d) => manyCount(d, n, per));
    const health = await server.health().catch(() => ({ sequence: NaN }));
    const conn = await (await fetch(`${url}/clients`)).json().catch(() => ({ clients: [] }));
    const rssEach = clients.map((c) => c.usage()?.rssKiB).filter(Number.isFinite);
    const elapsedSec = (now() - t0) / 1000;
    const serverCpuSec = server.usage()?.cpuSec;
    const clientsCpuSec = clients.reduce((sum, c) => sum + (c.usage()?.cpuSec ?? 0), 0);
    // files each client fetched per second: until it had all, or over the whole wait
    const fetchRate = median(dirs.map((_, i) => (Number.isFinite(completeAt[i]) ? (total - per) / completeAt[i] : (have[i] - per) / elapsedSec)));
    return {
      n,
      per,
      total,
      upSec: (upAt - t0) / 1000,
      doneSec: (doneAt - t0) / 1000,
      completeClients: completeAt.filter(Number.isFinite).length,
      completeAtMedian: median(completeAt),
      completeAtMax: Math.max(...completeAt.filter(Number.isFinite)),
      incomplete,
      progress,
      elapsedSec,
      serverCpuSec,
      clientsCpuSec,
      fetchRate,
      minHave: Math.min(...have),
      serverSeq: health.sequence,
      connected: conn.clients.filter((c) => c.connected).length,
      serverPeak,
      serverEnd: server.usage()?.rssKiB,
      clientsPeakSum,
      clientRssMedian: median(rssEach),
      sizesOk,
      bytesOk,
      compared,
      exited: clients.filter((c) => c.exited !== null).length,
      problems: clients.flatMap((c, i) => c.problems.slice(0, 3).map((p) => `M${i}: ${p}`)).slice(0, 20),
      problemCount: clients.reduce((s, c) => s + c.problems.length, 0),
    };
  } finally {
    clearInterval(sampler);
    await Promise.all(clients.map((c) => c.stop()));
    await server.stop();
  }
}

// ---------- the run ----------

function freeBytes(dir) {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
}

const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN);
const perRound = (xs) => xs.map((x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a')).join(', ');
const range = (xs) => {
  const v = xs.filter(Number.isFinite);
  return v.length ? `${sec(Math.min(...v))}–${sec(Math.max(...v))}` : '';
};
const msRange = (xs) => {
  const v = xs.filter(Number.isFinite);
  return v.length ? `${ms(Math.min(...v))}–${ms(Math.max(...v))}` : '';
};

export async function runServe(parts) {
  const want = parts?.length ? parts : ['propagation', 'initial', 'memory', ...(cfg.many ? ['many'] : [])];
  for (const p of want) if (!SERVE_PARTS.includes(p)) throw new Error(`unknown serve part "${p}": one of ${SERVE_PARTS.join(', ')}`);
  const st = checkSyncthing();
  const rc = checkRclone();
  const notes = [];
  const results = { started: new Date().toISOString(), settings: { ...cfg, rotate: settings.rotate, parts: want }, syncthing: st.version, rclone: rc.version, propagation: [], initial: [], memory: null, many: null };
  const stamp = results.started.replace(/[:.]/g, '-').slice(0, 19);
  const jsonFile = path.join(OUT_DIR, `serve-${stamp}.json`);

  const onSignal = () => {
    killAllFerry();
    killAllSyncthing();
    killAllRclone();
    rmrf(WORK);
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  log(`serve: removing old work under ${WORK}`);
  rmrf(WORK);
  rmrf(LOGS);
  fs.mkdirSync(WORK, { recursive: true });
  fs.mkdirSync(LOGS, { recursive: true });
  const md = ['### ferry serve / client against syncthing and rclone webdav', ''];
  md.push(
    `- syncthing: ${st.ok ? st.version : `not run (${st.hint})`}; rclone: ${rc.ok ? rc.version : `not run (${rc.hint})`}`,
    `- ferry clients with \`debounce_ms: ${cfg.debounceMs}\` (syncthing fsWatcherDelayS=1), state db outside the folder; everything on 127.0.0.1; ${cfg.rounds} round(s), tools alternating in each; warm cache (sources re-read before each initial sync)`,
    '- this machine is small (2 cores) and shared: single figures wander by 2× or more; compare ratios within this run only.',
    '',
  );
  const round = (r, tools) => (settings.rotate ? [...tools.slice(r % tools.length), ...tools.slice(0, r % tools.length)] : tools);

  try {
    await settle();

    // ---- propagation ----
    if (want.includes('propagation')) {
      const tools = [{ slug: 'ferry', name: 'ferry serve + 2 clients' }, ...(st.ok ? [{ slug: 'syncthing', name: 'syncthing × 2' }] : [])];
      const runs = Object.fromEntries(tools.map((t) => [t.slug, []]));
      for (let r = 0; r < cfg.rounds; r++) {
        for (const t of round(r, tools)) {
          const base = path.join(WORK, `prop-${t.slug}-r${r + 1}`);
          const load = await waitQuiet();
          log(`serve propagation round ${r + 1}/${cfg.rounds}: ${t.name} (other load ${load.toFixed(2)} cores)`);
          let res;
          try {
            res = t.slug === 'ferry' ? await propagationFerry(base, `prop-ferry-r${r + 1}`) : await propagationSyncthing(base);
            res.ok = true;
          } catch (e) {
            res = { ok: false, error: e.message };
            notes.push(`propagation round ${r + 1}, ${t.name}: failed: ${e.message}`);
          }
          res.load = load;
          runs[t.slug].push(res);
          results.propagation.push({ tool: t.slug, round: r + 1, ...res });
          if (res.ok) {
            for (const ph of ['slow', 'fast']) {
              const p = res[ph];
              log(`  ${ph}: ${p.arrived}/${p.count} arrived, p50 ${ms(p.p50)} ms, p99 ${ms(p.p99)} ms, max ${ms(p.max)} ms${p.missing.length ? `, MISSING ${p.missing.length}` : ''}`);
              if (p.missing.length) notes.push(`propagation round ${r + 1}, ${t.name}, ${ph === 'slow' ? '1/s' : `${cfg.fastRate}/s`}: ${p.missing.length} of ${p.count} changes never arrived in B (${ph === 'slow' ? 30 : 60} s after the last write): ${p.missing.slice(0, 8).join(', ')}${p.missing.length > 8 ? ' …' : ''} (logs: ${path.relative(process.cwd(), LOGS)}/prop-${t.slug}-r${r + 1}-*)`);
            }
            if (res.diff) notes.push(`propagation round ${r + 1}, ${t.name}: A and B differ at the end: ${res.diff}`);
            if (res.problems.length) notes.push(`propagation round ${r + 1}, ${t.name}: ${res.problems.length} problem line(s): ${res.problems.slice(0, 4).join(' | ')}`);
          }
        }
      }
      const rows = [];
      for (const ph of ['slow', 'fast']) {
        for (const t of tools) {
          const ok = runs[t.slug].filter((x) => x.ok).map((x) => x[ph]);
          const arrived = ok.reduce((s, p) => s + p.arrived, 0);
          const count = ok.reduce((s, p) => s + p.count, 0);
          rows.push([
            ph === 'slow' ? `${cfg.slowChanges} at 1/s` : `${cfg.fastRate * cfg.fastSeconds} at ${cfg.fastRate}/s`,
            t.name,
            ok.length ? ms(median(ok.map((p) => p.p50))) : 'failed',
            msRange(ok.map((p) => p.p50)),
            ok.length ? ms(median(ok.map((p) => p.p99))) : '',
            msRange(ok.map((p) => p.p99)),
            ok.length ? ms(Math.max(...ok.map((p) => p.max))) : '',
            `${arrived}/${count}`,
            ok.length ? `${fmtNum(median(ok.map((p) => p.rate)))}/s` : '',
          ]);
        }
      }
      md.push(
        '#### Propagation: a new 64-byte file written in A until its content is on disk in B',
        '',
        `Each change at a random point of its slot (1 s, or 10 ms at ${cfg.fastRate}/s), so no tool's timer locks onto the writes; the ${cfg.fastRate}/s burst starts 2 s after the 1/s phase has arrived.`,
        'ferry: `ferry serve` and two `ferry client start`; syncthing: two instances sharing one folder (sendreceive). ms; medians over rounds of each round\'s percentile.',
        '',
        mdTable(['changes', 'tool', 'p50 ms', 'p50 range', 'p99 ms', 'p99 range', 'max ms', 'arrived', 'write rate'], rows),
        '',
      );
      if (st.ok) {
        const rr = [];
        for (const ph of ['slow', 'fast']) {
          for (const q of ['p50', 'p99']) {
            const rs = runs.ferry.map((f, i) => (f.ok && runs.syncthing[i]?.ok ? ratio(f[ph][q], runs.syncthing[i][ph][q]) : NaN));
            rr.push([ph === 'slow' ? '1/s' : `${cfg.fastRate}/s`, q, fmtRatio(median(rs)), perRound(rs)]);
          }
        }
        md.push('ferry ÷ syncthing, per round and their median (above 1× = ferry slower):', '', mdTable(['rate', 'percentile', 'median ratio', 'per round'], rr), '');
      }
      const fu = runs.ferry.filter((x) => x.ok).map((x) => x.usage);
      const su = (runs.syncthing ?? []).filter((x) => x.ok).map((x) => x.usage);
      md.push(
        `RSS after the propagation runs (MiB, median): ferry server ${mib(median(fu.map((u) => u.server?.rssKiB)))}, client A ${mib(median(fu.map((u) => u.a?.rssKiB)))}, client B ${mib(median(fu.map((u) => u.b?.rssKiB)))}` +
          (su.length ? `; syncthing A ${mib(median(su.map((u) => u.a?.rssKiB)))}, B ${mib(median(su.map((u) => u.b?.rssKiB)))}` : '') +
          `. Start until ready (both connected / both idle): ferry ${ms(median(runs.ferry.filter((x) => x.ok).map((x) => x.startMs)))} ms${su.length ? `, syncthing ${ms(median(runs.syncthing.filter((x) => x.ok).map((x) => x.startMs)))} ms` : ''}.`,
        '',
      );
      fs.writeFileSync(jsonFile, JSON.stringify(results, null, 2));
    }

    // ---- initial sync ----
    if (want.includes('initial')) {
      const srcs = makeSources();
      spawnSync('sync');
      await sleep(2000);
      const tools = [
        { slug: 'ferry', name: 'ferry serve + 2 clients' },
        ...(st.ok ? [{ slug: 'syncthing', name: 'syncthing × 2' }] : []),
        ...(rc.ok ? [{ slug: 'rclone', name: 'rclone serve webdav + copy up + copy down' }] : []),
      ];
      const rowsAll = [];
      const ratioRowsAll = [];
      for (const src of [srcs.small, srcs.large]) {
        const label = src.kind === 'small' ? `${src.files.length} × ${fmtBytes(cfg.size)}` : `1 × ${fmtBytes(src.bytes)}`;
        const perRun = src.kind === 'small' ? src.files.length * 2 + 64 : 0;
        const need = (src.bytes + perRun * 4096) * 1.1 * 5 * cfg.rounds;
        const keepAll = need < 0.25 * freeBytes(OUT_DIR);
        const runs = Object.fromEntries(tools.map((t) => [t.slug, []]));
        for (let r = 0; r < cfg.rounds; r++) {
          if (!keepAll && r > 0) {
            log(`serve initial ${src.kind}: deleting round ${r}'s copies, sync, wait ${settings.settle} s`);
            for (const t of tools) rmrf(path.join(WORK, `init-${src.kind}-${t.slug}-r${r}`));
            await settle();
          }
          for (const t of round(r, tools)) {
            const base = path.join(WORK, `init-${src.kind}-${t.slug}-r${r + 1}`);
            fs.mkdirSync(base, { recursive: true });
            const load = await waitQuiet();
            warmTree(src.dir);
            log(`serve initial ${label} round ${r + 1}/${cfg.rounds}: ${t.name} (other load ${load.toFixed(2)} cores)`);
            let res;
            try {
              const logName = `init-${src.kind}-${t.slug}-r${r + 1}`;
              res = t.slug === 'ferry' ? await initialFerry(src, base, logName) : t.slug === 'syncthing' ? await initialSyncthing(src, base) : await initialRclone(src, base, logName);
              const bad = (await verify(src, path.join(base, 'B'))) ?? srcUnchanged(src);
              if (bad) {
                res.ok = false;
                res.error = `check failed: ${bad}`;
              }
            } catch (e) {
              res = { ok: false, error: e.message };
            }
            res.load = load;
            if (!res.ok) notes.push(`initial ${label}, round ${r + 1}, ${t.name}: ${res.error}`);
            if (res.problems?.length) notes.push(`initial ${label}, round ${r + 1}, ${t.name}: ${res.problems.length} problem line(s): ${res.problems.slice(0, 4).join(' | ')}`);
            runs[t.slug].push(res);
            results.initial.push({ kind: src.kind, tool: t.slug, round: r + 1, ...res });
            fs.writeFileSync(jsonFile, JSON.stringify(results, null, 2));
            log(`  ${res.ok ? `${sec(res.sec)} s${Number.isFinite(res.upSec) ? ` (server had all at ${sec(res.upSec)} s)` : ''}` : `FAILED: ${res.error}`}`);
          }
        }
        for (const t of tools) {
          const ok = runs[t.slug].filter((x) => x.ok);
          const m = median(ok.map((x) => x.sec));
          const rate = src.kind === 'small' ? `${fmtNum(src.files.length / m)} files/s` : `${fmtNum(src.bytes / 2 ** 20 / m)} MiB/s`;
          const rss =
            t.slug === 'ferry'
              ? `server ${mib(median(ok.map((x) => x.usage.server?.rssKiB)))}, A ${mib(median(ok.map((x) => x.usage.a?.rssKiB)))}, B ${mib(median(ok.map((x) => x.usage.b?.rssKiB)))}`
              : t.slug === 'syncthing'
                ? `A ${mib(median(ok.map((x) => x.usage.a?.rssKiB)))}, B ${mib(median(ok.map((x) => x.usage.b?.rssKiB)))}`
                : `server ${mib(median(ok.map((x) => x.usage.server?.rssKiB)))}`;
          rowsAll.push([
            label,
            t.name + (t.slug === 'rclone' && src.kind === 'small' ? ' (webdav client paced ≥ 10 ms/request: ~30 small files/s up)' : ''),
            ok.length ? sec(m) : 'failed',
            range(ok.map((x) => x.sec)),
            ok.length ? rate : '',
            ok.length && t.slug !== 'syncthing' ? sec(median(ok.map((x) => x.upSec))) : '',
            ok.length ? sec(median(ok.map((x) => x.startSec))) : '',
            ok.length ? rss : '',
            `${ok.length}/${runs[t.slug].length}`,
          ]);
        }
        for (const peer of tools.filter((t) => t.slug !== 'ferry')) {
          const rs = runs.ferry.map((f, i) => (f.ok && runs[peer.slug][i]?.ok ? ratio(f.sec, runs[peer.slug][i].sec) : NaN));
          ratioRowsAll.push([label, peer.name, fmtRatio(median(rs)), perRound(rs)]);
        }
      }
      md.push(
        '#### Initial sync: A → server → B',
        '',
        'A holds the files when everything starts; the server and B are empty. Seconds from the start (ferry: spawning `ferry serve`, then both clients as soon as it listens;',
        'syncthing: spawning both instances, config written before; rclone: spawning `rclone serve webdav`, then `rclone copy A → webdav`, then `rclone copy webdav → B`) until B holds every file',
        'with its size (the large file: its sha256 too). Then checked: file count and bytes, and the sha256 of ' + SAMPLE_HASHES + ' small files spread over the tree, or of the large file.',
        '"server has all": ferry: `/health` sequence reached the file count (polled every 200 ms); rclone: the copy up ended. "start-up" (part of the total): ferry: until client B',
        'printed "connected to the server"; syncthing: until the two instances were connected; rclone: until serve webdav answered. RSS in MiB when B had everything (median).',
        '',
        mdTable(['files', 'tool', 'median s', 'min–max', 'rate', 'server has all, s', 'start-up, s', 'RSS at the end, MiB', 'runs ok'], rowsAll),
        '',
        'ferry ÷ peer, seconds until B has everything, per round and their median (above 1× = ferry slower):',
        '',
        mdTable(['files', 'peer', 'median ratio', 'per round'], ratioRowsAll),
        '',
      );
    }

    // ---- memory ----
    if (want.includes('memory')) {
      await waitQuiet();
      log(`serve memory: ${cfg.wsClients} registered clients on WebSockets`);
      try {
        const m = await memoryBench(path.join(WORK, 'memory'));
        results.memory = m;
        md.push(
          `#### Server memory: \`ferry serve\` with ${m.n} connected clients`,
          '',
          `${m.n} clients registered with POST /register (${ms(m.registerMs)} ms for all, one after another), then one WebSocket each (the \`ws\` package, in the harness; no client processes;`,
          `all ${m.n} got CLIENT_CONNECT in ${ms(m.connectMs)} ms; GET /clients then listed ${m.connectedCount} connected). Then ${m.uploads} uploads of 4 KiB over POST /upload, one after another`,
          `(${ms(m.uploadMs)} ms), each to be heard by every socket as FILE_CHANGED: ${m.heard}/${m.n} sockets heard all ${m.uploads} after ${ms(m.fanoutMs)} ms (fewest heard: ${m.minHeard}). VmRSS of the server process:`,
          '',
          mdTable(
            ['idle, no clients', `${m.n} registered`, `${m.n} connected (+5 s)`, `after ${m.uploads} uploads fanned out`, 'peak while connected', 'after the sockets closed (+3 s)', 'per connection'],
            [[`${mib(m.idle)} MiB`, `${mib(m.registered)} MiB`, `${mib(m.connected)} MiB`, `${mib(m.afterFanout)} MiB`, `${mib(m.peak)} MiB`, `${mib(m.afterClose)} MiB`, `${fmtNum((m.connected - m.registered) / m.n, 0)} KiB`]],
          ),
          '',
          'No peer figure: syncthing has no server (each instance holds the whole tree; see the RSS of the instances above), and rclone serve webdav keeps no connections open.',
          '',
        );
        if (m.heard < m.n) notes.push(`memory: only ${m.heard} of ${m.n} WebSockets heard all ${m.uploads} uploads within 30 s (fewest: ${m.minHeard})`);
      } catch (e) {
        notes.push(`memory: failed: ${e.message}`);
        md.push('#### Server memory', '', `failed: ${e.message}`, '');
      }
      fs.writeFileSync(jsonFile, JSON.stringify(results, null, 2));
    }

    // ---- many real clients ----
    if (want.includes('many')) {
      await waitQuiet();
      try {
        const m = await manyBench(path.join(WORK, 'many'));
        results.many = m;
        md.push(
          `#### ${m.n} real clients × ${m.per} files`,
          '',
          `${m.n} \`ferry client start\` processes, each with its own ${m.per} files of ${fmtBytes(cfg.size)} (${m.total} in all), started at once against one \`ferry serve\`; every client ends with all ${m.total}.`,
          '',
          mdTable(
            ['server has all, s', 'every client has all, s', 'a client has all: median s', 'clients complete', 'fewest files at a client', 'files fetched per client per s (median)', 'server sequence', 'connected at the end', 'server RSS peak / end', 'clients RSS: median each, peak sum', 'CPU s: server / all clients (wall s)'],
            [[
              sec(m.upSec),
              Number.isFinite(m.doneSec) ? sec(m.doneSec) : `not within ${cfg.manyTimeoutS} s`,
              sec(m.completeAtMedian),
              `${m.completeClients}/${m.n}`,
              `${m.minHave}/${m.total}`,
              fmtNum(m.fetchRate, 1),
              String(m.serverSeq),
              `${m.connected}/${m.n}`,
              `${mib(m.serverPeak)} / ${mib(m.serverEnd)} MiB`,
              `${mib(m.clientRssMedian)} MiB, ${fmtBytes(m.clientsPeakSum * 1024)}`,
              `${fmtNum(m.serverCpuSec, 1)} / ${fmtNum(m.clientsCpuSec, 1)} (${fmtNum(m.elapsedSec)})`,
            ]],
          ),
          '',
        );
        if (m.sizesOk) notes.push(`many: ${m.sizesOk}`);
        if (m.bytesOk) notes.push(`many: ${m.bytesOk}`);
        else if (m.compared) notes.push(`many: ${m.compared} copies compared with their author's file by sha256: all equal`);
        if (!Number.isFinite(m.doneSec)) {
          notes.push(
            `many: only ${m.completeClients}/${m.n} clients had all ${m.total} files after ${cfg.manyTimeoutS} s (${m.exited} client processes exited early); still missing then: ` +
              m.incomplete.map((x) => `${x.client} ${x.missing} (${x.first.slice(0, 4).join(', ')}${x.missing > 4 ? ' …' : ''})`).join('; ') +
              `; a moment later the fewest at a client was ${m.minHave}/${m.total}`,
          );
        }
        if (m.problemCount) notes.push(`many: ${m.problemCount} problem line(s) from the clients, e.g. ${m.problems.slice(0, 4).join(' | ')}`);
      } catch (e) {
        notes.push(`many: failed: ${e.message}`);
        md.push('#### Many real clients', '', `failed: ${e.message}`, '');
      }
      fs.writeFileSync(jsonFile, JSON.stringify(results, null, 2));
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    killAllFerry();
    killAllSyncthing();
    killAllRclone();
    rmrf(WORK);
  }
  results.notes = notes;
  fs.writeFileSync(jsonFile, JSON.stringify(results, null, 2));
  if (notes.length) md.push('Problems:', '', ...notes.map((n) => `- ${n}`), '');
  md.push(`Raw figures: ${path.relative(process.cwd(), jsonFile)}; logs: ${path.relative(process.cwd(), LOGS)}/.`, '');
  return md.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await snapshotFerry();
  console.log(await runServe(process.argv.slice(2)));
}
