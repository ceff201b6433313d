// Hash throughput: every algorithm in ferry's ALGORITHMS, fed 1 GiB from memory in 5 MiB blocks
// (as the copy pipeline does), next to the native command-line tools hashing the same bytes from a
// file in bench/out that is re-read into the page cache before each tool run. Rounds alternate
// ferry and the tools; ratios are taken round by round.
//
//   node bench/hash.mjs        (FERRY_BENCH_HASH_MIB, FERRY_BENCH_HASH_ROUNDS)
import { createCipheriv, createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  OUT_DIR,
  ferryIndex,
  fmtMiB,
  fmtNum,
  fmtRatio,
  log,
  max,
  mdTable,
  median,
  min,
  readTail,
  settings,
  snapshotFerry,
  timedRun,
  cpuBusySeconds,
  waitQuiet,
  warmFile,
  which,
} from './lib.mjs';

const MiB = 1024 * 1024;
const BLOCK = 5 * MiB;

/** Native tools per ferry algorithm: [label, command, args before the file]. */
const NATIVE = {
  md5: [
    ['openssl dgst -md5', 'openssl', ['dgst', '-md5']],
    ['md5sum', 'md5sum', []],
  ],
  sha1: [
    ['openssl dgst -sha1', 'openssl', ['dgst', '-sha1']],
    ['sha1sum', 'sha1sum', []],
  ],
  sha256: [
    ['openssl dgst -sha256', 'openssl', ['dgst', '-sha256']],
    ['sha256sum', 'sha256sum', []],
  ],
  blake2b: [
    ['openssl dgst -blake2b512', 'openssl', ['dgst', '-blake2b512']],
    ['b2sum', 'b2sum', []],
  ],
  blake3: [
    ['b3sum (default threads)', 'b3sum', []],
    ['b3sum --num-threads 1', 'b3sum', ['--num-threads', '1']],
  ],
  xxh3: [['xxhsum -H3', 'xxhsum', ['-H3']]],
};

function makeData(bytes) {
  const key = createHash('sha256').update('ferry-bench:hash').digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const data = Buffer.allocUnsafe(bytes);
  const zeros = Buffer.alloc(64 * MiB);
  for (let o = 0; o < bytes; o += zeros.length) {
    const n = Math.min(zeros.length, bytes - o);
    cipher.update(zeros.subarray(0, n)).copy(data, o);
  }
  return data;
}

function ferryHash(createHasher, algo, data) {
  const busy0 = cpuBusySeconds();
  const own0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const h = createHasher(algo);
  for (let o = 0; o < data.length; o += BLOCK) h.update(data.subarray(o, Math.min(o + BLOCK, data.length)));
  const digest = h.digest();
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  const own = process.cpuUsage(own0);
  const foreignCores = Math.max(0, cpuBusySeconds() - busy0 - (own.user + own.system) / 1e6) / sec;
  return { sec, digest, foreignCores };
}

function lastHex(text) {
  const m = text.match(/[0-9a-f]{16,}/gi);
  return m ? m[m.length - 1].toLowerCase() : null;
}

export async function runHash() {
  const { createHasher, ALGORITHMS } = await import(pathToFileURL(ferryIndex).href);
  const bytes = settings.hashMiB * MiB;
  const mb = bytes / 1e6;
  log(`hash: ${settings.hashMiB} MiB in ${BLOCK / MiB} MiB blocks, ${settings.hashRounds} rounds, algorithms ${ALGORITHMS.join(', ')}`);
  const data = makeData(bytes);
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const file = path.join(OUT_DIR, `hash-${settings.hashMiB}m.bin`);
  if (!fs.existsSync(file) || fs.statSync(file).size !== bytes) fs.writeFileSync(file, data);
  const logDir = path.join(OUT_DIR, 'logs', 'hash');

  const notes = [];
  const tools = {};
  for (const algo of ALGORITHMS) {
    tools[algo] = (NATIVE[algo] ?? []).filter(([label, cmd]) => {
      if (which(cmd)) return true;
      notes.push(`${label}: not installed, skipped.`);
      return false;
    });
  }
  for (const a of Object.keys(NATIVE)) if (!ALGORITHMS.includes(a)) notes.push(`ferry has no ${a}; its native tools were not run.`);

  // warm-up: JIT and library loading, 64 MiB per algorithm, not measured
  for (const algo of ALGORITHMS) ferryHash(createHasher, algo, data.subarray(0, Math.min(bytes, 64 * MiB)));

  const ferry = Object.fromEntries(ALGORITHMS.map((a) => [a, { mbps: [], digest: null }]));
  const foreign = [];
  const native = Object.fromEntries(ALGORITHMS.map((a) => [a, tools[a].map(([label]) => ({ label, mbps: [], rss: [], digests: new Set(), fails: [] }))]));

  for (let r = 0; r < settings.hashRounds; r++) {
    for (const algo of ALGORITHMS) {
      await waitQuiet();
      const f = ferryHash(createHasher, algo, data);
      foreign.push(f.foreignCores);
      ferry[algo].mbps.push(mb / f.sec);
      ferry[algo].digest = f.digest;
      log(`round ${r + 1} ${algo}: ferry ${fmtNum(mb / f.sec)} MB/s`);
      for (const [i, [label, cmd, args]] of tools[algo].entries()) {
        await waitQuiet();
        warmFile(file);
        const res = await timedRun(cmd, [...args, file], {
          logBase: path.join(logDir, `${algo}-${i}-r${r + 1}`),
          syncAfter: false,
        });
        const slot = native[algo][i];
        if (!res.ok) {
          slot.fails.push(`round ${r + 1}: exit ${res.code}: ${res.stderr.trim()}`);
          continue;
        }
        slot.mbps.push(mb / res.tool);
        slot.rss.push(res.rssKiB);
        foreign.push(res.foreignCores);
        slot.digests.add(lastHex(readTail(path.join(logDir, `${algo}-${i}-r${r + 1}.out`))));
        log(`round ${r + 1} ${algo}: ${label} ${fmtNum(mb / res.tool)} MB/s`);
      }
    }
  }

  const rowsFerry = [];
  const rowsNative = [];
  for (const algo of ALGORITHMS) {
    const fm = ferry[algo].mbps;
    let best = null;
    for (const n of native[algo]) if (n.mbps.length && (!best || median(n.mbps) > median(best.mbps))) best = n;
    const perRound = best ? fm.map((x, i) => x / best.mbps[i]).filter(Number.isFinite) : [];
    rowsFerry.push([
      algo,
      fmtNum(median(fm)),
      `${fmtNum(min(fm))}–${fmtNum(max(fm))}`,
      best ? `${best.label} (${fmtNum(median(best.mbps))})` : 'none installed',
      best ? fmtRatio(median(perRound)) : 'n/a',
    ]);
    for (const n of native[algo]) {
      const digest = [...n.digests];
      const match = digest.length === 1 && digest[0] === ferry[algo].digest;
      rowsNative.push([
        algo,
        n.label,
        n.mbps.length ? fmtNum(median(n.mbps)) : 'failed',
        n.mbps.length ? `${fmtNum(min(n.mbps))}–${fmtNum(max(n.mbps))}` : '',
        fmtMiB(median(n.rss)),
        match ? 'yes' : `NO (${digest.join(', ')} vs ferry ${ferry[algo].digest})`,
      ]);
      for (const f of n.fails) notes.push(`${n.label}: ${f}`);
      if (!match) notes.push(`${n.label}: digest differs from ferry's ${algo} digest of the same bytes.`);
    }
  }

  const md = [
    `### Hash throughput (${settings.hashMiB} MiB, ${settings.hashRounds} rounds)`,
    '',
    `ferry: \`createHasher(algo)\` from dist/index.js, fed ${settings.hashMiB} MiB from memory in ${BLOCK / MiB} MiB blocks, in the`,
    'harness process (one warm-up pass of 64 MiB per algorithm first). Native tools: the same bytes from a file',
    're-read into the page cache (`cat > /dev/null`) just before each run; their time includes process start-up',
    'and reading the file. MB = 10^6 bytes. Ratio = ferry MB/s ÷ the fastest native tool\'s MB/s for the same',
    'algorithm, median of per-round ratios (above 1× = ferry faster).',
    '',
    mdTable(['algorithm', 'ferry MB/s (median)', 'min–max', 'fastest native (median MB/s)', 'ferry ÷ native'], rowsFerry),
    '',
    mdTable(['algorithm', 'native tool', 'MB/s (median)', 'min–max', 'peak RSS', 'digest = ferry\'s'], rowsNative),
    '',
    `Other load on the machine during the measurements (CPU beyond the measured process, in cores of 2): median ${median(foreign).toFixed(2)}, max ${max(foreign).toFixed(2)}.`,
    '',
    ...(notes.length ? ['Notes:', '', ...notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
  return md;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await snapshotFerry();
  console.log(await runHash());
}
