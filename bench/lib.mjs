// Shared helpers for ferry's benchmark harness: paths, settings from the environment, timed child
// processes with peak RSS, statistics and markdown tables. Plain ESM, no build step.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.dirname(BENCH_DIR);
export const OUT_DIR = path.join(BENCH_DIR, 'out');
export const FERRY_BIN = path.join(ROOT, 'bin', 'ferry.js');
export const TIME_BIN = '/usr/bin/time';

/** Settings, all from the environment so `npm run bench` needs no flags. */
export const settings = {
  /** Corpus size factor: 1 = full size (large 4 × 512 MiB, mixed ~2 GiB, small 50,000 files). */
  scale: envNumber('FERRY_BENCH_SCALE', 1),
  /** Rounds of the A B C D … alternation in the copy benchmark (at least 3 makes sense). */
  rounds: Math.max(1, Math.round(envNumber('FERRY_BENCH_ROUNDS', 3))),
  /** Rounds of the hash benchmark. */
  hashRounds: Math.max(1, Math.round(envNumber('FERRY_BENCH_HASH_ROUNDS', 3))),
  /** MiB hashed per measurement (fed in 5 MiB blocks). */
  hashMiB: Math.max(5, Math.round(envNumber('FERRY_BENCH_HASH_MIB', 1024))),
  /** Rotate the order each round (round r starts with tool r) instead of the same A B C D order. */
  rotate: process.env.FERRY_BENCH_ROTATE === '1',
  /** Seconds to wait after deleting destinations and `sync`, before a round starts. */
  settle: envNumber('FERRY_BENCH_SETTLE', 15),
  /** Before each run, wait up to this many seconds for the other processes on the machine to go quiet. */
  quietWait: envNumber('FERRY_BENCH_QUIET_WAIT', 10),
  /** A single run slower than this (seconds) is killed and recorded as failed. */
  timeout: envNumber('FERRY_BENCH_TIMEOUT', 1200),
};

function envNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, not "${raw}"`);
  return n;
}

export function scaleTag(scale = settings.scale) {
  return String(scale);
}

export function log(...parts) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${parts.join(' ')}\n`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** First line of `cmd args` (stdout, else stderr), or null when the command does not run. */
export function versionOf(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return null;
  const text = (r.stdout || r.stderr || '').trim();
  return text.split('\n')[0] ?? null;
}

export function rsyncHasFsync() {
  const r = spawnSync('rsync', ['--help'], { encoding: 'utf8' });
  return !r.error && /--fsync\b/.test(r.stdout ?? '');
}

/** `sync`, then wait `seconds` so background writeback and ext4 discards settle. */
export async function settle(seconds = settings.settle) {
  spawnSync('sync');
  if (seconds > 0) await sleep(seconds * 1000);
}

export function rmrf(p) {
  fs.rmSync(p, { recursive: true, force: true });
}

/** Re-read every file under `dir` into the page cache (warm-cache runs; see BENCHMARKING.md). */
export function warmTree(dir) {
  const r = spawnSync('sh', ['-c', 'find "$1" -type f -print0 | xargs -0 -r cat > /dev/null', 'sh', dir]);
  if (r.status !== 0) throw new Error(`warming ${dir} failed: ${r.stderr}`);
}

export function warmFile(file) {
  spawnSync('sh', ['-c', 'cat "$1" > /dev/null', 'sh', file]);
}

/**
 * Runs `cmd args` under GNU time (peak RSS in KiB), then `sync`. Wall time covers `cmd && sync`.
 * stdout/stderr go to files under `logBase` (.out/.err) unless `onStdoutLine` wants the lines
 * (they are then timestamped as they arrive, milliseconds since spawn).
 */
export async function timedRun(cmd, args, { logBase, env, onStdoutLine, syncAfter = true, stdoutToNull = false } = {}) {
  fs.mkdirSync(path.dirname(logBase), { recursive: true });
  const rssFile = `${logBase}.time`;
  const errFd = fs.openSync(`${logBase}.err`, 'w');
  const outFd = onStdoutLine ? 'pipe' : fs.openSync(stdoutToNull ? '/dev/null' : `${logBase}.out`, 'w');
  const t0 = process.hrtime.bigint();
  const cpu0 = cpuBusySeconds();
  const child = spawn(TIME_BIN, ['-f', '%M %U %S', '-o', rssFile, cmd, ...args], {
    stdio: ['ignore', outFd, errFd],
    env: { ...process.env, ...env },
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, settings.timeout * 1000);
  if (onStdoutLine) {
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      const at = Number(process.hrtime.bigint() - t0) / 1e6;
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        onStdoutLine(pending.slice(0, nl), at);
        pending = pending.slice(nl + 1);
      }
    });
  }
  const code = await new Promise((resolve) => child.on('close', (c, sig) => resolve(c ?? sig)));
  clearTimeout(timer);
  const t1 = process.hrtime.bigint();
  if (syncAfter) spawnSync('sync');
  const t2 = process.hrtime.bigint();
  const cpu1 = cpuBusySeconds();
  fs.closeSync(errFd);
  if (typeof outFd === 'number') fs.closeSync(outFd);
  let rssKiB = null;
  let cpuSelf = null;
  try {
    const lines = fs.readFileSync(rssFile, 'utf8').trim().split('\n');
    const [m, u, sy] = lines[lines.length - 1].split(' ').map(Number);
    if (Number.isFinite(m)) rssKiB = m;
    if (Number.isFinite(u) && Number.isFinite(sy)) cpuSelf = u + sy;
  } catch {
    /* time did not write its file (killed) */
  }
  const wallSec = Number(t2 - t0) / 1e9;
  // CPU time the whole machine spent during the run beyond the tool's own: other people's load
  const foreignCores = cpuSelf === null ? null : Math.max(0, cpu1 - cpu0 - cpuSelf) / wallSec;
  const stderr = readTail(`${logBase}.err`);
  return {
    ok: code === 0 && !timedOut,
    code: timedOut ? 'timeout' : code,
    wall: wallSec,
    tool: Number(t1 - t0) / 1e9,
    cpuSelf,
    foreignCores,
    sync: Number(t2 - t1) / 1e9,
    rssKiB,
    stderr,
  };
}

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat. */
export function cpuBusySeconds() {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] ?? 0);
    return busy / 100; // USER_HZ
  } catch {
    return 0;
  }
}

/**
 * Waits (up to settings.quietWait seconds) until the machine's busy CPU over one second is below
 * `threshold` cores, so other people's builds and tests disturb a run less. Returns the last sample.
 */
export async function waitQuiet(threshold = 0.3) {
  const deadline = Date.now() + settings.quietWait * 1000;
  let busy;
  do {
    const a = cpuBusySeconds();
    await sleep(1000);
    busy = cpuBusySeconds() - a;
    if (busy < threshold) return busy;
  } while (Date.now() < deadline);
  return busy;
}

export function readTail(file, max = 2000) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.length > max ? text.slice(-max) : text;
  } catch {
    return '';
  }
}

/** Files, directories and bytes under `dir` (synchronous lstat walk). */
export function treeStats(dir) {
  let files = 0;
  let dirs = 0;
  let bytes = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop();
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) {
        dirs++;
        stack.push(p);
      } else if (ent.isFile()) {
        files++;
        bytes += fs.lstatSync(p).size;
      }
    }
  }
  return { files, dirs, bytes };
}

/** Byte-for-byte comparison of every file under `src` with its twin under `dst`; first difference or null. */
export function compareTrees(src, dst) {
  const a = Buffer.allocUnsafe(8 << 20);
  const b = Buffer.allocUnsafe(8 << 20);
  const stack = [''];
  while (stack.length) {
    const rel = stack.pop();
    for (const ent of fs.readdirSync(path.join(src, rel), { withFileTypes: true })) {
      const r = path.join(rel, ent.name);
      if (ent.isDirectory()) {
        stack.push(r);
        continue;
      }
      if (!ent.isFile()) continue;
      let fa;
      let fb;
      try {
        fa = fs.openSync(path.join(src, r), 'r');
        fb = fs.openSync(path.join(dst, r), 'r');
      } catch (e) {
        if (fa !== undefined) fs.closeSync(fa);
        return `${r}: ${e.code ?? e.message}`;
      }
      try {
        for (;;) {
          const na = fs.readSync(fa, a, 0, a.length, null);
          const nb = fs.readSync(fb, b, 0, b.length, null);
          if (na !== nb || a.compare(b, 0, nb, 0, na) !== 0) return `${r}: content differs`;
          if (na === 0) break;
        }
      } finally {
        fs.closeSync(fa);
        fs.closeSync(fb);
      }
    }
  }
  return null;
}

// ---------- statistics and formatting ----------

export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((p, q) => p - q);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

export const min = (xs) => Math.min(...xs.filter(Number.isFinite));
export const max = (xs) => Math.max(...xs.filter(Number.isFinite));

export function fmtSec(s) {
  if (!Number.isFinite(s)) return 'n/a';
  if (s < 1) return s.toFixed(3);
  if (s < 10) return s.toFixed(2);
  return s.toFixed(1);
}

export function fmtNum(x, digits = 0) {
  return Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

export function fmtRatio(x) {
  return Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a';
}

export function fmtMiB(kib) {
  return Number.isFinite(kib) ? `${(kib / 1024).toFixed(0)} MiB` : 'n/a';
}

export function fmtBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function mdTable(header, rows) {
  const esc = (c) => String(c).replace(/\|/g, '\\|');
  const lines = [`| ${header.map(esc).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.map(esc).join(' | ')} |`);
  return lines.join('\n');
}

/** A short description of this machine and the tools, for the top of a results file. */
export function machineInfo() {
  const cpu = os.cpus();
  const lines = [
    `- date: ${new Date().toISOString()}`,
    `- cpu: ${cpu.length} × ${cpu[0]?.model ?? '?'} (nproc ${versionOf('nproc', []) ?? '?'})`,
    `- memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- kernel: ${os.release()}`,
    `- node: ${process.version}`,
  ];
  const df = spawnSync('df', ['-h', '--output=source,fstype,size,avail', OUT_DIR], { encoding: 'utf8' });
  if (df.status === 0) lines.push(`- disk (bench/out): ${df.stdout.trim().split('\n').pop().replace(/\s+/g, ' ')}`);
  const mount = spawnSync('sh', ['-c', `findmnt -no OPTIONS --target "${OUT_DIR}"`], { encoding: 'utf8' });
  if (mount.status === 0) lines.push(`- mount options: ${mount.stdout.trim()}`);
  return lines.join('\n');
}

export function toolVersions(tools) {
  return tools
    .map(([name, cmd, args]) => `- ${name}: ${which(cmd) ? (versionOf(cmd, args) ?? '?') : 'not installed'}`)
    .join('\n');
}

// ---------- a private copy of the built ferry ----------

/**
 * Other people rebuild dist/ while benchmarks run (scripts/build.mjs deletes it first), so the
 * harness runs ferry from a snapshot: bin/, dist/, build/Release/*.node and package.json copied to
 * bench/out/ferry-snapshot (node_modules resolve from /work/main as before). Waits for a dist/
 * whose newest file is a few seconds old, then smoke-tests the copy.
 */
export const SNAPSHOT_DIR = path.join(OUT_DIR, 'ferry-snapshot');
export let ferryBin = FERRY_BIN;
export let ferryIndex = path.join(ROOT, 'dist', 'index.js');
export let snapshotInfo = null;

/** The Node flags on bin/ferry.js's shebang line (what `npx ferry` runs with), to run it as `node <flags> bin`. */
export function ferryNodeFlags() {
  const first = fs.readFileSync(ferryBin, 'utf8').split('\n', 1)[0];
  const words = first.replace(/^#!\S*env\s+(-S\s+)?/, '').split(/\s+/).filter(Boolean);
  return words.slice(1).filter((w) => w.startsWith('--'));
}

function newestMtime(dir) {
  let newest = 0;
  let count = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop();
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) stack.push(p);
      else {
        count++;
        newest = Math.max(newest, fs.statSync(p).mtimeMs);
      }
    }
  }
  return { newest, count };
}

export async function snapshotFerry() {
  const dist = path.join(ROOT, 'dist');
  let builtMs;
  for (let attempt = 0; ; attempt++) {
    if (attempt > 60) throw new Error('dist/ never became stable (is a build failing?); run `npm run build`');
    let before;
    try {
      if (!fs.existsSync(path.join(dist, 'index.js')) || !fs.existsSync(path.join(dist, 'cli', 'main.js'))) throw new Error('incomplete');
      before = newestMtime(dist);
    } catch {
      await sleep(2000);
      continue;
    }
    if (Date.now() - before.newest < 3000) {
      await sleep(2000);
      continue;
    }
    rmrf(SNAPSHOT_DIR);
    fs.mkdirSync(SNAPSHOT_DIR, { recursive: true });
    try {
      fs.cpSync(path.join(ROOT, 'bin'), path.join(SNAPSHOT_DIR, 'bin'), { recursive: true });
      fs.cpSync(dist, path.join(SNAPSHOT_DIR, 'dist'), { recursive: true });
      fs.cpSync(path.join(ROOT, 'package.json'), path.join(SNAPSHOT_DIR, 'package.json'));
      const rel = path.join(ROOT, 'build', 'Release');
      if (fs.existsSync(rel)) {
        fs.mkdirSync(path.join(SNAPSHOT_DIR, 'build', 'Release'), { recursive: true });
        for (const f of fs.readdirSync(rel)) if (f.endsWith('.node')) fs.cpSync(path.join(rel, f), path.join(SNAPSHOT_DIR, 'build', 'Release', f));
      }
    } catch {
      await sleep(2000);
      continue;
    }
    const after = fs.existsSync(dist) ? newestMtime(dist) : null;
    if (!after || after.newest !== before.newest || after.count !== before.count) continue; // rebuilt meanwhile
    builtMs = before.newest;
    break;
  }
  ferryBin = path.join(SNAPSHOT_DIR, 'bin', 'ferry.js');
  ferryIndex = path.join(SNAPSHOT_DIR, 'dist', 'index.js');
  const smoke = spawnSync(process.execPath, [ferryBin, 'copy', '--help'], { encoding: 'utf8' });
  if (smoke.status !== 0) throw new Error(`the ferry snapshot does not start: ${smoke.stderr}`);
  const head = spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout?.trim() || '?';
  const dirty = spawnSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).stdout?.trim() || '';
  const built = new Date(builtMs).toISOString();
  const native = fs.existsSync(path.join(SNAPSHOT_DIR, 'build', 'Release', 'ferry_native.node'));
  snapshotInfo = `ferry: dist/ built ${built} at commit ${head}${dirty ? ` (uncommitted changes in src/: ${dirty.split('\n').length} file(s))` : ''}; native helper ${native ? 'built' : 'missing'}; run from a private copy in bench/out/ferry-snapshot`;
  log(snapshotInfo);
  return snapshotInfo;
}
