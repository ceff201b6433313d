import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runCli, type CliResult } from './cli.js';
import { tempDir } from './tree.js';

/** A source, a configuration and a database in a temp directory, and the CLI pointed at them. */
export interface RouteWorld {
  dir: string;
  source: string;
  config: string;
  route: (...args: string[]) => Promise<CliResult>;
  /** A directory-backed drive, registered for `category`: its path. */
  dirDrive: (label: string, category: string) => Promise<string>;
}

export function routeWorld(options: string[] = [], extra = ''): RouteWorld {
  const dir = tempDir('ferry-route-');
  const source = join(dir, 'source');
  mkdirSync(source);
  const config = join(dir, 'route.toml');
  writeFileSync(
    config,
    `source = ${JSON.stringify(source)}\ndatabase = "route.db"\n\n[options]\nmount_poll = "200ms"\ndebounce = "100ms"\n${options.join('\n')}\n${extra}`,
  );
  const route = (...args: string[]): Promise<CliResult> => runCli(['route', ...args, '--config', config]);
  return {
    dir,
    source,
    config,
    route,
    async dirDrive(label, category) {
      const path = join(dir, `drive-${label}`);
      mkdirSync(path);
      const r = await route('register-drive', '--label', label, '--category', category, '--path', path);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      return path;
    },
  };
}
