// Copy benchmark: ferry against cp -a, rsync -a (and rsync -a --fsync), rclone copy --transfers 4 on
// one corpus. Tools alternate A B C D A B C D … for FERRY_BENCH_ROUNDS rounds; every run writes
// into a fresh empty destination on the same disk; the source is re-read into the page cache just
// before each run (warm cache); the timed span is `tool && sync`, so every tool's data is on disk
// when the clock stops (ferry fdatasyncs each file itself). Peak RSS comes from GNU time (%M).
// On the small corpus it also times a no-op re-run and compares ferry's scan with `find -printf`.
//
//   node bench/copy.mjs [large|mixed|small ...]
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CORPUS_NAMES, ensureCorpus } from './corpus.mjs';
import {
  OUT_DIR,
  compareTrees,
  fmtBytes,
  fmtMiB,
  fmtRatio,
  fmtSec,
  ferryBin,
  ferryNodeFlags,
  log,
  max,
  mdTable,
  median,
  min,
  rmrf,
  rsyncHasFsync,
  settings,
  settle,
  snapshotFerry,
  timedRun,
  treeStats,
  waitQuiet,
  warmTree,
  which,
} from './lib.mjs';

const DST_ROOT = path.join(OUT_DIR, 'dst');
const BASELINE = process.env.FERRY_BENCH_BASELINE;
const LOG_ROOT = path.join(OUT_DIR, 'logs');

/** The contenders for one corpus. `argv(src, dst, db)` gives the command line. */
function toolsFor(corpus) {
  const ferry = (checksum) => ({
    name: `ferry --checksum ${checksum}`,
    slug: `ferry-${checksum}`,
    ferry: true,
    cmd: process.execPath,
    argv: (src, dst, db) => [...ferryNodeFlags(), ferryBin, 'copy', src, dst, '--db', db, '--checksum', checksum, '--no-progress'],
  });
  const tools = [ferry('sha256')];
  // FERRY_BENCH_BASELINE=/path/to/another/ferry/bin/ferry.js: an earlier build in the same run (before/after).
  if (BASELINE) {
    tools.push({
      name: 'ferry (baseline) --checksum sha256',
      slug: 'ferry-baseline',
      ferry: true,
      cmd: process.execPath,
      argv: (src, dst, db) => [BASELINE, 'copy', src, dst, '--db', db, '--checksum', 'sha256', '--no-progress'],
    });
  }
  if (corpus === 'large') tools.push(ferry('none'));
  tools.push({ name: 'cp -a', slug: 'cp', cmd: 'cp', argv: (src, dst) => ['-a', src, dst] });
  tools.push({ name: 'rsync -a', slug: 'rsync', cmd: 'rsync', argv: (src, dst) => ['-a', `${src}/`, `${dst}/`] });
  if (rsyncHasFsync()) {
    tools.push({ name: 'rsync -a --fsync', slug: 'rsync-fsync', cmd: 'rsync', argv: (src, dst) => ['-a', '--fsync', `${src}/`, `${dst}/`] });
  }
  if (which('rclone')) {
    tools.push({
      name: 'rclone copy --transfers 4',
      slug: 'rclone',
      cmd: 'rclone',
      argv: (src, dst) => ['copy', '--config', '', '--transfers', '4', src, dst],
    });
  }
  return tools;
}

/** How a command line reads in the report: paths shortened to SRC, DST and DB. */
function shown(tool) {
  const args = tool.argv('SRC', 'DST', 'DB').map((a) => (a === '' ? '""' : a));
  const cmd = tool.ferry ? 'node bin/ferry.js' : tool.cmd;
  return [cmd, ...(tool.ferry ? args.slice(1) : args)].join(' ');
}

function freeBytes(dir) {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
}

/** Per-run record → summary row pieces. */
function summarize(runs) {
  const ok = runs.filter((r) => r.ok);
  const wall = ok.map((r) => r.wall);
  const tool = ok.map((r) => r.tool);
  const rss = ok.map((r) => r.rssKiB);
  const foreign = ok.map((r) => r.foreignCores);
  return { wall, tool, rss, foreign, n: ok.length, failed: runs.length - ok.length };
}

function ratioRows(tools, results, rounds) {
  const rows = [];
  for (const f of tools.filter((t) => t.ferry)) {
    for (const p of tools.filter((t) => !t.ferry)) {
      const per = [];
      for (let r = 0; r < rounds; r++) {
        const a = results[f.slug][r];
        const b = results[p.slug][r];
        if (a?.ok && b?.ok) per.push(a.wall / b.wall);
      }
      rows.push([f.name, p.name, fmtRatio(median(per)), per.map((x) => x.toFixed(2)).join(', ') || 'n/a']);
    }
  }
  return rows;
}

export async function runCopy(corpusName) {
  const corpus = ensureCorpus(corpusName);
  const src = corpus.dir;
  const tools = toolsFor(corpusName);
  const rounds = settings.rounds;
  const dstBase = path.join(DST_ROOT, corpusName);
  const logBase = path.join(LOG_ROOT, `copy-${corpusName}`);
  const notes = [];

  // Leftovers from earlier benchmarks go first, then the disk settles (BENCHMARKING.md: deletes
  // on this ext4-with-discard disk slow the next file creations for a while).
  log(`copy ${corpusName}: removing old destinations under ${DST_ROOT}`);
  rmrf(DST_ROOT);
  rmrf(logBase);
  fs.mkdirSync(dstBase, { recursive: true });
  // Keep every destination until the end when that fits easily (no deletes between rounds at all);
  // otherwise delete the previous round's before each round, then sync and wait.
  const need = (corpus.bytes + corpus.files * 4096) * 1.1 * tools.length * rounds;
  const keepAll = need < 0.25 * freeBytes(OUT_DIR);
  log(
    `copy ${corpusName}: ${corpus.files} files, ${fmtBytes(corpus.bytes)}; ${tools.length} tools × ${rounds} rounds; ` +
      `${keepAll ? 'every run gets its own new directory, all removed at the end' : 'previous round deleted before each round'}`,
  );
  await settle();

  const results = Object.fromEntries(tools.map((t) => [t.slug, []]));
  for (let r = 0; r < rounds; r++) {
    if (!keepAll && r > 0) {
      log(`round ${r + 1}: deleting round ${r}'s destinations, sync, wait ${settings.settle} s`);
      for (const t of tools) {
        rmrf(path.join(dstBase, `${t.slug}-r${r}`));
        rmrf(path.join(dstBase, `${t.slug}-r${r}.db`));
        rmrf(path.join(dstBase, `${t.slug}-r${r}.db.log`));
      }
      await settle();
    }
    const order = settings.rotate ? [...tools.slice(r % tools.length), ...tools.slice(0, r % tools.length)] : tools;
    for (const t of order) {
      const dst = path.join(dstBase, `${t.slug}-r${r + 1}`);
      const db = `${dst}.db`;
      await waitQuiet();
      warmTree(src);
      const argv = t.argv(src, dst, db);
      const res = await timedRun(t.cmd, argv, { logBase: path.join(logBase, `${t.slug}-r${r + 1}`) });
      res.command = [t.cmd, ...argv].join(' ');
      if (res.ok) {
        const got = fs.existsSync(dst) ? treeStats(dst) : { files: 0, bytes: 0 };
        if (got.files !== corpus.files || got.bytes !== corpus.bytes) {
          res.ok = false;
          res.code = `incomplete copy: ${got.files}/${corpus.files} files, ${got.bytes}/${corpus.bytes} bytes`;
        } else if (t.ferry && r === 0) {
          const diff = compareTrees(src, dst);
          if (diff) {
            res.ok = false;
            res.code = `content check failed: ${diff}`;
          }
        }
      }
      if (!res.ok) notes.push(`round ${r + 1}, ${t.name} failed (${res.code}): \`${res.command}\`\n  stderr: ${res.stderr.trim().slice(-600) || '(empty)'}`);
      results[t.slug].push(res);
      log(
        `${corpusName} round ${r + 1}/${rounds} ${t.name}: ${res.ok ? `${fmtSec(res.wall)} s (tool ${fmtSec(res.tool)} + sync ${fmtSec(res.sync)}), RSS ${fmtMiB(res.rssKiB)}` : `FAILED ${res.code}`}`,
      );
    }
  }

  const rows = tools.map((t) => {
    const s = summarize(results[t.slug]);
    return [
      t.name,
      s.n ? fmtSec(median(s.wall)) : 'failed',
      s.n ? `${fmtSec(min(s.wall))}–${fmtSec(max(s.wall))}` : '',
      s.n ? fmtSec(median(s.tool)) : '',
      s.n ? `${fmtMiB(median(s.rss))} (max ${fmtMiB(max(s.rss))})` : '',
      s.n ? `${median(s.foreign).toFixed(2)} (max ${max(s.foreign).toFixed(2)})` : '',
      s.failed ? `${s.n}/${s.n + s.failed}` : `${s.n}`,
    ];
  });
  const md = [
    `### Copy: ${corpusName} corpus (${corpus.files} files, ${corpus.dirs} dirs, ${fmtBytes(corpus.bytes)}; scale ${corpus.scale})`,
    '',
    `${corpus.describe}. ${rounds} rounds of ${tools.map((t) => t.name).join(' → ')}${settings.rotate ? ' (order rotated by one each round)' : ''}; warm cache; each run into a new empty`,
    `directory; ${keepAll ? 'all destinations kept until the end (no deletes between runs)' : 'the previous round\'s destinations deleted, then `sync` and a ' + settings.settle + ' s wait, before each round'}.`,
    'Seconds for `tool && sync`; "tool alone" is the same run before the `sync`. "Other load": CPU the rest of the',
    'machine used during the run (all busy CPU time minus the tool\'s own user+sys, per second of wall time; 2 cores in all).',
    '',
    mdTable(['tool', 'median s (with sync)', 'min–max', 'tool alone, median s', 'peak RSS, median (max)', 'other load, cores: median (max)', 'runs ok'], rows),
    '',
    'ferry ÷ peer, wall time with sync, per round and their median (above 1× = ferry slower):',
    '',
    mdTable(['ferry', 'peer', 'median ratio', 'per round'], ratioRows(tools, results, rounds)),
    '',
    'Commands: ' + tools.map((t) => `\`${shown(t)}\``).join(' · '),
    '',
  ];
  if (corpusName === 'small') md.push(await runNoop(corpus, notes));
  if (notes.length) md.push('Problems:', '', ...notes.map((n) => `- ${n}`), '');
  return md.join('\n');
}

/**
 * No-op re-run (nothing changed since the first copy) of ferry (same db, --rescan) against rsync -a
 * and rclone copy, and the source scan: `find SRC -printf '%s %T@\n' > /dev/null` against the time
 * from ferry's `run.start` event to its `scan.progress` {side: source, done: true} event (read from
 * --json as the lines arrive) in the same no-op runs.
 */
async function runNoop(corpus, notes) {
  const src = corpus.dir;
  const base = path.join(DST_ROOT, 'noop');
  const logBase = path.join(LOG_ROOT, 'noop');
  rmrf(base);
  rmrf(logBase);
  fs.mkdirSync(base, { recursive: true });
  const fdst = path.join(base, 'ferry');
  const db = path.join(base, 'ferry.db');
  const ferryArgs = [...ferryNodeFlags(), ferryBin, 'copy', src, fdst, '--db', db, '--checksum', 'sha256', '--no-progress'];
  const peers = [
    ...(BASELINE
      ? [{ name: 'ferry (baseline)', cmd: process.execPath, argv: [BASELINE, 'copy', src, path.join(base, 'baseline'), '--db', path.join(base, 'baseline.db'), '--checksum', 'sha256', '--no-progress', '--rescan'] }]
      : []),
    { name: 'rsync -a', cmd: 'rsync', argv: ['-a', `${src}/`, `${path.join(base, 'rsync')}/`] },
    ...(which('rclone')
      ? [{ name: 'rclone copy --transfers 4', cmd: 'rclone', argv: ['copy', '--config', '', '--transfers', '4', src, path.join(base, 'rclone')] }]
      : []),
  ];
  log('no-op: first copies (not timed)');
  const first = await timedRun(process.execPath, ferryArgs, { logBase: path.join(logBase, 'ferry-first') });
  if (!first.ok) notes.push(`no-op set-up: ferry's first copy failed (${first.code}): \`${[process.execPath, ...ferryArgs].join(' ')}\`: ${first.stderr.trim()}`);
  for (const p of peers) await timedRun(p.cmd, p.argv, { logBase: path.join(logBase, `${p.cmd}-first`) });
  await settle();

  const rounds = Math.max(settings.rounds, 5);
  const res = { ferry: [], find: [], scanSrc: [], scanDst: [], ...Object.fromEntries(peers.map((p) => [p.name, []])) };
  for (let r = 0; r < rounds; r++) {
    await waitQuiet();
    warmTree(src);
    const events = {};
    let copied = null;
    const argv = [...ferryArgs, '--rescan', '--json'];
    const fr = await timedRun(process.execPath, argv, {
      logBase: path.join(logBase, `ferry-r${r + 1}`),
      onStdoutLine: (line, at) => {
        let e;
        try {
          e = JSON.parse(line);
        } catch {
          return;
        }
        if (e.type === 'run.start') events.start = at;
        if (e.type === 'scan.progress' && e.done) events[e.side] = at;
        if (e.type === 'run.end') copied = e.summary?.filesCopied ?? null;
      },
    });
    if (!fr.ok) notes.push(`no-op round ${r + 1}: ferry failed (${fr.code}): \`${[process.execPath, ...argv].join(' ')}\`: ${fr.stderr.trim()}`);
    if (copied) notes.push(`no-op round ${r + 1}: ferry copied ${copied} file(s) although nothing had changed.`);
    res.ferry.push(fr);
    if (events.start !== undefined && events.source !== undefined) res.scanSrc.push((events.source - events.start) / 1000);
    if (events.start !== undefined && events.destination !== undefined) res.scanDst.push((events.destination - events.start) / 1000);
    for (const p of peers) {
      const pr = await timedRun(p.cmd, p.argv, { logBase: path.join(logBase, `${p.cmd}-r${r + 1}`) });
      if (!pr.ok) notes.push(`no-op round ${r + 1}: ${p.name} failed (${pr.code}): ${pr.stderr.trim()}`);
      res[p.name].push(pr);
    }
    const fi = await timedRun('find', [src, '-printf', '%s %T@\\n'], {
      logBase: path.join(logBase, `find-r${r + 1}`),
      syncAfter: false,
      stdoutToNull: true,
    });
    res.find.push(fi);
    log(
      `no-op round ${r + 1}/${rounds}: ferry ${fmtSec(fr.wall)} s (source scan ${fmtSec(res.scanSrc.at(-1))} s), ` +
        peers.map((p) => `${p.name} ${fmtSec(res[p.name].at(-1).wall)} s`).join(', ') +
        `, find ${fmtSec(fi.tool)} s`,
    );
  }

  const row = (name, runs) => {
    const s = summarize(runs);
    return [name, fmtSec(median(s.wall)), `${fmtSec(min(s.wall))}–${fmtSec(max(s.wall))}`, `${fmtMiB(median(s.rss))}`, median(s.foreign).toFixed(2)];
  };
  const pairRatio = (a, b, key = 'wall') => {
    const per = [];
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i]?.ok && b[i]?.ok) per.push(a[i][key] / b[i][key]);
    return { med: median(per), per };
  };
  const scanPer = res.scanSrc.map((s, i) => (res.find[i]?.ok ? s / res.find[i].tool : NaN)).filter(Number.isFinite);
  const findT = res.find.filter((x) => x.ok).map((x) => x.tool);
  return [
    `### No-op re-run: small corpus (${corpus.files} files, nothing changed), ${rounds} rounds`,
    '',
    'ferry: second run with the same db and `--rescan --json`; rsync and rclone: the same command again into the',
    'tree they made. Warm cache; seconds for `tool && sync`.',
    '',
    mdTable(['tool', 'median s', 'min–max', 'peak RSS', 'other load, cores (median)'], [row('ferry --rescan (same db)', res.ferry), ...peers.map((p) => row(`${p.name} (again)`, res[p.name]))]),
    '',
    mdTable(
      ['ferry', 'peer', 'median ratio', 'per round'],
      peers.map((p) => {
        const q = pairRatio(res.ferry, res[p.name]);
        return ['ferry no-op', p.name, fmtRatio(q.med), q.per.map((x) => x.toFixed(2)).join(', ')];
      }),
    ),
    '',
    `### Scan rate: small corpus (${corpus.files} files, ${corpus.dirs} dirs)`,
    '',
    "`find SRC -printf '%s %T@\\n' > /dev/null` against ferry's source scan inside the no-op runs above (time from its",
    '`run.start` event to `scan.progress` with `side: source, done: true`, taken as the --json lines arrive; ferry scans',
    'the destination at the same time).',
    '',
    mdTable(
      ['what', 'median s', 'min–max', 'files/s (median)'],
      [
        ["find -printf '%s %T@'", fmtSec(median(findT)), `${fmtSec(min(findT))}–${fmtSec(max(findT))}`, String(Math.round(corpus.files / median(findT)))],
        ['ferry source scan', fmtSec(median(res.scanSrc)), `${fmtSec(min(res.scanSrc))}–${fmtSec(max(res.scanSrc))}`, String(Math.round(corpus.files / median(res.scanSrc)))],
        ['ferry destination scan (concurrent)', fmtSec(median(res.scanDst)), `${fmtSec(min(res.scanDst))}–${fmtSec(max(res.scanDst))}`, String(Math.round(corpus.files / median(res.scanDst)))],
      ],
    ),
    '',
    `ferry source scan ÷ find, per round: ${scanPer.map((x) => x.toFixed(1)).join(', ') || 'n/a'}; median ${fmtRatio(median(scanPer))} (above 1× = ferry slower).`,
    '',
  ].join('\n');
}

export function cleanupDestinations() {
  rmrf(DST_ROOT);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await snapshotFerry();
  const names = process.argv.slice(2);
  for (const n of names.length ? names : CORPUS_NAMES) console.log(await runCopy(n));
  cleanupDestinations();
}
