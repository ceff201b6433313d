// Compiles TypeScript to dist/ and copies the SQL migrations beside the compiled stores.
import { cpSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync('dist', { recursive: true, force: true });
try {
  execFileSync(process.execPath, [tsc, '-p', '.'], { stdio: 'inherit' });
} catch {
  process.exit(1); // tsc has printed the errors
}
cpSync('src/store/sqlite/migrations', 'dist/store/sqlite/migrations', { recursive: true });
cpSync('src/store/sqlite/index-migrations', 'dist/store/sqlite/index-migrations', { recursive: true });
cpSync('src/store/sqlite/route-migrations', 'dist/store/sqlite/route-migrations', { recursive: true });
cpSync('src/store/postgres/index-migrations', 'dist/store/postgres/index-migrations', { recursive: true });
cpSync('src/store/postgres/migrations', 'dist/store/postgres/migrations', { recursive: true });
