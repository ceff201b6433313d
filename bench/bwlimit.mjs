// How closely `ferry copy --bwlimit` follows its limit, seen from outside the process: every 100 ms
// the harness reads the bytes ferry has written to storage (`write_bytes` in /proc/<pid>/io, which
// counts what leaves the page cache, so a burst into the cache that is flushed later shows up late
// rather than hidden), then reports the average over the measured span and every 1-second window.
//
//   node bench/run.mjs bwlimit          (20M for 36 s on the large corpus; FERRY_BENCH_BWLIMIT,
//                                        FERRY_BENCH_BWLIMIT_SECONDS to change them)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { corpusDir, ensureCorpus } from './corpus.mjs';
import { OUT_DIR, ferryBin, fmtNum, log, mdTable, rmrf } from './lib.mjs';

const MiB = 1024 * 1024;

function writeBytes(pid) {
  try {
    const m = /write_bytes:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export async function runBwlimit() {
  const rateText = process.env.FERRY_BENCH_BWLIMIT ?? '20M';
  const rate = Number.parseInt(rateText, 10) * MiB;
  const seconds = Number(process.env.FERRY_BENCH_BWLIMIT_SECONDS ?? 36);
  await ensureCorpus('large');
  const src = corpusDir('large');
  const work = path.join(OUT_DIR, 'dst', 'bwlimit');
  rmrf(work);
  fs.mkdirSync(work, { recursive: true });
  log(`bwlimit: ferry --bwlimit ${rateText} on ${src} for ${seconds} s`);
  const child = spawn(process.execPath, [ferryBin, 'copy', src, path.join(work, 'dst'), '--db', path.join(work, 'db'), '--bwlimit', rateText, '--no-progress', '--checksum', 'sha256'], { stdio: 'ignore' });
  const samples = [];
  const started = performance.now();
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const b = writeBytes(child.pid);
      if (b !== undefined) samples.push({ t: (performance.now() - started) / 1000, bytes: b });
      if (performance.now() - started > seconds * 1000) {
        clearInterval(timer);
        child.kill('SIGINT');
        resolve();
      }
    }, 100);
  });
  await new Promise((resolve) => child.once('exit', resolve));
  // Skip the first 3 s (start-up, scan, probe) and measure from there to the end.
  const from = samples.find((s) => s.t >= 3);
  const to = samples.at(-1);
  const average = (to.bytes - from.bytes) / (to.t - from.t);
  const windows = [];
  for (const s of samples) {
    if (s.t < from.t) continue;
    const end = samples.find((e) => e.t >= s.t + 1);
    if (!end) break;
    windows.push((end.bytes - s.bytes) / (end.t - s.t));
  }
  const worst = Math.max(...windows);
  const lowest = Math.min(...windows);
  const rows = [
    ['limit', `${fmtNum(rate / MiB, 1)} MiB/s`],
    ['measured span', `${fmtNum(to.t - from.t, 1)} s (${fmtNum((to.bytes - from.bytes) / MiB, 0)} MiB written)`],
    ['average', `${fmtNum(average / MiB, 2)} MiB/s (${fmtNum((average / rate - 1) * 100, 1)} % from the limit)`],
    ['highest 1-s window', `${fmtNum(worst / MiB, 2)} MiB/s (${fmtNum((worst / rate) * 100, 0)} % of the limit)`],
    ['lowest 1-s window', `${fmtNum(lowest / MiB, 2)} MiB/s (${fmtNum((lowest / rate) * 100, 0)} % of the limit)`],
    ['1-s windows above 110 %', `${windows.filter((w) => w > rate * 1.1).length} of ${windows.length}`],
  ];
  rmrf(work);
  return `### --bwlimit ${rateText}: bytes written to storage, sampled from /proc every 100 ms\n\n${mdTable(['', ''], rows)}\n`;
}
