// Start-up (issue 13 §3): `node -e 0`, `ferry --help` and `ferry --version`, alternated, each run a
// fresh process; medians of the wall time and ferry's ratio to bare Node.
//
//   node bench/run.mjs startup        (FERRY_BENCH_STARTUP_RUNS, default 30)
import { spawnSync } from 'node:child_process';
import { ferryBin, ferryNodeFlags, fmtRatio, mdTable, median } from './lib.mjs';

export async function runStartup() {
  const runs = Number(process.env.FERRY_BENCH_STARTUP_RUNS ?? 30);
  const flags = ferryNodeFlags();
  const cases = [
    { name: 'node -e 0', args: ['-e', '0'] },
    { name: 'ferry --help', args: [...flags, ferryBin, '--help'] },
    { name: 'ferry --version', args: [...flags, ferryBin, '--version'] },
    { name: 'ferry copy --help', args: [...flags, ferryBin, 'copy', '--help'] },
  ];
  const times = new Map(cases.map((c) => [c.name, []]));
  for (let i = 0; i < 3; i++) for (const c of cases) spawnSync(process.execPath, c.args, { stdio: 'ignore' }); // warm the page cache
  for (let i = 0; i < runs; i++) {
    for (const c of cases) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, c.args, { stdio: 'ignore' });
      if (r.status === 0) times.get(c.name).push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  const node = median(times.get('node -e 0'));
  const rows = cases.map((c) => [c.name, `${median(times.get(c.name)).toFixed(0)} ms`, fmtRatio(median(times.get(c.name)) / node), `${times.get(c.name).length}/${runs}`]);
  return `### Start-up (${runs} alternated runs each)\n\n${mdTable(['command', 'median wall', '× node -e 0', 'runs ok'], rows)}`;
}
