import { readSyncStatus, type SyncStatus } from './config.js';
import { currentLease, type Lease } from './lock.js';
import type { DeviceRecord } from './sync.js';
import { BRANCH, CLOUD, CLOUD_GIT, countCommits, SPECIAL_REMOTE, type Vault } from './vault.js';

export interface AnnexFile {
  file: string;
  key: string;
  here: boolean;
  inCloud: boolean;
  copies: number;
}

export interface VaultStatus {
  managed: string;
  remote: string;
  device: string;
  git: { branch: string; head: string; uncommitted: string[]; untracked: number; ahead: number; behind: number };
  /** From git-annex's location log (recorded, not checked live: `drop` and `clean` check live). */
  annex: { files: number; here: number; onlyInCloud: number; notInCloud: string[]; belowNumcopies: string[]; numcopies: number };
  backups: { files: number; bytes: number };
  devices: DeviceRecord[];
  lock?: Lease & { expired: boolean };
  lastSync?: SyncStatus;
}

/** Every annexed file of HEAD with where git-annex records its content. */
export async function annexedFiles(v: Vault, repo = v.managed): Promise<AnnexFile[]> {
  const out = await v.t.annex(repo, ['whereis', '--json', '--fast'], 'list where annexed content is', { ok: [1] });
  const remoteUuid = (await v.t.git(repo, ['config', '--get', `remote.${SPECIAL_REMOTE}.annex-uuid`], 'read the cloud remote', { ok: [1] })).trim();
  const files: AnnexFile[] = [];
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { file: string; key: string; whereis: Array<{ uuid: string; here: boolean }> };
    files.push({ file: r.file, key: r.key, here: r.whereis.some((w) => w.here), inCloud: r.whereis.some((w) => w.uuid === remoteUuid), copies: r.whereis.length });
  }
  return files;
}

/** The JSON records in coordination/devices/, read in one rclone call. */
export async function listDevices(v: Vault): Promise<DeviceRecord[]> {
  const r = await v.t.run('rclone', ['cat', v.cloud(CLOUD.devices), '--include', '*.json'], { what: 'read the device registry', ok: [3] });
  const out: DeviceRecord[] = [];
  for (const chunk of r.stdout.split(/\n(?=\{)/)) {
    try {
      if (chunk.trim()) out.push(JSON.parse(chunk) as DeviceRecord);
    } catch {
      /* a torn record is skipped; the next sync of that device rewrites it */
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** `ferry vault status`: git, git-annex, backups, devices, the lock and the last sync in one view. */
export async function status(v: Vault): Promise<VaultStatus> {
  const porcelain = await v.t.git(v.managed, ['status', '--porcelain=v1', '-z'], 'read the managed repository\'s status');
  const entries = porcelain.split('\0').filter(Boolean);
  const uncommitted = entries.filter((e) => !e.startsWith('??')).map((e) => e.slice(3));
  const untracked = entries.filter((e) => e.startsWith('??')).length;
  const branch = (await v.t.git(v.managed, ['rev-parse', '--abbrev-ref', 'HEAD'], 'read the branch')).trim();
  const head = (await v.t.git(v.managed, ['rev-parse', '--short', 'HEAD'], 'read HEAD')).trim();
  const upstream = `${CLOUD_GIT}/${BRANCH}`;
  const files = await annexedFiles(v);
  const numcopies = v.config.numcopies;
  const size = await v.t.run('rclone', ['size', '--json', v.cloud(CLOUD.backups)], { what: 'measure the backups', ok: [3] });
  const backups = size.code === 0 ? (JSON.parse(size.stdout) as { count: number; bytes: number }) : { count: 0, bytes: 0 };
  const lease = await currentLease(v);
  return {
    managed: v.managed,
    remote: v.remote,
    device: v.device,
    git: { branch, head, uncommitted, untracked, ahead: await countCommits(v.t, v.managed, `${upstream}..HEAD`), behind: await countCommits(v.t, v.managed, `HEAD..${upstream}`) },
    annex: {
      files: files.length,
      here: files.filter((f) => f.here).length,
      onlyInCloud: files.filter((f) => !f.here && f.inCloud).length,
      notInCloud: files.filter((f) => !f.inCloud).map((f) => f.file),
      belowNumcopies: files.filter((f) => f.copies < numcopies).map((f) => f.file),
      numcopies,
    },
    backups: { files: backups.count, bytes: backups.bytes },
    devices: await listDevices(v),
    lock: lease ? { ...lease, expired: Date.parse(lease.expires) <= Date.now() } : undefined,
    lastSync: readSyncStatus(v.managed),
  };
}
