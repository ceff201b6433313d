import { spawn } from 'node:child_process';
import { FerryError } from '../../core/errors.js';
import { TOOL_PACKAGES, type ToolName } from '../../engine/tool-run.js';
import { toolEnv, type Vault } from './vault.js';

/** `vault:PATH` in an rclone argument names the vault's cloud: "vault:backups" → "onedrive:DevEnvironment/backups". */
export function expandVaultPaths(v: Vault, args: readonly string[]): string[] {
  return args.map((a) => (a === 'vault:' ? v.remote : a.startsWith('vault:') ? v.cloud(a.slice('vault:'.length)) : a));
}

/**
 * `ferry vault git|annex|rclone ARGS…`: the tool itself, in the managed repository, on this
 * terminal, with the vault's special remote on the PATH; resolves with the tool's exit code.
 */
export function passthrough(v: Vault, tool: ToolName, args: readonly string[]): Promise<number> {
  const [bin, argv] = tool === 'git-annex' ? ['git', ['annex', ...args]] : tool === 'rclone' ? ['rclone', expandVaultPaths(v, args)] : ['git', [...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(bin, argv, { cwd: v.managed, env: toolEnv(), stdio: 'inherit' });
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new FerryError('TOOL_MISSING', `${tool} is not installed; install the Debian package ${TOOL_PACKAGES[tool]}.`) : e),
    );
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
