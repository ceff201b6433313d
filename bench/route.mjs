// ferry route, measured (issue 5): a first `sync-once` of a corpus (walk, classify by magic bytes,
// BLAKE3 every file, deliver every file to one directory-backed drive, syncfs) against `cp -a` and
// `rsync -a` of the same tree onto the same disk, then a no-op `sync-once`, and `explain` of one file.
// Rounds alternate ferry, cp, rsync; each writes into a fresh destination; timed span = tool && sync.
//
//   node bench/run.mjs route [small|mixed ...]     (default: small, mixed)
import fs from 'node:fs';
import path from 'node:path';
import { ensureCorpus } from './corpus.mjs';
import { OUT_DIR, ferryBin, fmtMiB, fmtRatio, fmtSec, log, mdTable, median, rmrf, settings, settle, timedRun, treeStats, waitQuiet, warmTree } from './lib.mjs';

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
  out.push('', `Medians of ${settings.rounds} rounds; each run into a fresh destination on the same disk, source in the page cache, timed span = tool && sync. ferry's drive is a directory taking every category (one rule, \`mime = ["*/*"]\`), so every file is classified, hashed (BLAKE3) and delivered.`, '');
  return out.join('\n');
}
