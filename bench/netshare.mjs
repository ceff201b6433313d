// ferry copy between two network shares (issue 13 §1): the sshfs mounts of bench/netshare/setup.sh,
// each over a loopback shaped to 1 Gbit/s with tc tbf inside a network namespace.
//
//   node bench/run.mjs netshare [copy] [bwlimit] [faults]     (all three by default)
//
// copy: ferry, rsync -a, rsync -a --whole-file, rclone copy on the mounts, and rclone copy writing
// through its own sftp backend (inside the destination's namespace), alternated in one run on the
// large, mixed and small corpora, each run into a fresh destination directory.
// bwlimit: --bwlimit 20M of ferry, rsync and rclone measured on the link: the destination
// namespace's lo byte counter sampled every 100 ms; the average over the transfer and the highest
// one-second window, against the limit.
// faults: the source's sshd stopped (SIGSTOP) for 30 s then resumed, and the destination's sshfs
// killed mid-copy: what ferry says, whether any row it calls synced is not a whole copy, and
// whether the next run completes.
// Scales: FERRY_BENCH_NET_SCALE_LARGE (0.5: 4 × 256 MiB), _MIXED (0.25: ~512 MiB), _SMALL (0.2: 10,000 files).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ensureCorpus } from './corpus.mjs';
import { BENCH_DIR, OUT_DIR, compareTrees, ferryBin, fmtRatio, fmtSec, log, mdTable, median, rmrf, settings, sleep, timedRun } from './lib.mjs';

const NET = path.join(OUT_DIR, 'net');
const SRC = path.join(NET, 'src');
const DST = path.join(NET, 'dst');
const DST_BACKING = path.join(NET, 'dst-backing');
const KEY = path.join(NET, 'keys', 'user');
const scaleOf = (name, dflt) => Number(process.env[`FERRY_BENCH_NET_SCALE_${name.toUpperCase()}`] ?? dflt);
const SCALES = { large: scaleOf('large', 0.5), mixed: scaleOf('mixed', 0.25), small: scaleOf('small', 0.2) };
const MiB = 1048576;

function setup(mode) {
  execFileSync('bash', [path.join(BENCH_DIR, 'netshare', 'setup.sh'), mode], { stdio: ['ignore', 'inherit', 'inherit'] });
}
function teardown() {
  spawnSync('bash', [path.join(BENCH_DIR, 'netshare', 'teardown.sh')], { stdio: 'ignore' });
}
const namespaces = (mode) => (mode === 'separate' ? { src: 'ferrynet-src', dst: 'ferrynet-dst' } : { src: 'ferrynet', dst: 'ferrynet' });

// disable_hashcheck: without it rclone runs `md5sum` over a new ssh session for every file (3.5 minutes for 2,500 small files).
const sftp = (dir) => `:sftp,host=127.0.0.1,port=2222,user=root,key_file=${KEY},ciphers=aes128-gcm@openssh.com,disable_hashcheck=true:${dir}`;

function tools(mode) {
  const ns = namespaces(mode);
  return [
    { name: 'ferry', run: (src, dst, logBase) => ['node', [ferryBin, 'copy', src, dst, '--db', `${logBase}.db`, '--no-progress']] },
    { name: 'rsync -a', run: (src, dst) => ['rsync', ['-a', `${src}/`, `${dst}/`]] },
    { name: 'rsync -a --whole-file', run: (src, dst) => ['rsync', ['-a', '--whole-file', `${src}/`, `${dst}/`]] },
    { name: 'rclone copy (mounts)', run: (src, dst) => ['rclone', ['copy', src, dst, '--local-no-check-updated']] },
    {
      name: 'rclone copy (sftp backend)',
      run: (src, dst) => ['nsenter', [`--net=/run/netns/${ns.dst}`, 'rclone', 'copy', src, sftp(path.join(DST_BACKING, path.relative(DST, dst)))]],
    },
  ];
}

async function copyPart(mode) {
  const out = [];
  for (const name of ['large', 'mixed', 'small']) {
    const corpus = ensureCorpus(name, SCALES[name]);
    const src = path.join(SRC, path.basename(corpus.dir));
    const list = tools(mode);
    const walls = new Map(list.map((t) => [t.name, []]));
    const notes = [];
    for (let r = 0; r < settings.rounds; r++) {
      for (const t of list) {
        const rel = `${name}-${t.name.replace(/\W+/g, '_')}-r${r}`;
        const dst = path.join(DST, rel);
        rmrf(path.join(DST_BACKING, rel));
        const logBase = path.join(OUT_DIR, 'logs', 'netshare', `${mode}-${rel}`);
        rmrf(`${logBase}.db`);
        const [cmd, args] = t.run(src, dst, logBase);
        const res = await timedRun(cmd === 'node' ? process.execPath : cmd, args, { logBase });
        const differs = res.ok ? compareTrees(corpus.dir, path.join(DST_BACKING, rel)) : null;
        log(`netshare ${mode} ${name} r${r + 1} ${t.name}: ${fmtSec(res.wall)} s${res.ok ? '' : ` FAILED ${res.code} ${res.stderr.slice(0, 200)}`}${differs ? ` (${differs})` : ''}`);
        if (res.ok && !differs) walls.get(t.name).push(res.wall);
        else notes.push(`${t.name}, round ${r + 1}: ${res.ok ? differs : `exit ${res.code}: ${res.stderr.trim().split('\n')[0]}`}`);
        rmrf(path.join(DST_BACKING, rel));
      }
    }
    const rsync = median(walls.get('rsync -a'));
    const rclone = Math.min(median(walls.get('rclone copy (mounts)')), median(walls.get('rclone copy (sftp backend)')));
    const ferry = median(walls.get('ferry'));
    const rows = list.map((t) => {
      const m = median(walls.get(t.name));
      return [t.name, fmtSec(m), `${(corpus.bytes / MiB / m).toFixed(1)} MiB/s`, `${(corpus.files / m).toFixed(0)}`, fmtRatio(rsync / m), `${walls.get(t.name).length}/${settings.rounds}`];
    });
    out.push(`**${name}** (${corpus.describe}; ${corpus.files} files, ${(corpus.bytes / MiB).toFixed(0)} MiB), ${mode} links:\n\n` +
      mdTable(['tool', 'median s (with sync)', 'throughput', 'files/s', 'speed vs rsync -a', 'runs ok'], rows) +
      `\nferry ÷ rsync -a throughput: ${fmtRatio(rsync / ferry)}; ferry vs the faster rclone: ${fmtRatio(rclone / ferry)}.\n` +
      (notes.length ? `${notes.map((n) => `- ${n}`).join('\n')}\n` : ''));
  }
  return out.join('\n');
}

/** Samples a namespace's lo tx_bytes every 100 ms until stopped: [{ t (ms), bytes }]. */
function sampleLink(ns) {
  const samples = [];
  const t0 = performance.now();
  const child = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', 'while :; do cat /sys/class/net/lo/statistics/tx_bytes; sleep 0.1; done'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop();
    for (const l of lines) if (l.trim()) samples.push({ t: performance.now() - t0, bytes: Number(l) });
  });
  return { samples, stop: () => child.kill('SIGKILL') };
}

/** Average over the transfer (first to last sample that moved) and the highest one-second window. */
function linkRates(samples) {
  const moving = samples.filter((s, i) => i > 0 && s.bytes - samples[i - 1].bytes > 64 * 1024);
  if (moving.length < 2) return { avg: 0, peak: 0 };
  const first = samples[samples.indexOf(moving[0]) - 1];
  const last = moving[moving.length - 1];
  const avg = ((last.bytes - first.bytes) * 1000) / (last.t - first.t);
  let peak = 0;
  for (let i = 0, j = 0; i < samples.length; i++) {
    while (j < samples.length && samples[j].t - samples[i].t < 1000) j++;
    if (j >= samples.length) break;
    if (samples[i].t < first.t || samples[j].t > last.t) continue;
    peak = Math.max(peak, ((samples[j].bytes - samples[i].bytes) * 1000) / (samples[j].t - samples[i].t));
  }
  return { avg, peak };
}

async function bwlimitPart(mode) {
  const corpus = ensureCorpus('mixed', SCALES.mixed);
  const src = path.join(SRC, path.basename(corpus.dir));
  const limit = 20 * MiB;
  const list = [
    { name: 'ferry --bwlimit 20M', run: (dst, logBase) => [process.execPath, [ferryBin, 'copy', src, dst, '--db', `${logBase}.db`, '--bwlimit', '20M', '--no-progress']] },
    { name: 'rsync -a --bwlimit=20480', run: (dst) => ['rsync', ['-a', '--bwlimit=20480', `${src}/`, `${dst}/`]] },
    { name: 'rclone copy --bwlimit 20M', run: (dst) => ['rclone', ['copy', src, dst, '--bwlimit', '20M']] },
  ];
  const rows = [];
  for (const t of list) {
    const rel = `bw-${t.name.split(' ')[0]}`;
    rmrf(path.join(DST_BACKING, rel));
    const logBase = path.join(OUT_DIR, 'logs', 'netshare', `${mode}-${rel}`);
    rmrf(`${logBase}.db`);
    const probe = sampleLink(namespaces(mode).dst);
    await sleep(300);
    const [cmd, args] = t.run(path.join(DST, rel), logBase);
    const res = await timedRun(cmd, args, { logBase });
    await sleep(300);
    probe.stop();
    const { avg, peak } = linkRates(probe.samples);
    log(`netshare bwlimit ${t.name}: avg ${(avg / MiB).toFixed(2)} MiB/s, peak 1-s ${(peak / MiB).toFixed(2)} MiB/s${res.ok ? '' : ` FAILED ${res.code}`}`);
    rows.push([t.name, `${(avg / MiB).toFixed(2)} MiB/s`, `${((avg / limit - 1) * 100).toFixed(1)} %`, `${(peak / MiB).toFixed(2)} MiB/s`, `${((peak / limit) * 100).toFixed(0)} %`, res.ok ? 'ok' : `exit ${res.code}`]);
    rmrf(path.join(DST_BACKING, rel));
  }
  return `**--bwlimit 20M on the link** (the destination namespace's lo tx_bytes every 100 ms; mixed corpus, ${(corpus.bytes / MiB).toFixed(0)} MiB; the link also carries sftp's own framing and replies), ${mode} links:\n\n` +
    mdTable(['tool', 'average on the link', 'vs the limit', 'highest 1-s window', 'of the limit', 'run'], rows);
}

/** Rows the database calls synced whose copy is not the source's bytes (0 is the only good answer). */
function wrongSynced(db, srcDir, dstDir) {
  const d = new Database(db, { readonly: true });
  const rows = d.prepare(`SELECT rel FROM files WHERE kind = 'file' AND status = 'synced'`).all();
  const counts = d.prepare('SELECT status, count(*) AS n FROM files GROUP BY status').all();
  d.close();
  let wrong = 0;
  for (const { rel } of rows) {
    try {
      if (!fs.readFileSync(path.join(srcDir, rel)).equals(fs.readFileSync(path.join(dstDir, rel)))) wrong++;
    } catch {
      wrong++;
    }
  }
  return { wrong, synced: rows.length, counts: counts.map((c) => `${c.status} ${c.n}`).join(', ') };
}

function pidsIn(ns, name) {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name;
    } catch {
      return false;
    }
  });
}

async function faultsPart(mode) {
  const corpus = ensureCorpus('mixed', SCALES.mixed);
  const src = path.join(SRC, path.basename(corpus.dir));
  const ns = namespaces(mode);
  const lines = [];
  const run = (rel, db, extra = []) => spawn(process.execPath, [ferryBin, 'copy', src, path.join(DST, rel), '--db', db, '--no-progress', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (child) => new Promise((resolve) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });

  // 1. The source stalls: its sshd stopped for 30 s, then resumed.
  {
    const rel = 'fault-stall';
    rmrf(path.join(DST_BACKING, rel));
    const db = path.join(OUT_DIR, 'logs', 'netshare', `${rel}.db`);
    rmrf(db);
    const child = run(rel, db, ['--bwlimit', '20M']);
    const done = collect(child);
    await sleep(5000);
    const sshd = pidsIn(ns.src, 'sshd');
    for (const pid of sshd) process.kill(pid, 'SIGSTOP');
    const t0 = performance.now();
    await sleep(30_000);
    for (const pid of sshd) process.kill(pid, 'SIGCONT');
    const r = await done;
    const check = wrongSynced(db, corpus.dir, path.join(DST_BACKING, rel));
    const differs = compareTrees(corpus.dir, path.join(DST_BACKING, rel));
    lines.push(`- **Source stalls** (its sshd SIGSTOPped for 30 s at 5 s, then SIGCONT): ferry exit ${r.code} after ${((performance.now() - t0) / 1000 + 5).toFixed(0)} s, ` +
      `${r.err.trim() ? `said \`${r.err.trim().split('\n').slice(-2).join(' / ')}\`` : 'said nothing on stderr'}; database: ${check.counts}; rows synced but not whole copies: ${check.wrong}; tree ${differs ? `differs (${differs})` : 'complete'}.`);
    rmrf(path.join(DST_BACKING, rel));
  }

  // 2. The destination drops: its sshfs killed mid-copy; then mounted again and the same command run.
  {
    const rel = 'fault-drop';
    rmrf(path.join(DST_BACKING, rel));
    const db = path.join(OUT_DIR, 'logs', 'netshare', `${rel}.db`);
    rmrf(db);
    const child = run(rel, db, ['--bwlimit', '40M']);
    const done = collect(child);
    await sleep(5000);
    const sshfs = spawnSync('pgrep', ['-f', `sshfs root@127.0.0.1:${DST_BACKING}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
    for (const pid of sshfs) process.kill(pid, 'SIGKILL');
    const r = await done;
    const first = wrongSynced(db, corpus.dir, path.join(DST_BACKING, rel));
    // Mount it again (the whole set-up: the namespaces and the source mount are reused by the next parts).
    teardown();
    setup(mode);
    const again = await collect(run(rel, db));
    const second = wrongSynced(db, corpus.dir, path.join(DST_BACKING, rel));
    const differs = compareTrees(corpus.dir, path.join(DST_BACKING, rel));
    lines.push(`- **Destination drops** (its sshfs killed with SIGKILL at 5 s): ferry exit ${r.code}, said \`${r.err.trim().split('\n').join(' / ')}\`; database: ${first.counts}; rows synced but not whole copies: ${first.wrong}. ` +
      `After mounting again, the same command: exit ${again.code}${again.err.trim() ? ` (\`${again.err.trim().split('\n')[0]}\`)` : ''}; database: ${second.counts}; wrong rows: ${second.wrong}; tree ${differs ? `differs (${differs})` : 'complete'}.`);
    rmrf(path.join(DST_BACKING, rel));
  }
  return `**Faults** (${mode} links, mixed corpus):\n\n${lines.join('\n')}\n`;
}

export async function runNetshare(parts) {
  const want = parts.length ? parts : ['copy', 'bwlimit', 'faults'];
  const modes = (process.env.FERRY_BENCH_NET_MODES ?? 'separate,shared').split(',');
  const out = ['### Network shares: sshfs over a loopback shaped to 1 Gbit/s (bench/netshare/setup.sh)\n'];
  try {
    for (const mode of modes) {
      setup(mode);
      if (want.includes('copy')) out.push(await copyPart(mode));
      if (want.includes('bwlimit')) out.push(await bwlimitPart(mode));
      if (want.includes('faults') && mode === modes[0]) out.push(await faultsPart(mode));
      teardown();
    }
  } finally {
    teardown();
  }
  return out.join('\n');
}
