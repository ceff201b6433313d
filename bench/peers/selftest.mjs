// Self-test of the benchmark peers (syncthing pair, rclone webdav server + copies): checks that each
// starts, syncs and stops cleanly here, and prints two small measurements per peer:
//   (a) propagation: one small new file written in A until it is complete on disk in B,
//       FERRY_PEERS_CHANGES (20) changes at 1 change/s: p50 / p99 / max;
//   (b) initial sync of FERRY_PEERS_FILES (2,000) files of FERRY_PEERS_SIZE (4 KiB) random bytes, A→B.
// Everything runs in a fresh temp dir (os.tmpdir(), or FERRY_PEERS_TMP) that is removed at the end;
// every process started is stopped, also on error or Ctrl-C. Warm cache (files just written).
//
//   node bench/peers/selftest.mjs                 both peers
//   node bench/peers/selftest.mjs syncthing       one of: syncthing, rclone
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compareTrees } from '../lib.mjs';
import { makeSmallFiles, median, now, percentile, sleep, waitForFile, waitForFiles } from './measure.mjs';
import { checkSyncthing, killAllSyncthing, startPair } from './syncthing.mjs';
import { checkRclone, killAllRclone, rcloneCopy, rcloneCopyFrom, startWebdav } from './rclone-webdav.mjs';

const CHANGES = Number(process.env.FERRY_PEERS_CHANGES ?? 20);
const FILES = Number(process.env.FERRY_PEERS_FILES ?? 2000);
const SIZE = Number(process.env.FERRY_PEERS_SIZE ?? 4096);
const which = process.argv.slice(2);
const want = (name) => which.length === 0 || which.includes(name);
for (const w of which) {
  if (!['syncthing', 'rclone'].includes(w)) {
    console.error('usage: node bench/peers/selftest.mjs [syncthing] [rclone]');
    process.exit(2);
  }
}

const tmp = fs.mkdtempSync(path.join(process.env.FERRY_PEERS_TMP ?? os.tmpdir(), 'ferry-peers-'));
function cleanupSync() {
  killAllSyncthing();
  killAllRclone();
  fs.rmSync(tmp, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    cleanupSync();
    process.exit(130);
  });
}

const ms = (x) => (Number.isFinite(x) ? `${Math.round(x)} ms` : 'n/a');
const sec = (x) => (Number.isFinite(x) ? `${(x / 1000).toFixed(2)} s` : 'n/a');
const out = (line = '') => process.stdout.write(`${line}\n`);
const log = (...p) => process.stderr.write(`[peers ${new Date().toISOString().slice(11, 19)}] ${p.join(' ')}\n`);

function fresh(name) {
  const d = path.join(tmp, name);
  fs.rmSync(d, { recursive: true, force: true });
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/** A new small file of its own content (64 bytes), as a Buffer. */
function change(i) {
  return Buffer.concat([Buffer.from(`change ${i} `), randomBytes(48)]).subarray(0, 64);
}

/**
 * `CHANGES` new files written into `dirA` at 1/s, each awaited in `dirB` (content equal);
 * `afterWrite(i)` runs after each write (rclone: the copies), awaited before the next tick.
 * Change i is written at a random point of second i (not on the dot): syncthing's watcher
 * aggregates on a 1 s timer, and writes exactly 1.000 s apart lock onto its phase (measured: every
 * latency 698–706 ms), which hides the spread a real user sees.
 */
async function propagation(dirA, dirB, { afterWrite, timeoutMs = 30_000 } = {}) {
  const lat = [];
  const waits = [];
  const t0 = now();
  let late = 0;
  for (let i = 0; i < CHANGES; i++) {
    const due = t0 + i * 1000 + Math.random() * 900;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
    else if (i > 0) late++;
    const name = `p-${String(i).padStart(3, '0')}.txt`;
    const data = change(i);
    const arrived = waitForFile(path.join(dirB, name), data, timeoutMs);
    const written = now();
    fs.writeFileSync(path.join(dirA, name), data);
    waits.push(arrived.then((at) => lat.push(at - written)));
    if (afterWrite) await afterWrite(i);
  }
  await Promise.all(waits);
  return { lat, p50: percentile(lat, 50), p99: percentile(lat, 99), max: Math.max(...lat), late };
}

async function selftestSyncthing() {
  const chk = checkSyncthing();
  out('### syncthing');
  out();
  if (!chk.ok) {
    out(`skipped: ${chk.hint}`);
    return;
  }
  out(`- version: ${chk.version}`);

  // (a) propagation of single small files
  let pair;
  try {
    const A = fresh('st-a');
    const B = fresh('st-b');
    log('syncthing: starting a pair (empty folder)');
    pair = await startPair({ dirA: A, dirB: B, homeBase: fresh('st-homes') });
    const t = pair.timings;
    out(`- start (empty folder): config ${ms(t.configuredMs)}, REST up ${ms(t.restUpMs)}, connected ${ms(t.connectedMs)}, idle ${ms(t.idleMs)} after spawn`);
    log(`syncthing: propagation, ${CHANGES} changes at 1/s`);
    const p = await propagation(A, B);
    out(`- (a) propagation, ${p.lat.length} new 64-byte files at 1/s, written in A until complete in B: p50 ${ms(p.p50)}, p99 ${ms(p.p99)}, min ${ms(Math.min(...p.lat))}, max ${ms(p.max)} (fsWatcherDelayS=1)`);
    await pair.waitIdle({ expectFiles: CHANGES });

    // (b2) bulk: FILES written into A while the pair runs, until all are in B
    log(`syncthing: ${FILES} files written into a running pair`);
    const tb = now();
    const files = makeSmallFiles(path.join(A, 'bulk'), FILES, SIZE);
    const written = now();
    const done = await waitForFiles(path.join(B, 'bulk'), files, 120_000);
    await pair.waitIdle({ expectFiles: CHANGES + FILES, timeoutMs: 60_000 });
    const diff = compareTrees(A, B);
    if (diff) throw new Error(`syncthing: A and B differ: ${diff}`);
    const u = pair.usage();
    out(`- (b′) ${FILES} files of ${SIZE} B written into A while running (writing took ${ms(written - tb)}): all in B ${sec(done - tb)} after the first write; trees equal`);
    out(`- RSS after that: A ${Math.round(u.a.rssKiB / 1024)} MiB, B ${Math.round(u.b.rssKiB / 1024)} MiB; CPU so far A ${u.a.cpuSec.toFixed(1)} s, B ${u.b.cpuSec.toFixed(1)} s`);
  } finally {
    await pair?.stop();
    pair = null;
  }

  // (b) initial sync: FILES already in A when the pair starts, B empty
  try {
    const A = fresh('st-init-a');
    const B = fresh('st-init-b');
    const files = makeSmallFiles(A, FILES, SIZE);
    spawnSync('sync');
    await sleep(2000);
    log(`syncthing: initial sync of ${FILES} files`);
    const t0 = now();
    pair = await startPair({ dirA: A, dirB: B, homeBase: fresh('st-init-homes'), idle: false });
    const connected = now() - t0;
    const done = await waitForFiles(B, files, 120_000);
    await pair.waitIdle({ expectFiles: FILES, timeoutMs: 60_000 });
    const idleAt = now();
    const diff = compareTrees(A, B);
    if (diff) throw new Error(`syncthing: A and B differ: ${diff}`);
    out(`- (b) initial sync, ${FILES} files of ${SIZE} B in A at start, B empty: all in B ${sec(done - t0)} after spawning both (connected at ${sec(connected)}; both idle at ${sec(idleAt - t0)}); trees equal`);
  } finally {
    await pair?.stop();
  }
  out();
}

async function selftestRclone() {
  const chk = checkRclone();
  out('### rclone webdav (serve webdav + copy up from A + copy down into B)');
  out();
  if (!chk.ok) {
    out(`skipped: ${chk.hint}`);
    return;
  }
  out(`- version: ${chk.version}`);
  let srv;
  try {
    const A = fresh('rc-a');
    const B = fresh('rc-b');
    srv = await startWebdav({ dir: fresh('rc-srv'), logFile: path.join(tmp, 'rc-serve.log') });
    out(`- serve webdav answered after ${ms(srv.startMs)} (${srv.url})`);
    log(`rclone: propagation, ${CHANGES} changes at 1/s`);
    const ups = [];
    const downs = [];
    const p = await propagation(A, B, {
      afterWrite: async () => {
        ups.push((await rcloneCopy(A, srv.url)).wallMs);
        downs.push((await rcloneCopyFrom(srv.url, B)).wallMs);
      },
    });
    out(`- (a) propagation, ${p.lat.length} new 64-byte files at 1/s, each followed at once by \`rclone copy A → webdav\` then \`rclone copy webdav → B\`: p50 ${ms(p.p50)}, p99 ${ms(p.p99)}, max ${ms(p.max)} (copy up median ${ms(median(ups))}, down ${ms(median(downs))}; a poller would add its interval)${p.late ? `; ${p.late} ticks late` : ''}`);

    // (b) initial sync: FILES in A, server and B empty
    const A2 = fresh('rc-init-a');
    const B2 = fresh('rc-init-b');
    await srv.stop();
    srv = await startWebdav({ dir: fresh('rc-init-srv'), logFile: path.join(tmp, 'rc-serve.log') });
    const files = makeSmallFiles(A2, FILES, SIZE);
    spawnSync('sync');
    await sleep(2000);
    log(`rclone: initial sync of ${FILES} files`);
    const t0 = now();
    const up = await rcloneCopy(A2, srv.url);
    const down = await rcloneCopyFrom(srv.url, B2);
    const total = now() - t0;
    await waitForFiles(B2, files, 5000);
    const diff = compareTrees(A2, B2);
    if (diff) throw new Error(`rclone: A and B differ: ${diff}`);
    const noopT = now();
    await rcloneCopy(A2, srv.url);
    await rcloneCopyFrom(srv.url, B2);
    const noop = now() - noopT;
    const u = srv.usage();
    out(`- (b) initial sync, ${FILES} files of ${SIZE} B, A → server → B (default --transfers 4; the 1.60 webdav client paces calls ≥ 10 ms apart, see rclone-webdav.mjs): ${sec(total)} (up ${sec(up.wallMs)}, down ${sec(down.wallMs)}); trees equal; a no-op re-run of both ${sec(noop)}`);
    out(`- serve webdav RSS after that: ${Math.round(u.rssKiB / 1024)} MiB, CPU so far ${u.cpuSec.toFixed(1)} s`);
  } finally {
    await srv?.stop();
  }
  out();
}

let failed = false;
try {
  out(`## peers self-test, ${new Date().toISOString()} (${os.cpus().length} cores, node ${process.version}, temp ${tmp}, warm cache)`);
  out();
  if (want('syncthing')) await selftestSyncthing();
  if (want('rclone')) await selftestRclone();
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  cleanupSync();
}
process.exitCode = failed ? 1 : 0;
