import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, resolve } from 'node:path';
import { errnoCode, FerryError } from '../../core/errors.js';
import { parseSize } from '../../core/units.js';
import { CLOUD, type Vault } from './vault.js';

export interface BackupProgress {
  bytes: number;
  totalBytes: number;
  speed: number;
  eta?: number;
}

export interface BackupReport {
  source: string;
  destination: string;
  files: number;
  bytes: number;
}

/** backups/<device>/<the path from home> (or from / outside home). */
export function backupDestination(v: Vault, abs: string): string {
  const home = homedir();
  const rel = abs === home ? basename(home) : abs.startsWith(`${home}/`) ? abs.slice(home.length + 1) : abs.replace(/^\/+/, '');
  return `${CLOUD.backups}/${v.device}/${rel}`;
}

/**
 * `ferry vault backup PATH`: rclone copies a file or a directory to backups/<device>/…, not
 * versioned, with rclone's own bandwidth limit and its stats as progress.
 */
export async function backup(v: Vault, path: string, options: { bwlimit?: string; onProgress?: (p: BackupProgress) => void } = {}): Promise<BackupReport> {
  const abs = resolve(path);
  let st;
  try {
    st = await stat(abs);
  } catch (e) {
    throw new FerryError('USAGE', errnoCode(e) === 'ENOENT' ? `${path} does not exist.` : `${path} cannot be read: ${(e as Error).message}.`);
  }
  const args = st.isDirectory() ? ['copy', abs] : ['copyto', abs];
  const destination = backupDestination(v, abs);
  args.push(v.cloud(destination), '--use-json-log', '--stats', '1s', '--stats-log-level', 'NOTICE', '-v');
  if (options.bwlimit !== undefined) args.push('--bwlimit', `${parseSize(options.bwlimit, '--bwlimit')}B`);
  let files = 0;
  let bytes = 0;
  await v.t.rclone(args, `back up ${path}`, {
    onStderrLine: (line) => {
      let j: { stats?: { bytes: number; totalBytes: number; speed: number; eta?: number; transfers: number }; msg?: string };
      try {
        j = JSON.parse(line) as typeof j;
      } catch {
        return;
      }
      if (j.stats) {
        files = j.stats.transfers;
        bytes = j.stats.bytes;
        options.onProgress?.({ bytes: j.stats.bytes, totalBytes: j.stats.totalBytes, speed: j.stats.speed, eta: j.stats.eta ?? undefined });
      }
    },
  });
  return { source: abs, destination, files, bytes };
}
