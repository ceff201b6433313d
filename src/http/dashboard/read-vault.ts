import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { JobView, VaultView } from './views.js';

/** bin/ferry.js of this very installation. */
const FERRY_BIN = fileURLToPath(new URL('../../../bin/ferry.js', import.meta.url));

/** The fields of `ferry vault status --json` the dashboard shows (faces/vault/status.ts). */
interface VaultStatusJson {
  managed: string;
  remote: string;
  device: string;
  git: { branch: string; head: string; uncommitted: string[]; untracked: number; ahead: number; behind: number };
  annex: { files: number; here: number; onlyInCloud: number; notInCloud: string[]; belowNumcopies: string[]; numcopies: number };
  backups: { files: number; bytes: number };
  devices: Array<{ name: string; host: string; last_sync: string }>;
  lock?: { owner: string; purpose: string; expires: string; expired: boolean };
  lastSync?: { last_sync?: string; last_result?: string; message?: string };
}

/**
 * A vault as `ferry vault status --json` sees it: run as its own process (the vault's status asks
 * git, git-annex and rclone; the dashboard does not do the vault's work itself). Rejects with the
 * command's one sentence when it fails.
 */
export async function readVault(managed: string, base: Pick<JobView, 'id' | 'location'>, timeoutMs = 60_000): Promise<JobView> {
  const out = await new Promise<string>((resolvePromise, reject) => {
    const child = spawn(process.execPath, [FERRY_BIN, 'vault', 'status', '--json', '--managed', managed], {
      stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs,
      // git status takes the index lock when it can: not while a `ferry vault sync` beside it commits.
      env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolvePromise(stdout) : reject(new Error(oneLine(stdout, stderr) || `ferry vault status exited with ${code}`))));
  });
  const s = JSON.parse(out) as VaultStatusJson;
  const g = s.git;
  const a = s.annex;
  const summary = [
    `branch ${g.branch} at ${g.head.slice(0, 10)}: ${g.ahead} ahead, ${g.behind} behind the cloud; ${g.uncommitted.length} uncommitted, ${g.untracked} untracked`,
    `git-annex: ${a.files} files, ${a.here} here, ${a.onlyInCloud} only in the cloud, ${a.notInCloud.length} not in the cloud, ${a.belowNumcopies.length} below numcopies (${a.numcopies})`,
    `backups: ${s.backups.files} files`,
  ];
  const vault: VaultView = {
    managed: s.managed, remote: s.remote, device: s.device, summary,
    devices: s.devices.map((d) => ({ name: d.name, host: d.host, lastSync: d.last_sync })),
    lock: s.lock ? { owner: s.lock.owner, purpose: s.lock.purpose, expires: s.lock.expires, expired: s.lock.expired } : null,
    lastSync: s.lastSync ? { at: s.lastSync.last_sync ?? null, result: s.lastSync.last_result ?? null, message: s.lastSync.message ?? null } : null,
  };
  const at = s.lastSync?.last_sync ? Date.parse(s.lastSync.last_sync) : NaN;
  const locked = s.lock && !s.lock.expired;
  return {
    ...base, face: 'vault', title: `vault ${s.managed}`, state: locked ? 'running' : 'idle',
    stateText: locked ? `${s.lock!.owner} holds the lock (${s.lock!.purpose})` : s.lastSync?.last_result ? `last sync: ${s.lastSync.last_result}` : 'never synced from this device',
    sinceMs: Number.isFinite(at) ? at : null, vault,
  };
}

/** The failing command's own sentence: its JSON error's message, or its first line on stderr. */
function oneLine(stdout: string, stderr: string): string {
  try {
    const e = JSON.parse(stdout) as { error?: { message?: string }; message?: string };
    if (e.error?.message) return e.error.message;
    if (e.message) return e.message;
  } catch {
    /* not JSON */
  }
  return stderr.split('\n').find((l) => l.trim())?.replace(/^ferry:\s*/, '') ?? '';
}
