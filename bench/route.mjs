// ferry route, measured (issue 5): a first `sync-once` of a corpus (walk, classify by magic bytes,
// BLAKE3 every file, deliver every file to one directory-backed drive, syncfs) against `cp -a` and
// `rsync -a` of the same tree onto the same disk, then a no-op `sync-once`, and `explain` of one file.
// Rounds alternate ferry, cp, rsync; each writes into a fresh destination; timed span = tool && sync.
//
//   node bench/run.mjs route [small|mixed ...]     (default: small, mixed)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureCorpus } from './corpus.mjs';
import { OUT_DIR, ferryBin, sleep, fmtMiB, fmtRatio, fmtSec, log, mdTable, median, rmrf, settings, settle, timedRun, treeStats, waitQuiet, warmTree } from './lib.mjs';

const DST = path.join(OUT_DIR, 'dst', 'route');
const LOGS = path.join(OUT_DIR, 'logs', 'route');

/** A fresh configuration whose one drive (a directory) takes `other` and every built-in category. */
async function world(src, round) {
  const dir = path.join(DST, `ferry-${round}`);
  rmrf(dir);
  fs.mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'route.toml');
  // One rule sends every file to `other`: every file is classified, hashed and delivered to the one drive.
  fs.writeFileSync(config, `source = ${JSON.stringify(src)}\ndatabase = "route.db"\n\n[[rule]]\ncategory = "other"\nmime = ["*/*"]\n`);
  const drive = path.join(dir, 'drive');
  fs.mkdirSync(drive);
  const r = await timedRun(process.execPath, [ferryBin, 'route', 'register-drive', '--label', 'bench', '--category', 'other', '--path', drive, '--config', config], {
    logBase: path.join(LOGS, `register-${round}`),
    syncAfter: false,
  });
  if (!r.ok) throw new Error(`register-drive failed: ${r.stderr}`);
  return { config, drive };
}

async function rounds(corpus) {
  const src = ensureCorpus(corpus).dir;
  const stats = treeStats(src);
  const rows = { ferry: [], cp: [], rsync: [], noop: [] };
  for (let round = 0; round < settings.rounds; round++) {
    for (const tool of ['ferry', 'cp', 'rsync']) {
      rmrf(DST);
      fs.mkdirSync(DST, { recursive: true });
      await settle();
      warmTree(src);
      await waitQuiet();
      const logBase = path.join(LOGS, `${corpus}-${tool}-${round}`);
      let r;
      if (tool === 'ferry') {
        const { config, drive } = await world(src, round);
        warmTree(src);
        r = await timedRun(process.execPath, [ferryBin, 'route', 'sync-once', '--config', config], { logBase });
        const copied = treeStats(drive);
        if (copied.files - 1 !== stats.files) throw new Error(`ferry route delivered ${copied.files - 1} of ${stats.files} files`);
        const noop = await timedRun(process.execPath, [ferryBin, 'route', 'sync-once', '--config', config], { logBase: `${logBase}-noop` });
        rows.noop.push(noop);
      } else if (tool === 'cp') {
        r = await timedRun('cp', ['-a', src, path.join(DST, 'cp')], { logBase });
      } else {
        r = await timedRun('rsync', ['-a', `${src}/`, `${path.join(DST, 'rsync')}/`], { logBase });
      }
      if (!r.ok) throw new Error(`${tool} failed (${r.code}): ${r.stderr}`);
      rows[tool].push(r);
      log(`route ${corpus} round ${round + 1} ${tool}: ${fmtSec(r.wall)}`);
    }
  }
  rmrf(DST);
  return { corpus, stats, rows };
}

/**
 * RSS (MiB) and CPU (% of one core) of an idle `ferry route run` on a routed corpus, sampled every
 * second for `seconds`, 15 s after its start's work ended (the I/O threads go after 5 s idle):
 * `first` = the run that delivered the whole corpus; otherwise a restart with everything delivered.
 */
export async function idle(corpus, first, seconds = 20) {
  const src = ensureCorpus(corpus).dir;
  rmrf(DST);
  fs.mkdirSync(DST, { recursive: true });
  const { config } = await world(src, 'idle');
  if (!first) await timedRun(process.execPath, [ferryBin, 'route', 'sync-once', '--config', config], { logBase: path.join(LOGS, 'idle-first'), syncAfter: false });
  const child = spawn(process.execPath, [ferryBin, 'route', 'run', '--json', '--config', config], { stdio: ['ignore', 'pipe', 'ignore'] });
  let text = '';
  child.stdout.on('data', (d) => (text += d));
  // The start's work is done: everything delivered (first), or the scan found nothing new (a restart).
  while (!text.includes(first ? '"type":"drive.done"' : '"type":"drive.online"')) await sleep(200);
  await sleep(15_000);
  const ticks = () => fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ').slice(11, 13).reduce((a, b) => a + Number(b), 0);
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024;
  const t0 = ticks();
  const samples = [];
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    samples.push(rss());
  }
  const cpu = ((ticks() - t0) / 100 / seconds) * 100;
  child.kill('SIGINT');
  await new Promise((r) => child.on('close', r));
  rmrf(DST);
  return { min: Math.min(...samples), max: Math.max(...samples), cpu };
}

export async function runRoute(corpora = ['small', 'mixed']) {
  const out = ['### ferry route: first delivery and no-op, against cp and rsync', ''];
  const table = [];
  for (const corpus of corpora) {
    const { stats, rows } = await rounds(corpus);
    const wall = (k) => median(rows[k].map((r) => r.wall));
    const rss = (k) => Math.max(...rows[k].map((r) => r.rssKiB ?? 0));
    const f = wall('ferry');
    table.push([
      `${corpus} (${stats.files} files, ${fmtMiB(stats.bytes / 1024)})`,
      fmtSec(f), fmtSec(wall('cp')), fmtSec(wall('rsync')), fmtRatio(f / wall('cp')), fmtRatio(f / wall('rsync')),
      `${Math.round(stats.files / f)}`, fmtSec(wall('noop')), fmtMiB(rss('ferry')),
    ]);
  }
  out.push(mdTable(['corpus', 'ferry route sync-once', 'cp -a', 'rsync -a', '× cp', '× rsync', 'files/s (classified, hashed, delivered)', 'no-op sync-once', 'peak RSS'], table));
  const a = await idle('small', true);
  const b = await idle('small', false);
  out.push('', `Idle \`ferry route run\` on the small corpus (the source watched, the mount table read every 2 s), sampled each second for 20 s from 15 s after its start's work: after delivering all 50,000 files itself, RSS ${a.min.toFixed(0)}–${a.max.toFixed(0)} MiB, CPU ${a.cpu.toFixed(2)} % of one core; restarted with everything delivered, RSS ${b.min.toFixed(0)}–${b.max.toFixed(0)} MiB, CPU ${b.cpu.toFixed(2)} %.`);
  out.push('', `Medians of ${settings.rounds} rounds; each run into a fresh destination on the same disk, source in the page cache, timed span = tool && sync. ferry's drive is a directory taking every category (one rule, \`mime = ["*/*"]\`), so every file is classified, hashed (BLAKE3) and delivered.`, '');
  return out.join('\n');
}
