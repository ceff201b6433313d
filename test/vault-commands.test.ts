import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupReport } from '../dist/faces/vault/backup.js';
import type { CleanPlan, CleanReport } from '../dist/faces/vault/clean.js';
import type { DedupeReport, Recommendation } from '../dist/faces/vault/dedupe.js';
import type { Got } from '../dist/faces/vault/get.js';
import type { DiffReport, LogEntry, RollbackReport } from '../dist/faces/vault/history.js';
import type { VaultStatus } from '../dist/faces/vault/status.js';
import type { DeviceRecord } from '../dist/faces/vault/sync.js';
import type { BranchReport, VersionedFile } from '../dist/faces/vault/versions.js';
import { initDevice, vaultWorld, type VaultDevice, type VaultWorld } from './helpers/vault.js';

// `ferry vault`'s commands past add/sync, through the CLI with the real git, git-annex and rclone.
// Each block has its own vault (init costs seconds) and the blocks run at once; the tests of a
// block run in order, each building on the state the one before left.
const step = it.sequential;
const T = 120_000; // per test: real processes, several 11 MB files
const SETUP = 180_000;

async function json<T>(d: VaultDevice, args: string[]): Promise<T> {
  return JSON.parse((await d.ok([...args, '--json'])).stdout) as T;
}
const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
// Looking at the repository goes to git and git-annex directly: every ferry process costs most of a second.
/** Whether this device has the content of an annexed key. */
const here = (d: VaultDevice, key: string): boolean =>
  spawnSync('git', ['annex', 'contentlocation', key], { cwd: d.managed, env: { ...process.env, ...d.env } }).status === 0;
const lookupKey = (d: VaultDevice, rel: string): string => d.sh('git', ['annex', 'lookupkey', rel], d.managed).trim();
const commits = (d: VaultDevice): string[] => d.sh('git', ['rev-list', 'HEAD'], d.managed).trim().split('\n');
/** Until the clock is past the second it shows: the next commit has a later date than every one before. */
const nextSecond = (): Promise<void> => new Promise((r) => setTimeout(r, 1050 - (Date.now() % 1000)));
const ISO_RULE = JSON.stringify({ rules: [{ path: '*.iso', tool: 'rclone' }] });

/** A vault of one device "laptop" for a block; its objects made writable afterwards so the temp dir goes. */
function vaultFor(): { world: () => VaultWorld; cloud: (rel: string) => string; init: () => Promise<VaultDevice> } {
  let w: VaultWorld | undefined;
  afterAll(() => void (w && spawnSync('chmod', ['-R', 'u+w', w.root])));
  return {
    world: () => w!,
    /** The file behind vault:REL in the cloud's directory. */
    cloud: (rel) => join(w!.cloudDir, 'vault', rel),
    init: () => initDevice((w = vaultWorld()), 'laptop'),
  };
}

describe.concurrent('ferry vault log, diff, versions, rollback, status, devices', () => {
  const v = vaultFor();
  let d: VaultDevice;
  let notesV1: { commit: string; date: string };
  let dataV1: { commit: string; key: string; sha: string };
  const DATA = 'projects/datasets/data.bin';
  const NOTES = 'documents/notes.md';

  beforeAll(async () => {
    d = await v.init();
    writeFileSync(join(d.managed, '.ferry/tool-preferences.json'), ISO_RULE); // *.iso: rclone to backups/
    d.write('notes.md', 'one\n');
    d.write('x.iso', randomBytes(2000));
    expect((await json<{ backedUp: number }>(d, ['add', 'notes.md', 'x.iso'])).backedUp).toBe(1);
    const [commit = '', date = ''] = d.sh('git', ['log', '-1', '--format=%H %cI'], d.managed).trim().split(' ');
    notesV1 = { commit, date };
    await nextSecond();
    d.write('notes.md', 'two\n');
    await d.ok(['add', 'notes.md']);
    // Annexed (11 MB > git_max_size) from outside a repository: projects/datasets/. Its content is
    // dropped here at once (the cloud has it: add copied it), so rolling back to it must fetch it.
    const data = d.write('data.bin', randomBytes(11_000_000));
    await d.ok(['add', 'data.bin']);
    dataV1 = { commit: commits(d)[0]!, key: lookupKey(d, DATA), sha: sha(data) };
    await d.ok(['annex', 'drop', DATA]);
    d.write('data.bin', randomBytes(12_000_000));
    await d.ok(['add', 'data.bin']);
    d.write('notes.md', 'three\n');
    await d.ok(['add', 'notes.md']);
  }, SETUP);

  step('log: the whole history and one file\'s, as JSON entries with commit, device and subject', async () => {
    const all = await json<LogEntry[]>(d, ['log']);
    expect(all.length).toBe(6); // init, notes ×3, data ×2 (x.iso went to backups: no commit)
    for (const e of all) expect(e).toMatchObject({ commit: expect.stringMatching(/^[0-9a-f]{40}$/), device: 'laptop', subject: expect.any(String) });
    expect(all.at(-1)!.subject).toBe('ferry vault init on laptop');
    const notes = await json<LogEntry[]>(d, ['log', NOTES]);
    expect(notes.map((e) => e.subject)).toEqual(Array(3).fill(`ferry vault add: ${NOTES}`));
    expect(notes.at(-1)).toMatchObject(notesV1);
    expect(notes.every((e) => all.some((a) => a.commit === e.commit))).toBe(true);
  }, T);

  step('diff of a git file between two versions: the text diff has the changed lines', async () => {
    const [, v2] = await json<LogEntry[]>(d, ['log', NOTES]);
    const r = await json<DiffReport>(d, ['diff', NOTES, '--between', notesV1.commit, v2!.commit]);
    expect(r).toMatchObject({ file: NOTES, from: { kind: 'git' }, to: { kind: 'git' }, identical: false });
    expect(r.text).toMatch(/^-one$/m);
    expect(r.text).toMatch(/^\+two$/m);
  }, T);

  step('diff of an annexed file: kind annex, with each version\'s size and hash', async () => {
    const r = await json<DiffReport>(d, ['diff', DATA, '--between', dataV1.commit, 'HEAD']);
    expect(r).toMatchObject({ from: { kind: 'annex', size: 11_000_000, key: dataV1.key }, to: { kind: 'annex', size: 12_000_000 }, identical: false });
    expect(r.from.hash).toBe(dataV1.sha);
    expect(r.to.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(r.to.hash).not.toBe(r.from.hash);
    expect(r.text).toBeUndefined();
  }, T);

  step('versions: how many versions each file has and where its content is, backups included', async () => {
    const files = await json<VersionedFile[]>(d, ['versions']);
    const of = (p: string) => files.find((f) => f.path === p);
    expect(of(NOTES)).toMatchObject({ tool: 'git', versions: 3, content: 'git' });
    expect(of(DATA)).toMatchObject({ tool: 'git-annex', versions: 2, content: 'here + cloud' });
    expect(of('backups/laptop/x.iso')).toMatchObject({ tool: 'rclone', versions: 1, size: 2000 });
  }, T);

  step('rollback --to HEAD~1 of a git file: the old content, as a new commit; no commit is lost', async () => {
    const before = commits(d);
    const r = await json<RollbackReport>(d, ['rollback', NOTES, '--to', 'HEAD~1']);
    expect(r).toMatchObject({ file: NOTES, annexed: false, unchanged: false, commit: expect.any(String) });
    expect(readFileSync(join(d.managed, NOTES), 'utf8')).toBe('two\n');
    const after = commits(d);
    expect(after.length).toBe(before.length + 1);
    expect(after[0]!.startsWith(r.commit!)).toBe(true);
    expect(after.slice(1)).toEqual(before);
  }, T);

  step('rollback --to COMMIT of an annexed file whose content was dropped: fetched from the cloud', async () => {
    await d.ok(['annex', 'drop', DATA]); // succeeds: the cloud has it
    expect(here(d, dataV1.key)).toBe(false);
    const r = await json<RollbackReport>(d, ['rollback', DATA, '--to', dataV1.commit]);
    expect(r).toMatchObject({ file: DATA, annexed: true, unchanged: false });
    expect(sha(join(d.managed, DATA))).toBe(dataV1.sha);
    expect(d.sh('git', ['log', '-1', '--format=%s'], d.managed)).toMatch(/^ferry vault rollback: projects\/datasets\/data\.bin to /);
  }, T);

  step('rollback --to a date: the file as its last commit before then had it', async () => {
    const date = new Date(Date.parse(notesV1.date) + 500).toISOString();
    const r = await json<RollbackReport>(d, ['rollback', NOTES, '--to', date]);
    expect(r).toMatchObject({ unchanged: false, to: notesV1.commit.slice(0, 10) });
    expect(readFileSync(join(d.managed, NOTES), 'utf8')).toBe('one\n');
  }, T);

  step('rollback of a file with uncommitted edits is refused: exit 2, one sentence, the file untouched', async () => {
    writeFileSync(join(d.managed, NOTES), 'unsaved work\n');
    const before = commits(d);
    const r = await d.vault(['rollback', NOTES, '--to', 'HEAD~1']);
    expect(r.code).toBe(2);
    const [first, ...rest] = r.stderr.trim().split('\n');
    expect(first).toBe(`ferry: ${NOTES} has changes that are not committed; rolling back would lose them.`);
    expect(rest.every((l) => l.startsWith('hint: '))).toBe(true);
    expect(readFileSync(join(d.managed, NOTES), 'utf8')).toBe('unsaved work\n');
    expect(commits(d)).toEqual(before);
  }, T);

  step('status --json and devices --json: ahead after a local add, annexed files, devices, no lock, last sync', async () => {
    await d.ok(['sync']);
    d.write('after-sync.md', 'not synced yet\n');
    await d.ok(['add', 'after-sync.md']);
    const uuid = d.sh('git', ['config', 'annex.uuid'], d.managed).trim();
    const s = await json<VaultStatus>(d, ['status']);
    expect(s).toMatchObject({ managed: d.managed, remote: v.world().remote, device: 'laptop' });
    expect(s.git).toMatchObject({ branch: 'main', ahead: 1, behind: 0, uncommitted: [] });
    expect(s.annex).toMatchObject({ files: 1, here: 1, notInCloud: [], numcopies: 1 });
    expect(s.devices).toEqual([expect.objectContaining({ name: 'laptop', annex_uuid: uuid })]);
    expect(s.lock ?? null).toBeNull();
    expect(s.lastSync).toMatchObject({ device: 'laptop', last_result: 'ok' });
    expect(Date.now() - Date.parse(s.lastSync!.last_sync!)).toBeLessThan(60_000);
    const devices = await json<DeviceRecord[]>(d, ['devices']);
    expect(devices).toEqual([expect.objectContaining({ name: 'laptop', annex_uuid: uuid, managed: d.managed })]);
  }, T);
});

describe.concurrent('ferry vault branch, get, backup, passthrough', () => {
  const v = vaultFor();
  let d: VaultDevice;
  beforeAll(async () => {
    d = await v.init();
    writeFileSync(join(d.managed, '.ferry/tool-preferences.json'), ISO_RULE);
  }, SETUP);

  step('branch NAME creates and switches; add commits there; --merge brings it into main; no NAME lists', async () => {
    expect(await json<BranchReport>(d, ['branch', 'exp'])).toMatchObject({ action: 'created', branch: 'exp', branches: expect.arrayContaining([{ name: 'exp', current: true }]) });
    d.write('exp.md', 'an experiment\n');
    await d.ok(['add', 'exp.md']);
    expect(d.sh('git', ['rev-parse', '--abbrev-ref', 'HEAD'], d.managed).trim()).toBe('exp');
    expect(d.sh('git', ['log', '-1', '--format=%s', 'exp'], d.managed).trim()).toBe('ferry vault add: documents/exp.md');
    const m = await json<BranchReport>(d, ['branch', '--merge', 'exp']);
    expect(m).toMatchObject({ action: 'merged', branch: 'exp', conflicts: [] });
    expect(m.branches.find((b) => b.current)?.name).toBe('main');
    d.sh('git', ['merge-base', '--is-ancestor', 'exp', 'main'], d.managed);
    expect(readFileSync(join(d.managed, 'documents/exp.md'), 'utf8')).toBe('an experiment\n');
    const l = await json<BranchReport>(d, ['branch']);
    expect(l.action).toBe('listed');
    expect(l.branches).toEqual(expect.arrayContaining([{ name: 'main', current: true }, { name: 'exp', current: false }]));
    const bad = await d.vault(['branch', 'bad..name']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^ferry: "bad\.\.name" cannot be a branch name/);
  }, T);

  step('get of a file kept only in backups/ (a tool-preferences rule): rclone copies it back, same bytes', async () => {
    const iso = d.write('x.iso', randomBytes(3000));
    const bytes = sha(iso);
    expect((await json<{ backedUp: number }>(d, ['add', 'x.iso'])).backedUp).toBe(1);
    expect(sha(v.cloud('backups/laptop/x.iso'))).toBe(bytes);
    rmSync(iso);
    expect(await json<Got[]>(d, ['get', iso])).toEqual([{ path: iso, by: 'rclone', from: 'backups/laptop/x.iso' }]);
    expect(sha(iso)).toBe(bytes);
  }, T);

  step('get of an annexed file whose content was dropped: git-annex fetches it', async () => {
    const big = d.write('big.bin', randomBytes(11_000_000));
    const bytes = sha(big);
    await d.ok(['add', 'big.bin']);
    const file = join(d.managed, 'projects/datasets/big.bin');
    await d.ok(['annex', 'drop', 'projects/datasets/big.bin']);
    expect(existsSync(file)).toBe(false); // a dangling symlink
    expect(await json<Got[]>(d, ['get', file])).toEqual([{ path: file, by: 'git-annex' }]);
    expect(sha(file)).toBe(bytes);
  }, T);

  step('backup DIR --bwlimit: below backups/<device>/<path from home>; status counts the backups', async () => {
    d.write('proj/a.txt', 'alpha\n');
    d.write('proj/sub/b.txt', 'beta\n');
    const r = await json<BackupReport>(d, ['backup', join(d.home, 'proj'), '--bwlimit', '10M']);
    expect(r).toMatchObject({ source: join(d.home, 'proj'), destination: 'backups/laptop/proj', files: 2 });
    expect(readFileSync(v.cloud('backups/laptop/proj/a.txt'), 'utf8')).toBe('alpha\n');
    expect(readFileSync(v.cloud('backups/laptop/proj/sub/b.txt'), 'utf8')).toBe('beta\n');
    expect((await json<VaultStatus>(d, ['status'])).backups).toEqual({ files: 3, bytes: 3000 + 6 + 5 }); // with x.iso
  }, T);

  step('passthrough: git log --oneline, and rclone with vault:PATH naming the vault\'s cloud', async () => {
    const git = await d.vault(['git', 'log', '--oneline']);
    expect(git.code).toBe(0);
    expect(git.stdout).toMatch(/^[0-9a-f]{7,} ferry vault init on laptop$/m);
    const rc = await d.vault(['rclone', 'lsf', 'vault:coordination/devices']);
    expect(rc.code).toBe(0);
    expect(rc.stdout.split('\n')).toContain('laptop.json');
  }, T);

  step('get of a git file deleted from the working tree restores it', async () => {
    const file = join(d.managed, 'documents/exp.md');
    rmSync(file);
    expect(await json<Got[]>(d, ['get', file])).toEqual([{ path: file, by: 'git' }]);
    expect(readFileSync(file, 'utf8')).toBe('an experiment\n');
  }, T);
});

describe.concurrent('ferry vault clean, dedupe, optimize', () => {
  const v = vaultFor();
  let d: VaultDevice;
  let inCloud = ''; // an unused annexed version the cloud has (add copied it)
  let onlyHere = ''; // one it has not: annexed and committed by hand, never copied
  const TMP = 'documents/x.tmp';
  const Y = 'projects/datasets/y.bin';

  beforeAll(async () => {
    d = await v.init();
    d.write('data.bin', randomBytes(11_000_000));
    await d.ok(['add', 'data.bin']);
    inCloud = lookupKey(d, 'projects/datasets/data.bin');
    d.write('data.bin', randomBytes(11_000_000));
    await d.ok(['add', 'data.bin']);
    for (const round of [1, 2]) {
      rmSync(join(d.managed, Y), { force: true });
      writeFileSync(join(d.managed, Y), randomBytes(2000));
      d.sh('git', ['annex', 'add', '--force-large', '--quiet', Y], d.managed);
      d.sh('git', ['commit', '-q', '-m', `y, version ${round}`], d.managed);
      if (round === 1) onlyHere = lookupKey(d, Y);
    }
    writeFileSync(join(d.managed, TMP), 'scratch\n');
  }, SETUP);

  const nothingRemoved = (): void => {
    expect(existsSync(join(d.managed, TMP))).toBe(true);
    expect(here(d, inCloud)).toBe(true);
    expect(here(d, onlyHere)).toBe(true);
  };

  step('clean --dry-run --json lists the temp file and both unused versions, and removes nothing', async () => {
    const plan = await json<CleanPlan>(d, ['clean', '--dry-run']);
    nothingRemoved();
    expect(plan.tempFiles).toEqual([TMP]);
    expect(plan.leftovers).toEqual([]);
    expect([...plan.unusedKeys].sort()).toEqual([inCloud, onlyHere].sort());
  }, T);

  step('clean piped, without --yes, asks nobody and removes nothing', async () => {
    const r = await d.vault(['clean']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('nothing was removed: pass --yes');
    nothingRemoved();
  }, T);

  step('clean --yes removes the temp file and drops the unused version the cloud has; keeps the one it lacks', async () => {
    const r = await json<CleanReport>(d, ['clean', '--yes']);
    expect(r.removedTemp).toBe(1);
    expect(existsSync(join(d.managed, TMP))).toBe(false);
    expect(here(d, onlyHere)).toBe(true);
    expect(r.keptKeys).toEqual([onlyHere]);
    expect(r.droppedKeys).toBe(1);
    expect(here(d, inCloud)).toBe(false);
  }, T);

  step('dedupe: duplicates are reported; --apply removes a backup only where an annexed key in the cloud has its bytes, and get still finds it', async () => {
    const text = 'the same bytes, versioned and backed up\n';
    const hash = createHash('sha256').update(text).digest('hex');
    d.write('report.txt', text);
    await d.ok(['add', 'report.txt']);
    await d.ok(['backup', join(d.home, 'report.txt')]);
    const big = randomBytes(11_000_000);
    const bigHash = createHash('sha256').update(big).digest('hex');
    d.write('media.bin', big);
    await d.ok(['add', 'media.bin']); // annexed, its content copied to the cloud
    await d.ok(['backup', join(d.home, 'media.bin')]);
    const found = await json<DedupeReport>(d, ['dedupe']);
    expect(found.groups.find((g) => g.sha256 === hash)).toMatchObject({
      size: text.length,
      extraBytes: text.length,
      copies: expect.arrayContaining([{ where: 'git', path: 'documents/report.txt' }, { where: 'backups', path: 'backups/laptop/report.txt' }]),
    });
    expect(found.groups.find((g) => g.sha256 === bigHash)?.copies).toEqual(expect.arrayContaining([{ where: 'git-annex', path: 'projects/datasets/media.bin' }, { where: 'backups', path: 'backups/laptop/media.bin' }]));
    const applied = await json<DedupeReport>(d, ['dedupe', '--apply']);
    expect(applied.removed).toEqual([expect.objectContaining({ name: 'backups/laptop/media.bin', same_as: 'projects/datasets/media.bin', sha256: bigHash, key: expect.stringMatching(/^SHA256E-s11000000--/) })]);
    expect(existsSync(v.cloud('backups/laptop/media.bin'))).toBe(false);
    expect(existsSync(v.cloud('backups/laptop/report.txt'))).toBe(true); // a working file may change: that backup stays
    const records = JSON.parse(readFileSync(join(d.managed, '.ferry/dedupe.json'), 'utf8')) as unknown[];
    expect(records).toEqual([expect.objectContaining({ name: 'backups/laptop/media.bin', size: 11_000_000 })]);
    d.sh('git', ['ls-files', '--error-unmatch', '.ferry/dedupe.json'], d.managed);
    // The name still comes back, with its own bytes, even after the versioned file changed.
    d.write('media2.bin', randomBytes(11_000_000));
    rmSync(join(d.home, 'media.bin'));
    const got = await json<Got[]>(d, ['get', join(d.home, 'media.bin')]);
    expect(got[0]!.by).toBe('git-annex');
    expect(sha(join(d.home, 'media.bin'))).toBe(bigHash);
    expect((await json<DedupeReport>(d, ['dedupe'])).groups.map((g) => g.sha256)).toEqual([hash]);
  }, T);

  step('optimize --json: an array; a >10 MB blob committed to git is reported as large-blob-in-git', async () => {
    const before = await json<Recommendation[]>(d, ['optimize']);
    expect(Array.isArray(before) && !before.some((r) => r.kind === 'large-blob-in-git')).toBe(true);
    writeFileSync(join(d.managed, 'documents/blob.bin'), randomBytes(11_000_000));
    d.sh('git', ['-c', 'annex.largefiles=nothing', 'add', 'documents/blob.bin'], d.managed);
    d.sh('git', ['commit', '-q', '-m', 'a large blob in git'], d.managed);
    const rs = await json<Recommendation[]>(d, ['optimize']);
    expect(rs).toContainEqual(expect.objectContaining({ kind: 'large-blob-in-git', bytes: 11_000_000, detail: expect.stringContaining('documents/blob.bin') }));
  }, T);
});
