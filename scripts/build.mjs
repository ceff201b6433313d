// Compiles TypeScript to dist/ and copies the SQL migrations beside the compiled stores.
// --if-stale (npm's prepare step, which `npx ferry` may run again): nothing to do when dist/ is newer
// than every file of src/.
import { cpSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
if (process.argv.includes('--if-stale') && existsSync('dist/cli/main.js') && newest('dist') >= Math.max(newest('src'), statSync('tsconfig.json').mtimeMs)) {
  process.exit(0);
}

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync('dist', { recursive: true, force: true });
try {
  execFileSync(process.execPath, [tsc, '-p', '.'], { stdio: 'inherit' });
} catch {
  process.exit(1); // tsc has printed the errors
}
cpSync('src/http/dashboard/assets', 'dist/http/dashboard/assets', { recursive: true });
cpSync('src/store/sqlite/migrations', 'dist/store/sqlite/migrations', { recursive: true });
cpSync('src/store/sqlite/index-migrations', 'dist/store/sqlite/index-migrations', { recursive: true });
cpSync('src/store/sqlite/route-migrations', 'dist/store/sqlite/route-migrations', { recursive: true });
cpSync('src/store/sqlite/server-migrations', 'dist/store/sqlite/server-migrations', { recursive: true });
cpSync('src/store/sqlite/client-migrations', 'dist/store/sqlite/client-migrations', { recursive: true });
cpSync('src/store/postgres/index-migrations', 'dist/store/postgres/index-migrations', { recursive: true });
cpSync('src/store/postgres/migrations', 'dist/store/postgres/migrations', { recursive: true });
cpSync('src/store/postgres/route-migrations', 'dist/store/postgres/route-migrations', { recursive: true });
cpSync('src/store/postgres/server-migrations', 'dist/store/postgres/server-migrations', { recursive: true });
