import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BIN } from './helpers/cli.js';
import { tempDir } from './helpers/tree.js';

const RECORD = fileURLToPath(new URL('./helpers/record-loads.mjs', import.meta.url));

/** The modules `ferry ARGS` loads, as URLs (through a module hook; the run's output with them). */
function loads(args: string[]): { urls: string[]; stdout: string; status: number | null } {
  const file = join(tempDir(), 'loads.txt');
  const r = spawnSync(process.execPath, ['--import', RECORD, BIN, ...args], { env: { ...process.env, FERRY_LOADS_FILE: file }, encoding: 'utf8' });
  let urls: string[] = [];
  try {
    urls = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    // nothing recorded
  }
  return { urls, stdout: r.stdout, status: r.status };
}

const heavy = (urls: string[]): string[] =>
  urls.filter((u) => /\/dist\/(faces|engine|store|targets|io|report)\//.test(u) || (/\/node_modules\//.test(u) && !/\/node_modules\/commander\//.test(u)));

// Start-up (issue 13 §3): `ferry --help` and `--version` load commander and the command list, not the
// faces, the engine, the stores or their dependencies; a command loads the code of its own file only.
describe('start-up loads only what the command runs', () => {
  it('ferry --help and ferry --version load no face, engine, store or dependency but commander', () => {
    for (const args of [['--help'], ['--version'], []]) {
      const r = loads(args);
      expect(r.urls.some((u) => u.endsWith('/dist/cli/main.js'))).toBe(true); // the hook saw the run
      expect(heavy(r.urls)).toEqual([]);
    }
  });

  it('ferry copy --help loads none of the copy itself', () => {
    const r = loads(['copy', '--help']);
    expect(r.status).toBe(0);
    expect(heavy(r.urls).filter((u) => !u.endsWith('/dist/faces/copy/defaults.js'))).toEqual([]);
  });

  it('ferry dashboard --help loads neither the server nor the page', () => {
    const r = loads(['dashboard', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('default 8080');
    expect(heavy(r.urls).filter((u) => !u.endsWith('/dist/faces/dashboard/defaults.js'))).toEqual([]);
  });

  it('ferry vault --help loads no other face', () => {
    const r = loads(['vault', '--help']);
    expect(r.status).toBe(0);
    expect(r.urls.filter((u) => /\/dist\/faces\/(route|server|client|watch|copy)\//.test(u))).toEqual([]);
  });

  it('the listing shows each command as its own file declares it (command-list.ts agrees with the commands)', async () => {
    const { Help } = await import('commander');
    const { COMMANDS } = await import('../dist/cli/command-list.js');
    const io = { out: (): void => undefined, err: (): void => undefined, stopped: (): Promise<void> => new Promise(() => undefined) };
    const wrap = async (): Promise<void> => undefined;
    const real = [
      (await import('../dist/cli/copy-command.js')).copyCommand(),
      ...(await import('../dist/cli/watch-commands.js')).watchCommands(io, wrap),
      (await import('../dist/cli/route-commands.js')).routeCommands(io, wrap, () => new AbortController().signal),
      (await import('../dist/cli/serve-commands.js')).serveCommands(io, wrap, '0'),
      (await import('../dist/cli/client-commands.js')).clientCommands(io, wrap),
      (await import('../dist/cli/vault-commands.js')).vaultCommands(io, wrap),
      (await import('../dist/cli/dashboard-command.js')).dashboardCommand(io, wrap),
    ];
    const help = new Help();
    expect(COMMANDS.map((c) => c.name)).toEqual(real.map((c) => c.name()));
    for (const c of real) {
      const entry = COMMANDS.find((e) => e.name === c.name())!;
      expect(entry.term).toBe(help.subcommandTerm(c));
      expect(entry.description).toBe(c.description());
    }
  });

  it('bin/ferry.js run as a program (what npx runs) starts Node with its smaller young generation', () => {
    const r = spawnSync(BIN, ['--version'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+/);
    const shebang = readFileSync(BIN, 'utf8').split('\n', 1)[0];
    expect(shebang).toBe('#!/usr/bin/env -S node --max-semi-space-size=2');
  });
});
