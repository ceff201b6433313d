// ferry dashboard (issue 14): the page's first load with 100 jobs in the state directory, the
// dashboard's CPU while idle (a page open, nothing changing), and what a live page costs a running
// copy (the same copy with and without a dashboard and a page open, alternated).
//
//   node bench/run.mjs dashboard      (FERRY_BENCH_ROUNDS rounds; Chromium from Debian for the page)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureCorpus } from './corpus.mjs';
import { OUT_DIR, ferryBin, ferryNodeFlags, fmtRatio, fmtSec, log, mdTable, median, rmrf, settings, sleep, timedRun } from './lib.mjs';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
const JOBS = Number(process.env.FERRY_BENCH_DASHBOARD_JOBS ?? 100);

function ferry(args, env) {
  return spawn(process.execPath, [...ferryNodeFlags(), ferryBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
}

function exited(child) {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on('close', resolve)));
}

async function startDashboard(env) {
  const child = ferry(['dashboard', '--port', '0', '--json'], env);
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]).url);
    });
    child.on('close', (code) => reject(new Error(`ferry dashboard exited with ${code}`)));
  });
  return { child, url };
}

/** utime + stime of a process, in seconds. */
function cpuOf(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** CPU seconds of every Chromium process (the browser and its renderers). */
function chromiumCpu() {
  let total = 0;
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (comm.startsWith('chrom')) total += cpuOf(pid);
    } catch {
      /* gone */
    }
  }
  return total;
}

async function stop(child) {
  if (child.exitCode === null) child.kill('SIGTERM');
  await exited(child);
}

export async function runDashboardBench() {
  if (!CHROMIUM) return '### ferry dashboard\n\nnot measured: no chromium (apt-get install chromium)\n';
  const { chromium } = await import('playwright-core');
  const base = path.join(OUT_DIR, 'dashboard');
  rmrf(base);
  const env = { XDG_STATE_HOME: path.join(base, 'state'), XDG_CONFIG_HOME: path.join(base, 'config') };
  const notes = [];

  // 100 copy jobs, each with its runs and files, as ferry leaves them.
  const tiny = path.join(base, 'tiny');
  fs.mkdirSync(tiny, { recursive: true });
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(tiny, `f${i}.txt`), `file ${i}\n`);
  log(`dashboard: making ${JOBS} copy jobs`);
  for (let i = 0; i < JOBS; i += 4) {
    const batch = [];
    for (let j = i; j < Math.min(JOBS, i + 4); j++) batch.push(exited(ferry(['copy', tiny, path.join(base, 'dst', `job-${j}`)], env)));
    await Promise.all(batch);
  }

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const rounds = settings.rounds;
  try {
    // First load: a new dashboard process each round (nothing read yet), a new page, until every card is drawn.
    const loads = [];
    for (let r = 0; r < rounds; r++) {
      const d = await startDashboard(env);
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const t0 = performance.now();
      await page.goto(d.url);
      await page.waitForFunction((n) => globalThis.document.querySelectorAll('article').length >= n, JOBS, { timeout: 60_000, polling: 10 });
      loads.push((performance.now() - t0) / 1000);
      log(`dashboard: first load with ${JOBS} jobs, round ${r + 1}: ${fmtSec(loads.at(-1))}`);
      await page.close();
      await stop(d.child);
    }

    // Idle: a page open (its event stream polling the 100 databases), nothing changing.
    const idleSec = Number(process.env.FERRY_BENCH_DASHBOARD_IDLE_SECONDS ?? 30);
    const d = await startDashboard(env);
    const page = await browser.newPage();
    await page.goto(d.url);
    await page.waitForFunction((n) => globalThis.document.querySelectorAll('article').length >= n, JOBS, { timeout: 60_000 });
    await sleep(3000);
    const c0 = cpuOf(d.child.pid);
    const t0 = performance.now();
    await sleep(idleSec * 1000);
    const idleCpu = (cpuOf(d.child.pid) - c0) / ((performance.now() - t0) / 1000);
    log(`dashboard: idle CPU ${(idleCpu * 100).toFixed(2)} % of a core over ${idleSec} s`);
    await page.close();
    await stop(d.child);

    // A live page's cost to a running copy: the same copy alone, and with a dashboard and a page open.
    const corpus = ensureCorpus('small', Math.min(settings.scale, 0.1));
    const times = { alone: [], watched: [] };
    const cpu = [];
    const browserCpu = [];
    for (let r = 0; r < rounds; r++) {
      for (const mode of r % 2 === 0 ? ['alone', 'watched'] : ['watched', 'alone']) {
        const dst = path.join(base, 'live-dst');
        rmrf(dst);
        let watcher;
        let livePage;
        if (mode === 'watched') {
          watcher = await startDashboard(env);
          livePage = await browser.newPage();
          await livePage.goto(watcher.url);
          // The page's own first load is not the copy's cost: the copy starts once every card is drawn.
          await livePage.waitForFunction((n) => globalThis.document.querySelectorAll('article').length >= n, JOBS, { timeout: 60_000 });
          await sleep(2000);
        }
        const db = path.join(base, 'state', 'ferry', `copy-live${r}${mode === 'alone' ? 'a' : 'w'}.db`);
        const c0w = watcher ? cpuOf(watcher.child.pid) : 0;
        const b0 = chromiumCpu();
        const res = await timedRun(process.execPath, [...ferryNodeFlags(), ferryBin, 'copy', corpus.dir, dst, '--db', db], { logBase: path.join(base, 'logs', `${mode}-r${r + 1}`), env });
        if (!res.ok) notes.push(`${mode} round ${r + 1}: ferry exited ${res.code}: ${res.stderr.trim()}`);
        else times[mode].push(res.wall);
        if (watcher) {
          const cards = await livePage.locator('article').count();
          cpu.push((cpuOf(watcher.child.pid) - c0w) / res.wall);
          browserCpu.push((chromiumCpu() - b0) / res.wall);
          await livePage.close();
          await stop(watcher.child);
          if (cards < JOBS + 1) notes.push(`watched round ${r + 1}: the page showed ${cards} jobs`);
        }
        log(`dashboard: ${corpus.files} small files, ${mode}, round ${r + 1}: ${fmtSec(res.wall)}`);
        rmrf(db);
        rmrf(`${db}-wal`);
        rmrf(`${db}-shm`);
        rmrf(`${db}.lock`);
      }
    }
    const ratios = times.watched.map((w, i) => w / times.alone[i]);
    const lines = [
      `### ferry dashboard (${rounds} rounds, Chromium ${CHROMIUM})`,
      '',
      mdTable(['what', 'median', 'per round', 'goal'], [
        [`first load, ${JOBS} copy jobs (new dashboard process, until every card is drawn)`, fmtSec(median(loads)), loads.map((x) => x.toFixed(3)).join(', '), '< 1 s'],
        [`dashboard CPU, idle, a page open, ${idleSec} s`, `${(idleCpu * 100).toFixed(2)} % of a core`, '', '< 1 %'],
        [`copy of ${corpus.files} small files, alone`, fmtSec(median(times.alone)), times.alone.map((x) => x.toFixed(2)).join(', '), ''],
        ['the same copy, a dashboard and a page open', fmtSec(median(times.watched)), times.watched.map((x) => x.toFixed(2)).join(', '), ''],
        ['watched ÷ alone', fmtRatio(median(ratios)), ratios.map((x) => x.toFixed(2)).join(', '), 'no measurable slowdown'],
        ['dashboard CPU while the copy runs', `${(median(cpu) * 100).toFixed(1)} % of a core`, cpu.map((x) => `${(x * 100).toFixed(1)} %`).join(', '), ''],
        ['the browser\'s CPU (every Chromium process) while the copy runs', `${(median(browserCpu) * 100).toFixed(1)} % of a core`, browserCpu.map((x) => `${(x * 100).toFixed(1)} %`).join(', '), ''],
      ]),
    ];
    if (notes.length) lines.push('', ...notes.map((n) => `- ${n}`));
    return `${lines.join('\n')}\n`;
  } finally {
    await browser.close();
  }
}
