// ferry's benchmark runner (`npm run bench` builds first, then runs this).
//
//   node bench/run.mjs                 hash, then copy on large, mixed, small
//   node bench/run.mjs hash            hash throughput only
//   node bench/run.mjs copy            copy on every corpus
//   node bench/run.mjs copy small      copy on the named corpora (small adds the no-op and scan tables)
//   node bench/run.mjs bwlimit         how closely --bwlimit follows its limit (see bwlimit.mjs)
//   node bench/run.mjs watch           ferry watch: change latency, reconciliation rate, idle cost (see watch.mjs)
//   node bench/run.mjs route [small|mixed]  ferry route sync-once against cp and rsync (see route.mjs)
//   node bench/run.mjs vault                ferry vault add / no-op sync / explain against the tools by hand (see vault.mjs)
//   node bench/run.mjs netshare [copy|bwlimit|faults]  ferry between two sshfs shares over a shaped link (see netshare.mjs; root)
//   node bench/run.mjs workers [small|mixed|large]      1, 2 and 3 workers on one PostgreSQL job (see workers.mjs)
//   node bench/run.mjs startup                          ferry --help / --version against node -e 0 (see startup.mjs)
//   node bench/run.mjs dashboard                        ferry dashboard: first load of 100 jobs, idle CPU, a live page's cost to a copy (see dashboard.mjs)
//   node bench/run.mjs serve [propagation|initial|memory|many]  ferry serve + client against syncthing
//                                      and rclone webdav: propagation, initial sync, server memory (see serve.mjs)
//
// Environment: FERRY_BENCH_SCALE (corpus size factor, default 1), FERRY_BENCH_ROUNDS (copy rounds,
// default 3), FERRY_BENCH_HASH_MIB (default 1024), FERRY_BENCH_HASH_ROUNDS (default 3),
// FERRY_BENCH_SETTLE (seconds to wait after deletes + sync, default 15), FERRY_BENCH_QUIET_WAIT
// (seconds to wait before each run for other processes to go quiet, default 10), FERRY_BENCH_TIMEOUT
// (seconds per run, default 1200), FERRY_BENCH_ROTATE=1 (rotate the copy order each round),
// FERRY_BENCH_BASELINE (another build's bin/ferry.js, copied in the same run: before and after).
// serve: FERRY_BENCH_SERVE_FILES, _LARGE_MB, _ROUNDS, _CLIENTS, _MANY (see serve.mjs).
// Markdown goes to stdout and is appended to bench/out/results-<date>.md.
import fs from 'node:fs';
import path from 'node:path';
import { CORPUS_NAMES } from './corpus.mjs';
import { cleanupDestinations, runCopy } from './copy.mjs';
import { runBwlimit } from './bwlimit.mjs';
import { runHash } from './hash.mjs';
import { runRoute } from './route.mjs';
import { runVault } from './vault.mjs';
import { runNetshare } from './netshare.mjs';
import { runWorkersBench } from './workers.mjs';
import { runStartup } from './startup.mjs';
import { runDashboardBench } from './dashboard.mjs';
import { SERVE_PARTS, runServe } from './serve.mjs';
import { runWatch } from './watch.mjs';
import { OUT_DIR, machineInfo, settings, snapshotFerry, toolVersions } from './lib.mjs';

const args = process.argv.slice(2);
const what = args[0] ?? 'all';
if (!['all', 'hash', 'copy', 'bwlimit', 'watch', 'route', 'serve', 'vault', 'netshare', 'workers', 'startup', 'dashboard'].includes(what)) {
  console.error(`usage: node bench/run.mjs [hash | copy [${CORPUS_NAMES.join('|')} ...] | bwlimit | watch | route [small|mixed ...] | serve [${SERVE_PARTS.join('|')} ...] | vault | netshare [copy|bwlimit|faults] | workers [small|mixed|large ...] | startup | dashboard]`);
  process.exit(2);
}
const serveParts = what === 'serve' ? args.slice(1) : [];
for (const p of serveParts) {
  if (!SERVE_PARTS.includes(p)) {
    console.error(`unknown serve part "${p}": one of ${SERVE_PARTS.join(', ')}`);
    process.exit(2);
  }
}
const corpora = (what === 'copy' || what === 'route' || what === 'workers') && args.length > 1 ? args.slice(1) : CORPUS_NAMES;
for (const c of corpora) {
  if (!CORPUS_NAMES.includes(c)) {
    console.error(`unknown corpus "${c}": one of ${CORPUS_NAMES.join(', ')}`);
    process.exit(2);
  }
}

fs.mkdirSync(OUT_DIR, { recursive: true });
const resultsFile = path.join(OUT_DIR, `results-${new Date().toISOString().slice(0, 10)}.md`);
const started = Date.now();
const ferryInfo = await snapshotFerry();

function emit(text) {
  process.stdout.write(`${text}\n`);
  fs.appendFileSync(resultsFile, `${text}\n`);
}

emit(
  [
    `## ferry benchmark: \`${['node bench/run.mjs', ...args].join(' ')}\`, ${new Date().toISOString()}`,
    '',
    machineInfo(),
    `- ${ferryInfo}`,
    toolVersions([
      ['cp', 'cp', ['--version']],
      ['rsync', 'rsync', ['--version']],
      ['rclone', 'rclone', ['version']],
      ['openssl', 'openssl', ['version']],
      ['coreutils (md5sum, sha*sum, b2sum)', 'md5sum', ['--version']],
      ['b3sum', 'b3sum', ['--version']],
      ['xxhsum', 'xxhsum', ['--version']],
    ]),
    `- settings: scale ${settings.scale}, copy rounds ${settings.rounds}, hash ${settings.hashMiB} MiB × ${settings.hashRounds} rounds, settle ${settings.settle} s, quiet wait ${settings.quietWait} s${settings.rotate ? ', rotated order' : ''}`,
    '',
  ].join('\n'),
);

try {
  if (what === 'all' || what === 'hash') emit(await runHash());
  if (what === 'all' || what === 'copy') {
    for (const c of corpora) emit(await runCopy(c));
  }
  if (what === 'all' || what === 'bwlimit') emit(await runBwlimit());
  if (what === 'all' || what === 'watch') emit(await runWatch());
  if (what === 'all' || what === 'route') emit(await runRoute(what === 'route' && args.length > 1 ? corpora : ['small', 'mixed']));
  if (what === 'all' || what === 'serve') emit(await runServe(serveParts));
  if (what === 'all' || what === 'vault') emit(await runVault());
  if (what === 'netshare') emit(await runNetshare(args.slice(1)));
  if (what === 'startup') emit(await runStartup());
  if (what === 'dashboard') emit(await runDashboardBench());
  if (what === 'workers') emit(await runWorkersBench(args.length > 1 ? corpora : ['small', 'mixed']));
} finally {
  cleanupDestinations();
}
emit(`_Total benchmark time: ${((Date.now() - started) / 60000).toFixed(1)} min. Results appended to ${path.relative(process.cwd(), resultsFile)}._\n`);
