// ferry watch, measured (issue 4): how long a change takes to reach the index, how fast a
// reconciliation walks and hashes against `find`, and what an idle watcher of 50,000 files costs.
//
//   node bench/run.mjs watch     (FERRY_BENCH_WATCH_RATE changes/s, default 1000, for
//                                 FERRY_BENCH_WATCH_SECONDS, default 5)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { corpusDir, ensureCorpus } from './corpus.mjs';
import { OUT_DIR, SNAPSHOT_DIR, ferryBin, fmtNum, log, mdTable, median, rmrf } from './lib.mjs';

const lib = () => import(path.join(SNAPSHOT_DIR, 'dist', 'index.js'));

function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** Writes `rate` new files a second for `seconds` into a watched root; latency = record's created_at − write time. */
async function latency(debounceMs, rate, seconds) {
  const { SqliteIndexStore, SyncManager } = await lib();
  const work = path.join(OUT_DIR, 'dst', `watch-latency-${debounceMs}`);
  rmrf(work);
  fs.mkdirSync(path.join(work, 'root'), { recursive: true });
  const store = SqliteIndexStore.open(path.join(work, 'index.db'));
  const m = new SyncManager(store, { debounceMs });
  await m.start();
  await m.addRoot('r', path.join(work, 'root'));
  const written = new Map();
  const total = rate * seconds;
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const name = `f${String(i).padStart(6, '0')}.jpg`;
    fs.writeFileSync(path.join(work, 'root', name), `change ${i}`);
    written.set(name, Date.now());
  }
  const achieved = total / ((performance.now() - started) / 1000);
  const deadline = Date.now() + 60_000;
  while ((await m.status('r')).totalFiles < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const records = await m.listFiles('r');
  await m.stop();
  await store.close();
  const lat = records.filter((r) => written.has(r.filePath)).map((r) => r.createdAt - written.get(r.filePath));
  rmrf(work);
  return { debounceMs, achieved, recorded: lat.length, total, p50: percentile(lat, 50), p99: percentile(lat, 99), max: Math.max(...lat) };
}

async function reconcileRate(corpus, hashes) {
  const { SqliteIndexStore, SyncManager } = await lib();
  const work = path.join(OUT_DIR, 'dst', 'watch-reconcile');
  rmrf(work);
  fs.mkdirSync(work, { recursive: true });
  const store = SqliteIndexStore.open(path.join(work, 'index.db'));
  const m = new SyncManager(store, { calculateHashes: hashes });
  let t = performance.now();
  await m.addRoot('r', corpus);
  const first = (performance.now() - t) / 1000;
  t = performance.now();
  await m.reconcile('r');
  const again = (performance.now() - t) / 1000;
  const files = (await m.status('r')).totalFiles;
  await store.close();
  rmrf(work);
  return { hashes, files, first, again };
}

function findTime(dir) {
  const t = performance.now();
  spawnSync('sh', ['-c', `find "$1" -printf '%s %T@\\n' > /dev/null`, 'sh', dir]);
  return (performance.now() - t) / 1000;
}

function procStat(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  const rss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  return { ticks, rssKiB: rss };
}

/** `ferry watch` on the corpus (after its startup sync), idle: CPU share and RSS over `seconds`. */
async function idle(corpus, seconds) {
  const work = path.join(OUT_DIR, 'dst', 'watch-idle');
  rmrf(work);
  fs.mkdirSync(work, { recursive: true });
  const child = spawn(process.execPath, [ferryBin, 'watch', corpus, '--db', path.join(work, 'index.db')], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (/^watching /m.test(out)) resolve();
    });
    child.on('exit', () => reject(new Error(`ferry watch exited early: ${out}`)));
  });
  await new Promise((r) => setTimeout(r, 2000));
  const a = procStat(child.pid);
  const t = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const b = procStat(child.pid);
  const wall = (performance.now() - t) / 1000;
  const hz = Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim()) || 100;
  child.kill('SIGINT');
  await new Promise((r) => child.on('exit', r));
  rmrf(work);
  return { cpuPercent: ((b.ticks - a.ticks) / hz / wall) * 100, rssMiB: b.rssKiB / 1024, seconds: wall };
}

export async function runWatch() {
  const rate = Number(process.env.FERRY_BENCH_WATCH_RATE ?? 1000);
  const seconds = Number(process.env.FERRY_BENCH_WATCH_SECONDS ?? 5);
  await ensureCorpus('small');
  const corpus = corpusDir('small');
  const out = ['### ferry watch', ''];

  log(`watch: latency at ${rate} changes/s for ${seconds} s`);
  const lats = [];
  for (const d of [500, 50]) lats.push(await latency(d, rate, seconds));
  out.push(
    `New files written at ${rate}/s for ${seconds} s into a watched root (SyncManager in the harness process, SQLite index, hashes on);`,
    'latency = the record\'s `created_at` − the time the file was written.',
    '',
    mdTable(['debounce', 'rate achieved', 'recorded', 'p50', 'p99', 'max'], lats.map((l) => [
      `${l.debounceMs} ms`, `${fmtNum(l.achieved)}/s`, `${l.recorded} of ${l.total}`, `${l.p50} ms`, `${l.p99} ms`, `${l.max} ms`,
    ])),
    '',
  );

  log('watch: reconciliation of the small corpus');
  const finds = [findTime(corpus), findTime(corpus), findTime(corpus)];
  const recs = [await reconcileRate(corpus, true), await reconcileRate(corpus, false)];
  const find = median(finds);
  out.push(
    `Reconciliation of the small corpus (${recs[0].files} files, 220 MiB): the first (every file new, so every file hashed with sha256) and`,
    `a second one with nothing changed, against \`find -printf '%s %T@'\` (${fmtNum(find, 3)} s, median of 3).`,
    '',
    mdTable(['what', 'seconds', 'files/s', '÷ find'], recs.flatMap((r) => [
      [`first reconciliation, hashes ${r.hashes ? 'on' : 'off'}`, fmtNum(r.first, 2), fmtNum(r.files / r.first), `${fmtNum(r.first / find, 1)}×`],
      [`again, nothing changed, hashes ${r.hashes ? 'on' : 'off'}`, fmtNum(r.again, 2), fmtNum(r.files / r.again), `${fmtNum(r.again / find, 1)}×`],
    ])),
    '',
  );

  log('watch: idle watcher of the small corpus');
  const i = await idle(corpus, 20);
  out.push(
    `\`ferry watch\` on the small corpus (500 directories, one inotify watch each), after its startup sync, idle for ${fmtNum(i.seconds)} s:`,
    `CPU ${fmtNum(i.cpuPercent, 2)} % of one core, RSS ${fmtNum(i.rssMiB)} MiB (the seed's own figures: < 2 % CPU, < 50 MB; 1–2k files/s scan).`,
    '',
  );
  return out.join('\n');
}
