import { hostname } from 'node:os';
import { join } from 'node:path';
import { FerryError } from '../../core/errors.js';
import { writeCloud } from './cloud.js';
import { readSyncStatus, STATUS_FILE, writeJsonFile, type SyncStatus } from './config.js';
import { acquireLock } from './lock.js';
import { commitArgs, DEVICE_TRAILER, mergeKeepingBoth, settleMerge, type Conflict, type MergeRequest } from './merge.js';
import { cloudRefs, download, upload } from './transport.js';
import { BRANCH, CLOUD, CLOUD_GIT, countCommits, SPECIAL_REMOTE, type Vault } from './vault.js';

export interface SyncOptions {
  /** How long to wait for another device's lock (default: the config's lock_wait_seconds). */
  wait?: number;
  /** Fetch annexed content this device lacks (default: the config's sync_gets_content). */
  getContent?: boolean;
  /** Each step as it starts, for a terminal. */
  onStep?: (step: string) => void;
}

export interface SyncReport {
  device: string;
  /** Local edits committed before the merge. */
  committed: boolean;
  /** Commits that came from the cloud. */
  received: number;
  /** Commits sent to the cloud. */
  sent: number;
  conflicts: Conflict[];
  /** The branch synced (the current one). */
  branch: string;
  /** Annexed files whose content could not be fetched from the cloud (not there yet): left for a later sync. */
  missingContent: number;
  /** Other branches that diverged from the cloud's: not pushed, to merge with `ferry vault branch`. */
  diverged: string[];
  head: string;
  /** Whether the cloud's repository was changed. */
  published: boolean;
}

/** The device registry entry in coordination/devices/<device>.json. */
export interface DeviceRecord {
  name: string;
  host: string;
  annex_uuid: string;
  last_sync: string;
  head: string;
  managed: string;
}

async function refExists(v: Vault, ref: string): Promise<boolean> {
  return (await v.t.run('git', ['rev-parse', '--verify', '-q', ref], { cwd: v.managed, what: 'read a ref', ok: [1] })).code === 0;
}

/** Commits edits of tracked files (never untracked ones: those are `add`ed), as git-annex sync does. */
async function commitLocalEdits(v: Vault): Promise<boolean> {
  const status = await v.t.git(v.managed, ['status', '--porcelain=v1', '-z', '--untracked-files=no'], 'read the managed repository\'s status');
  if (status === '') return false;
  await v.t.git(v.managed, ['commit', '-q', '-a', ...commitArgs(`ferry vault sync: edits on ${v.device}`, v.device)], 'commit this device\'s edits');
  return true;
}

async function currentBranch(v: Vault): Promise<string> {
  const b = (await v.t.git(v.managed, ['rev-parse', '--abbrev-ref', 'HEAD'], 'read the branch')).trim();
  return b === 'HEAD' ? BRANCH : b;
}

async function isAncestor(v: Vault, a: string, b: string): Promise<boolean> {
  return (await v.t.run('git', ['merge-base', '--is-ancestor', a, b], { cwd: v.managed, what: 'compare branches', ok: [1] })).code === 0;
}

/**
 * The branches that may go to the cloud: where the cloud has none, or has an ancestor of ours (the
 * current branch was merged just before). A branch that diverged elsewhere (another device's
 * experiment) is fast-forwarded here when it can be, and otherwise left for `ferry vault branch` to
 * merge: it is reported, never forced.
 */
async function pushable(v: Vault, current: string): Promise<{ refspecs: string[]; diverged: string[] }> {
  const local = (await v.t.git(v.managed, ['for-each-ref', '--format=%(refname:short)', 'refs/heads/'], 'list the branches')).split('\n').filter(Boolean);
  const refspecs: string[] = [];
  const diverged: string[] = [];
  for (const b of local) {
    const cloud = `refs/remotes/${CLOUD_GIT}/${b}`;
    if (!(await refExists(v, cloud)) || (await isAncestor(v, cloud, `refs/heads/${b}`))) {
      refspecs.push(`refs/heads/${b}:refs/heads/${b}`);
    } else if (b !== current && (await isAncestor(v, `refs/heads/${b}`, cloud))) {
      await v.t.git(v.managed, ['update-ref', `refs/heads/${b}`, cloud], `fast-forward ${b}`);
    } else diverged.push(b);
  }
  return { refspecs, diverged };
}

async function merge(v: Vault, branch: string): Promise<Conflict[]> {
  const theirs = `${CLOUD_GIT}/${branch}`;
  if (!(await refExists(v, theirs))) return [];
  return mergeKeepingBoth(v.t, v.managed, { ref: theirs, what: 'the cloud\'s commits', hint: 'move or `ferry vault add` the files it names, then sync again', ...mergeWords(v) });
}

function mergeWords(v: Vault): Pick<MergeRequest, 'device' | 'message' | 'keptMessage' | 'theirDevice'> {
  return {
    device: v.device,
    message: `ferry vault sync: merge from the cloud on ${v.device}`,
    keptMessage: (paths) => `ferry vault sync: merge from the cloud on ${v.device}, both versions kept of ${paths}`,
    theirDevice: theirDevice(v),
  };
}

/** Who made the other side's last change to a path, from its commit's Ferry-Device trailer ("cloud" when it has none). */
function theirDevice(v: Vault): (path: string) => Promise<string> {
  return async (path) => {
    const fmt = `%(trailers:key=${DEVICE_TRAILER},valueonly,separator=%x2C)`;
    const said = await v.t.run('git', ['log', '-1', `--format=${fmt}`, 'MERGE_HEAD', '--', path], { cwd: v.managed, what: 'find who changed the file', ok: [128] });
    return said.stdout.trim() || 'cloud';
  };
}

/**
 * A merge a killed sync left half done (MERGE_HEAD, unmerged entries) is settled the same way
 * before anything else, both versions kept: committing the tree as it is would commit conflict
 * markers. Unmerged entries without a merge (a stash, a cherry-pick by hand) are refused.
 */
async function finishInterruptedMerge(v: Vault): Promise<Conflict[]> {
  const merging = (await v.t.run('git', ['rev-parse', '-q', '--verify', 'MERGE_HEAD'], { cwd: v.managed, what: 'look for a merge in progress', ok: [1] })).code === 0;
  const unmerged = (await v.t.git(v.managed, ['ls-files', '-u'], 'list the merge conflicts')).trim() !== '';
  if (!merging && !unmerged) return [];
  if (!merging) throw new FerryError('TOOL_FAILED', `The managed repository has conflicts that no merge of ferry's left (${v.managed}); settle them with git first.`, { hint: '`ferry vault git status` shows them' });
  return settleMerge(v.t, v.managed, mergeWords(v));
}

async function annexUuid(v: Vault): Promise<string> {
  return (await v.t.git(v.managed, ['config', '--get', 'annex.uuid'], 'read the git-annex UUID', { ok: [1] })).trim();
}

/**
 * `ferry vault sync`, the seed's four steps under the vault lock: git (download the cloud's
 * repository, fetch, merge; conflicts kept both ways), git-annex (every key this device has goes to
 * the cloud, missing content comes from it), the managed repository to the cloud (refuse if anyone
 * pushed since the download: the lock was lost), then this device's record. Local edits of tracked
 * files are committed first; untracked files are never touched (a merge that would overwrite one stops
 * before changing anything).
 */
export async function sync(v: Vault, options: SyncOptions = {}): Promise<SyncReport> {
  const step = options.onStep ?? (() => {});
  step('lock');
  const lock = await acquireLock(v, 'sync', options.wait ?? v.config.lock_wait_seconds);
  try {
    const resumed = await finishInterruptedMerge(v);
    const committed = await commitLocalEdits(v);
    step('git: download');
    await download(v);
    const before = await cloudRefs(v);
    await v.t.git(v.managed, ['fetch', '-q', '--prune', CLOUD_GIT], 'fetch the cloud\'s commits');
    const branch = await currentBranch(v);
    const upstream = `${CLOUD_GIT}/${branch}`;
    const received = (await refExists(v, upstream)) ? await countCommits(v.t, v.managed, `HEAD..${upstream}`) : 0;
    step('git: merge');
    const conflicts = [...resumed, ...(await merge(v, branch))];
    await v.t.annex(v.managed, ['merge', '--quiet'], 'merge the git-annex branches');
    step('git-annex: content');
    await v.t.annex(v.managed, ['copy', '--all', '--fast', '--quiet', `--to=${SPECIAL_REMOTE}`], 'copy annexed content to the cloud');
    let missing = 0;
    if (options.getContent ?? v.config.sync_gets_content) {
      // Content the cloud lacks (another device has not sent it yet) is reported, and the sync goes on.
      const got = await v.t.run('git-annex', ['get', '--quiet', `--from=${SPECIAL_REMOTE}`], { cwd: v.managed, what: 'get annexed content from the cloud', ok: [1] });
      if (got.code !== 0) missing = Number(/get: (\d+) failed/.exec(got.stderr)?.[1] ?? 1);
    }
    step('git: push');
    const sent = (await refExists(v, upstream)) ? await countCommits(v.t, v.managed, `${upstream}..HEAD`) : await countCommits(v.t, v.managed, 'HEAD');
    const { refspecs, diverged } = await pushable(v, branch);
    const pushed = await v.t.run('git', ['push', '--porcelain', CLOUD_GIT, ...refspecs], { cwd: v.managed, what: 'push to the local copy of the cloud' });
    const changed = pushed.stdout.split('\n').some((l) => /^[+*-]\t/.test(l) || /^ \t/.test(l));
    if (changed) {
      await lock.check();
      if ((await cloudRefs(v)) !== before) {
        throw new FerryError('VAULT_LOCKED', 'Someone changed the cloud repository during this sync (the lock was not respected); nothing was published.', { hint: 'run `ferry vault sync` again' });
      }
      step('cloud: upload');
      await upload(v);
    }
    const head = (await v.t.git(v.managed, ['rev-parse', 'HEAD'], 'read HEAD')).trim();
    const now = new Date().toISOString();
    const record: DeviceRecord = { name: v.device, host: hostname(), annex_uuid: await annexUuid(v), last_sync: now, head, managed: v.managed };
    step('devices');
    await writeCloud(v.t, v.cloud(`${CLOUD.devices}/${v.device}.json`), `${JSON.stringify(record, null, 2)}\n`, 'record this device in the cloud');
    const status: SyncStatus = { device: v.device, last_sync: now, last_result: conflicts.length ? 'conflicts' : 'ok', head, conflicts: conflicts.map((c) => c.kept ?? c.path) };
    await writeJsonFile(join(v.managed, STATUS_FILE), status);
    return { device: v.device, branch, committed, received, sent, conflicts, diverged, missingContent: missing, head, published: changed };
  } catch (e) {
    const last = readSyncStatus(v.managed);
    const failed: SyncStatus = { ...last, device: v.device, last_result: 'failed', message: e instanceof Error ? e.message : String(e), failed_at: new Date().toISOString() };
    await writeJsonFile(join(v.managed, STATUS_FILE), failed).catch(() => {});
    throw e;
  } finally {
    await lock.release().catch(() => {});
  }
}
