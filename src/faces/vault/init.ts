import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { FerryError } from '../../core/errors.js';
import { readCloud } from './cloud.js';
import { CONFIG_FILE, PREFERENCES_FILE, STATUS_FILE, ToolPreferencesSchema, VaultConfigSchema, writeJsonFile } from './config.js';
import { acquireLock } from './lock.js';
import { commitArgs } from './merge.js';
import { sync, type DeviceRecord, type SyncReport } from './sync.js';
import { cloudHasRepo, configureMirror, createMirror, mirrorPath, upload } from './transport.js';
import { BRANCH, CLOUD, cloudPath, defaultDevice, openVault, recordManaged, SPECIAL_REMOTE, tools, type Tools, type Vault } from './vault.js';

export interface InitOptions {
  remote: string;
  managed?: string;
  device?: string;
  wait?: number;
}

export interface InitReport {
  managed: string;
  remote: string;
  device: string;
  /** `created` a new vault in the cloud, or `joined` the one there (cloned), or found this one `ready`. */
  action: 'created' | 'joined' | 'ready';
  sync?: SyncReport;
}

/** The seed's local layout (git does not keep empty directories: each has a .gitkeep). */
export const LOCAL_DIRS = ['configs', 'documents', 'scripts', 'projects/datasets', 'projects/media', 'projects/archives'] as const;

/** "cloud:vault" (an rclone remote, a colon, a path); the remote must be one of the user's rclone.conf. */
async function checkRemote(t: Tools, remote: string): Promise<void> {
  const m = /^([^:/\s][^:]*):(.*)$/.exec(remote);
  if (!m || m[2] === '') {
    throw new FerryError('USAGE', `--remote takes REMOTE:PATH, a remote of your rclone.conf and a path in it (such as onedrive:DevEnvironment), not "${remote}".`);
  }
  const names = (await t.rclone(['listremotes'], 'list the remotes of rclone.conf')).split('\n').map((l) => l.trim());
  if (!names.includes(`${m[1]}:`)) {
    const file = (await t.run('rclone', ['config', 'file'], { what: 'find rclone.conf' })).stdout.trim().split('\n').pop();
    throw new FerryError('USAGE', `rclone has no remote named "${m[1]}" (in ${file ?? 'rclone.conf'}).`, { hint: 'add one with `rclone config`, or name one of: ' + (names.filter(Boolean).join(' ') || '(none)') });
  }
}

async function ensureIdentity(t: Tools, managed: string, device: string): Promise<void> {
  const name = await t.run('git', ['config', 'user.name'], { cwd: managed, what: 'read the git identity', ok: [1] });
  if (name.stdout.trim() === '') await t.git(managed, ['config', 'user.name', `ferry vault on ${device}`], 'set a git identity');
  const email = await t.run('git', ['config', 'user.email'], { cwd: managed, what: 'read the git identity', ok: [1] });
  if (email.stdout.trim() === '') await t.git(managed, ['config', 'user.email', `ferry@${device}`], 'set a git identity');
}

async function localSettings(t: Tools, managed: string, remote: string, device: string): Promise<void> {
  await t.git(managed, ['config', 'ferry.remote', remote], 'record the vault\'s remote');
  await t.git(managed, ['config', 'ferry.device', device], 'record the device name');
  await ensureIdentity(t, managed, device);
}

function emptyOrAbsent(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

async function create(t: Tools, managed: string, remote: string, device: string): Promise<Vault> {
  await mkdir(managed, { recursive: true });
  await t.git(managed, ['init', '-q', `--initial-branch=${BRANCH}`], 'create the managed repository');
  await localSettings(t, managed, remote, device);
  for (const d of LOCAL_DIRS) {
    await mkdir(join(managed, d), { recursive: true });
    await writeFile(join(managed, d, '.gitkeep'), '');
  }
  const config = VaultConfigSchema.parse({});
  await writeJsonFile(join(managed, CONFIG_FILE), config);
  await writeJsonFile(join(managed, PREFERENCES_FILE), { ...ToolPreferencesSchema.parse({}), $comment: 'rules: [{ "path": "*.psd", "type": "image/*", "min_size": "1MB", "max_size": "1GB", "tool": "git-annex" }]; see docs/vault.md' });
  await writeFile(join(managed, '.gitignore'), `/${STATUS_FILE}\n`);
  await t.annex(managed, ['init', '--quiet', device], 'initialise git-annex');
  await t.annex(managed, ['numcopies', String(config.numcopies)], 'set numcopies');
  await t.annex(managed, ['initremote', SPECIAL_REMOTE, 'type=external', 'externaltype=ferry', 'encryption=none', `target=${cloudPath(remote, CLOUD.annex)}`, 'autoenable=true'], 'set up the cloud as a git-annex special remote');
  await t.git(managed, ['add', '-A'], 'add the vault\'s layout');
  await t.git(managed, ['commit', '-q', ...commitArgs(`ferry vault init on ${device}`, device)], 'commit the vault\'s layout');
  await createMirror(t, managed, BRANCH);
  return openVault(managed, t);
}

/**
 * The name a joining device takes: the one asked for (refused when the vault has it), or by
 * default the host name, then host-2, host-3… (a second managed directory on one machine is a
 * device of its own).
 */
async function freeDeviceName(t: Tools, remote: string, asked: string | undefined): Promise<string> {
  const taken = async (name: string) => readCloud(t, cloudPath(remote, `${CLOUD.devices}/${name}.json`), 'read the device registry');
  if (asked === undefined) {
    const base = defaultDevice();
    for (let n = 1; ; n++) {
      const name = n === 1 ? base : `${base}-${n}`;
      if (!(await taken(name))) return name;
    }
  }
  const there = await taken(asked);
  if (there) {
    let known: Partial<DeviceRecord> = {};
    try {
      known = JSON.parse(there) as Partial<DeviceRecord>;
    } catch {
      /* a torn record still names a device that exists */
    }
    throw new FerryError('USAGE', `A device named "${asked}" is already in the vault (host ${known.host ?? '?'}, last sync ${known.last_sync ?? 'never'}).`, {
      hint: 'pass --device with a name of its own for this machine',
    });
  }
  return asked;
}

async function join_(t: Tools, managed: string, remote: string, device: string): Promise<Vault> {
  const temp = `${managed}.ferry-joining`;
  rmSync(temp, { recursive: true, force: true });
  await mkdir(dirname(managed), { recursive: true });
  try {
    await t.rclone(['sync', cloudPath(remote, CLOUD.managed), temp, '--create-empty-src-dirs'], 'download the vault\'s git repository from the cloud');
    await t.git(dirname(managed), ['clone', '-q', '-o', 'ferry-cloud', '-b', BRANCH, temp, managed], 'clone the vault');
  } catch (e) {
    rmSync(temp, { recursive: true, force: true });
    throw e;
  }
  await mkdir(dirname(mirrorPath(managed)), { recursive: true });
  renameSync(temp, mirrorPath(managed));
  await configureMirror(t, managed);
  await localSettings(t, managed, remote, device);
  await t.annex(managed, ['init', '--quiet', device], 'initialise git-annex');
  await t.annex(managed, ['enableremote', SPECIAL_REMOTE], 'enable the cloud as a git-annex special remote');
  return openVault(managed, t);
}

/**
 * `ferry vault init --remote REMOTE:PATH`: creates the managed repository (git with git-annex, the
 * seed's directories and .ferry/ files) and the cloud's layout, or, when the cloud has a vault
 * already, joins it as a new device (clones it). Either way the managed directory is recorded so
 * every later command finds it, and a first sync publishes this device.
 */
export async function initVault(options: InitOptions, t: Tools = tools()): Promise<InitReport> {
  const managed = resolve(options.managed ?? join(homedir(), 'ferry-vault'));
  if (options.device !== undefined && !/^[\w][\w.-]*$/.test(options.device)) throw new FerryError('USAGE', `--device takes a name of letters, digits, '.', '-' and '_', not "${options.device}".`);
  let device = options.device ?? defaultDevice();
  const remote = options.remote.replace(/\/+$/, '');
  await t.annex('/', ['version', '--raw'], 'report its version'); // a missing git-annex names its package now
  await checkRemote(t, remote);
  const wait = options.wait ?? 60;
  if (existsSync(join(managed, CONFIG_FILE)) && existsSync(join(managed, '.git'))) {
    const v = await openVault(managed, t);
    if (v.remote !== remote) throw new FerryError('USAGE', `${managed} is already the vault of ${v.remote}, not of ${remote}.`, { hint: 'choose another --managed directory' });
    await recordManaged(managed);
    return { managed, remote, device: v.device, action: 'ready' };
  }
  if (!emptyOrAbsent(managed)) throw new FerryError('USAGE', `${managed} exists and is not empty; the vault needs a new directory.`, { hint: 'pass --managed DIR' });
  const existed = existsSync(managed);
  const joining = await cloudHasRepo(t, cloudPath(remote, CLOUD.managed));
  if (joining) device = await freeDeviceName(t, remote, options.device);
  if (!joining) {
    for (const d of [CLOUD.managed, CLOUD.annex, CLOUD.annexTmp, CLOUD.devices, CLOUD.locks, CLOUD.backups]) {
      await t.rclone(['mkdir', cloudPath(remote, d)], 'create the vault\'s layout in the cloud');
    }
  }
  let v: Vault;
  try {
    v = joining ? await join_(t, managed, remote, device) : await create(t, managed, remote, device);
  } catch (e) {
    // Undo a half-made vault (never a directory the user made: that one is emptied back, as it was).
    if (existsSync(managed) && !existsSync(join(managed, '.git', 'ferry'))) {
      if (existed) for (const e of readdirSync(managed)) rmSync(join(managed, e), { recursive: true, force: true });
      else rmSync(managed, { recursive: true, force: true });
    }
    throw e;
  }
  if (!joining) {
    // The first publication: only when the cloud is still empty (another device may have created it meanwhile).
    const lock = await acquireLock(v, 'init', wait);
    try {
      if (await cloudHasRepo(t, v.cloud(CLOUD.managed))) {
        throw new FerryError('USAGE', `Another device created a vault at ${remote} meanwhile; remove ${managed} and run init again to join it.`);
      }
      await t.git(managed, ['push', '-q', 'ferry-cloud', `${BRANCH}`, 'git-annex'], 'push to the local copy of the cloud');
      await upload(v);
    } finally {
      await lock.release();
    }
  }
  await recordManaged(managed);
  const report = await sync(v, { wait });
  return { managed, remote, device, action: joining ? 'joined' : 'created', sync: report };
}
