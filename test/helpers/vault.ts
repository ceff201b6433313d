import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runCli, startCli, type CliResult } from './cli.js';
import { tempDir } from './tree.js';

/**
 * A vault's world for a test: one rclone config with a `local` remote named `cloud` (a directory
 * stands in for OneDrive), and per device its own HOME and XDG_CONFIG_HOME, so each device's
 * `ferry vault init` records its own managed directory (~/ferry-vault by default).
 */
export interface VaultWorld {
  root: string;
  /** The directory behind cloud:… */
  cloudDir: string;
  /** REMOTE:PATH for --remote. */
  remote: string;
  rcloneConfig: string;
  device(name: string): VaultDevice;
}

export interface VaultDevice {
  name: string;
  home: string;
  managed: string;
  env: NodeJS.ProcessEnv;
  /** Runs `ferry vault ARGS…` as this device (cwd: its home unless given). */
  vault(args: string[], opts?: { cwd?: string }): Promise<CliResult>;
  /** The same, expecting exit 0. */
  ok(args: string[], opts?: { cwd?: string }): Promise<CliResult>;
  /** Starts it without waiting (to kill it mid-run). */
  start(args: string[]): ReturnType<typeof startCli>;
  /** Runs a tool (git, rclone…) as this device, expecting exit 0; returns stdout. */
  sh(cmd: string, args: string[], cwd?: string): string;
  /** Writes a file below the device's home. */
  write(rel: string, content: string | Buffer): string;
}

export function vaultWorld(): VaultWorld {
  const root = tempDir('ferry-vault-');
  const cloudDir = join(root, 'cloud');
  mkdirSync(cloudDir);
  const rcloneConfig = join(root, 'rclone.conf');
  writeFileSync(rcloneConfig, '[cloud]\ntype = local\n');
  const remote = `cloud:${cloudDir}/vault`;
  const devices = new Map<string, VaultDevice>();
  return {
    root,
    cloudDir,
    remote,
    rcloneConfig,
    device(name) {
      const known = devices.get(name);
      if (known) return known;
      const home = join(root, name);
      mkdirSync(home, { recursive: true });
      const env: NodeJS.ProcessEnv = {
        HOME: home,
        XDG_CONFIG_HOME: join(home, '.config'),
        XDG_STATE_HOME: join(home, '.state'),
        RCLONE_CONFIG: rcloneConfig,
        GIT_AUTHOR_NAME: `tester on ${name}`,
        GIT_AUTHOR_EMAIL: `tester@${name}`,
        GIT_COMMITTER_NAME: `tester on ${name}`,
        GIT_COMMITTER_EMAIL: `tester@${name}`,
        GIT_CONFIG_NOSYSTEM: '1',
      };
      const d: VaultDevice = {
        name,
        home,
        managed: join(home, 'ferry-vault'),
        env,
        vault: (args, opts = {}) => runCli(['vault', ...args], env, opts.cwd ?? home),
        async ok(args, opts) {
          const r = await d.vault(args, opts);
          expect(r.code, `ferry vault ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
          return r;
        },
        start: (args) => startCli(['vault', ...args], env, {}, home),
        sh(cmd, args, cwd = home) {
          const r = spawnSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8' });
          expect(r.status, `${cmd} ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
          return r.stdout;
        },
        write(rel, content) {
          const p = join(home, rel);
          mkdirSync(join(p, '..'), { recursive: true });
          writeFileSync(p, content);
          return p;
        },
      };
      devices.set(name, d);
      return d;
    },
  };
}

/** A device that has run `ferry vault init` on the world's remote. */
export async function initDevice(w: VaultWorld, name: string): Promise<VaultDevice> {
  const d = w.device(name);
  await d.ok(['init', '--remote', w.remote, '--device', name]);
  return d;
}
