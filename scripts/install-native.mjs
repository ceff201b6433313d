// npm's install step: builds ferry's native helper (node-gyp) unless the build in place is current,
// so that running ferry (npx ferry, which may run the install scripts again) never rebuilds it, and a
// build that fails leaves the one there intact. Without a helper ferry still works, and says so.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';

const built = 'build/Release/ferry_native.node';
const sources = ['binding.gyp', ...readdirSync('native').map((f) => `native/${f}`)];
const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
if (existsSync(built) && statSync(built).mtimeMs >= newest) process.exit(0);

const r = spawnSync('node-gyp', ['rebuild'], { stdio: 'inherit', shell: process.platform === 'win32' });
if (r.status !== 0) {
  console.error("ferry: the native helper did not build; ferry still works, but keeps times to the microsecond, checks each directory by path before using it instead of holding it open, and scans more slowly (it says so when it runs)");
}
