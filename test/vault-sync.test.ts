import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { finished } from './helpers/cli.js';
import { initDevice, vaultWorld, type VaultDevice } from './helpers/vault.js';

// Two devices, two managed directories, one cloud (an rclone local remote): real git, git-annex
// and rclone throughout.

const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
const head = (d: VaultDevice): string => d.sh('git', ['rev-parse', 'HEAD'], d.managed).trim();
const json = <T>(stdout: string): T => JSON.parse(stdout) as T;

describe('two devices share one vault', { timeout: 180_000 }, () => {
  const w = vaultWorld();
  let laptop: VaultDevice;
  let desktop: VaultDevice;

  it('init creates the seed\'s layouts; init on a second device joins (clones) it', async () => {
    laptop = await initDevice(w, 'laptop');
    for (const d of ['configs', 'documents', 'scripts', 'projects/datasets', 'projects/media', 'projects/archives', '.ferry']) {
      expect(existsSync(join(laptop.managed, d)), d).toBe(true);
    }
    for (const f of ['config.json', 'tool-preferences.json', 'sync-status.json']) expect(existsSync(join(laptop.managed, '.ferry', f)), f).toBe(true);
    const cloud = join(w.cloudDir, 'vault');
    for (const d of ['managed/HEAD', 'git-annex-storage', 'coordination/devices/laptop.json', 'coordination/locks', 'backups']) {
      expect(existsSync(join(cloud, d)), d).toBe(true);
    }
    expect(json<{ git_max_size: string; managed_max_size: string }>(readFileSync(join(laptop.managed, '.ferry/config.json'), 'utf8'))).toMatchObject({ git_max_size: '10MB', managed_max_size: '100MB' });
    desktop = w.device('desktop');
    const r = await desktop.ok(['init', '--remote', w.remote, '--device', 'desktop', '--json']);
    expect(json<{ action: string }>(r.stdout).action).toBe('joined');
    expect(head(desktop)).toBe(head(laptop));
    const devices = json<Array<{ name: string; annex_uuid: string }>>((await desktop.ok(['devices', '--json'])).stdout);
    expect(devices.map((d) => d.name)).toEqual(['desktop', 'laptop']);
    expect(devices.every((d) => /^[0-9a-f-]{36}$/.test(d.annex_uuid))).toBe(true);
  });

  it('what one device adds, the other gets: git files and annexed content', async () => {
    const notes = laptop.write('notes.md', 'one\ntwo\nthree\nfour\nfive\n');
    const big = laptop.write('data/big.bin', randomBytes(11_000_000));
    const before = readdirSync(laptop.managed).sort();
    const dry = await laptop.ok(['add', '--dry-run', notes, big]);
    expect(dry.stdout).toMatch(/would add 2 files: 1 to git, 1 to git-annex/);
    expect(readdirSync(laptop.managed).sort()).toEqual(before);
    await laptop.ok(['add', notes, big]);
    await laptop.ok(['sync']);
    const r = json<{ received: number }>((await desktop.ok(['sync', '--json'])).stdout);
    expect(r.received).toBeGreaterThan(0);
    expect(readFileSync(join(desktop.managed, 'documents/notes.md'), 'utf8')).toBe('one\ntwo\nthree\nfour\nfive\n');
    expect(sha(join(desktop.managed, 'projects/datasets/big.bin'))).toBe(sha(big));
    expect(readFileSync(notes, 'utf8')).toBe('one\ntwo\nthree\nfour\nfive\n'); // the source is never changed
  });

  it('a text file edited on both at once is merged by git; a binary edited on both keeps both versions', async () => {
    laptop.write('blob.dat', randomBytes(2000));
    await laptop.ok(['add', join(laptop.home, 'blob.dat')]);
    await laptop.ok(['sync']);
    await desktop.ok(['sync']);
    writeFileSync(join(laptop.managed, 'documents/notes.md'), 'ONE\ntwo\nthree\nfour\nfive\n');
    writeFileSync(join(desktop.managed, 'documents/notes.md'), 'one\ntwo\nthree\nfour\nFIVE\n');
    const ours = randomBytes(2000);
    const theirs = randomBytes(2000);
    writeFileSync(join(laptop.managed, 'documents/blob.dat'), theirs);
    writeFileSync(join(desktop.managed, 'documents/blob.dat'), ours);
    await laptop.ok(['sync']);
    const laptopCommit = head(laptop);
    const r = await desktop.vault(['sync', '--json']);
    expect(r.code).toBe(1); // a conflict: reported, both kept
    const report = json<{ conflicts: Array<{ path: string; kept: string }> }>(r.stdout);
    expect(report.conflicts).toEqual([expect.objectContaining({ path: 'documents/blob.dat', kept: 'documents/blob.conflict-laptop.dat' })]);
    await laptop.ok(['sync']);
    for (const d of [laptop, desktop]) {
      expect(readFileSync(join(d.managed, 'documents/notes.md'), 'utf8')).toBe('ONE\ntwo\nthree\nfour\nFIVE\n');
      expect(readFileSync(join(d.managed, 'documents/blob.dat'))).toEqual(ours);
      expect(readFileSync(join(d.managed, 'documents/blob.conflict-laptop.dat'))).toEqual(theirs);
    }
    expect(head(laptop)).toBe(head(desktop));
    laptop.sh('git', ['merge-base', '--is-ancestor', laptopCommit, 'HEAD'], laptop.managed); // every commit kept
    const plain = await desktop.vault(['sync']);
    expect(plain.code).toBe(0);
  });

  it('an annexed file changed on both devices keeps both contents', async () => {
    const a = randomBytes(11_000_000);
    const b = randomBytes(11_000_000);
    laptop.write('data/big.bin', a);
    desktop.write('data/big.bin', b);
    await laptop.ok(['add', join(laptop.home, 'data/big.bin')]);
    await laptop.ok(['sync']);
    // The desktop adds its own version at the same path in its managed repo (from its own home).
    await desktop.ok(['add', join(desktop.home, 'data/big.bin')]);
    expect((await desktop.vault(['sync'])).code).toBe(1);
    await laptop.ok(['sync']);
    for (const d of [laptop, desktop]) {
      expect(sha(join(d.managed, 'projects/datasets/big.bin'))).toBe(createHash('sha256').update(b).digest('hex'));
      expect(sha(join(d.managed, 'projects/datasets/big.conflict-laptop.bin'))).toBe(createHash('sha256').update(a).digest('hex'));
    }
  });

  it('a sync never overwrites an untracked file: it stops before changing anything', async () => {
    laptop.write('todo.md', 'from the laptop\n');
    await laptop.ok(['add', join(laptop.home, 'todo.md')]);
    await laptop.ok(['sync']);
    writeFileSync(join(desktop.managed, 'documents/todo.md'), 'the desktop\'s own, never added\n');
    const before = head(desktop);
    const r = await desktop.vault(['sync']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ferry: git could not merge the cloud's commits, so nothing was changed here: these untracked files would be overwritten: documents\/todo\.md\./m);
    expect(readFileSync(join(desktop.managed, 'documents/todo.md'), 'utf8')).toBe('the desktop\'s own, never added\n');
    expect(head(desktop)).toBe(before);
    await desktop.ok(['status']); // the lock was released
    expect(existsSync(join(w.cloudDir, 'vault/coordination/locks/vault.lock'))).toBe(false);
  });
});

describe('what a review found', { timeout: 180_000 }, () => {
  const w = vaultWorld();
  let a: VaultDevice;
  let b: VaultDevice;

  it('a merge left half done is settled both ways by the next sync, never committed with conflict markers', async () => {
    a = await initDevice(w, 'one');
    b = await initDevice(w, 'two');
    a.write('plan.md', 'base\n');
    await a.ok(['add', join(a.home, 'plan.md')]);
    const plan = join(a.managed, 'documents/plan.md');
    a.sh('git', ['switch', '-q', '-c', 'side'], a.managed);
    writeFileSync(plan, 'side\n');
    a.sh('git', ['commit', '-qam', 'side'], a.managed);
    a.sh('git', ['switch', '-q', 'main'], a.managed);
    writeFileSync(plan, 'main\n');
    a.sh('git', ['commit', '-qam', 'main'], a.managed);
    const merge = spawnSync('git', ['merge', 'side'], { cwd: a.managed, env: { ...process.env, ...a.env } });
    expect(merge.status).toBe(1); // a conflict, left as a killed sync would leave it
    const r = await a.vault(['sync', '--json']);
    expect(r.code, r.stderr).toBe(1);
    expect(json<{ conflicts: Array<{ path: string }> }>(r.stdout).conflicts.map((c) => c.path)).toEqual(['documents/plan.md']);
    const markers = spawnSync('git', ['grep', '-l', '<<<<<<<', 'HEAD'], { cwd: a.managed, encoding: 'utf8' });
    expect(markers.status, markers.stdout).toBe(1); // no file of HEAD has conflict markers
    expect(readFileSync(join(a.managed, 'documents/plan.md'), 'utf8')).toBe('main\n');
    expect(readFileSync(join(a.managed, 'documents/plan.conflict-cloud.md'), 'utf8')).toBe('side\n');
  });

  it('a file renamed differently on two devices keeps both names, and the next syncs go on', async () => {
    await b.ok(['sync']);
    a.sh('git', ['mv', 'documents/plan.md', 'documents/plan-a.md'], a.managed);
    a.sh('git', ['commit', '-qm', 'rename on one'], a.managed);
    b.sh('git', ['mv', 'documents/plan.md', 'documents/plan-b.md'], b.managed);
    b.sh('git', ['commit', '-qm', 'rename on two'], b.managed);
    await a.ok(['sync']);
    expect((await b.vault(['sync'])).code).toBe(1);
    await a.ok(['sync']);
    await b.ok(['sync']);
    for (const d of [a, b]) {
      expect(existsSync(join(d.managed, 'documents/plan-a.md')) && existsSync(join(d.managed, 'documents/plan-b.md'))).toBe(true);
    }
    expect(head(a)).toBe(head(b));
  });

  it('a device joining without --device takes the host name, then host-2; a name the vault has is refused', async () => {
    const host = hostname().replace(/[^\w.-]+/g, '-');
    const names: string[] = [];
    for (const who of ['three', 'four']) {
      const d = w.device(who);
      names.push(json<{ device: string }>((await d.ok(['init', '--remote', w.remote, '--json'])).stdout).device);
    }
    expect(names).toEqual([host, `${host}-2`]);
    const dup = await w.device('five').vault(['init', '--remote', w.remote, '--device', 'one']);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toMatch(/^ferry: A device named "one" is already in the vault/m);
    expect(existsSync(w.device('five').managed)).toBe(false);
  });

  it('add never replaces an unversioned or edited file of the managed repository, nor two files with one name', async () => {
    writeFileSync(join(a.managed, 'documents/mine.txt'), 'not versioned\n');
    a.write('mine.txt', 'another\n');
    const r = await a.vault(['add', join(a.home, 'mine.txt')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ferry: documents\/mine\.txt in the managed repository has a file that is not versioned; adding .* would replace it\./m);
    expect(readFileSync(join(a.managed, 'documents/mine.txt'), 'utf8')).toBe('not versioned\n');
    a.write('w1/same.txt', '1\n');
    a.write('w2/same.txt', '2\n');
    const two = await a.vault(['add', join(a.home, 'w1/same.txt'), join(a.home, 'w2/same.txt')]);
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/would both be documents\/same\.txt/);
    expect(existsSync(join(a.managed, 'documents/same.txt'))).toBe(false);
  });
});

describe('a device killed mid-sync', { timeout: 180_000 }, () => {
  it('leaves a lease that another machine waits out and this one takes at once (its process is gone); nothing is lost', async () => {
    const w = vaultWorld();
    const a = await initDevice(w, 'alpha');
    const b = await initDevice(w, 'beta');
    for (const d of [a, b]) {
      const cfg = join(d.managed, '.ferry/config.json');
      writeFileSync(cfg, JSON.stringify({ ...json<object>(readFileSync(cfg, 'utf8')), lock_ttl_seconds: 4 }));
      d.sh('git', ['commit', '-qam', 'short leases'], d.managed);
    }
    a.write('keep.txt', 'alpha wrote this\n');
    await a.ok(['add', join(a.home, 'keep.txt')]);
    for (let i = 0; i < 8; i++) a.write(`data/f${i}.bin`, randomBytes(11_000_000));
    a.sh('cp', ['-r', join(a.home, 'data'), join(a.managed, 'projects/datasets/')]);
    a.sh('git', ['annex', 'add', '--force-large', '--quiet', 'projects/datasets/data'], a.managed);
    a.sh('git', ['commit', '-qm', 'eight large files'], a.managed);
    const lock = join(w.cloudDir, 'vault/coordination/locks/vault.lock');
    const child = a.start(['sync']);
    while (!existsSync(lock) && child.exitCode === null) await sleep(20);
    child.kill('SIGKILL');
    await finished(child);
    expect(existsSync(lock)).toBe(true); // the dead device's lease is still there
    // Seen from another machine (its lease names a host that is not this one), it is waited out.
    const lease = JSON.parse(readFileSync(lock, 'utf8')) as { host: string; expires: string };
    writeFileSync(lock, JSON.stringify({ ...lease, host: 'elsewhere' }));
    const refused = await b.vault(['sync', '--wait', '0']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^ferry: The vault is locked by alpha \(host elsewhere, pid \d+, sync\) until /m);
    const r = await b.vault(['sync', '--wait', '30']);
    expect(r.code, r.stderr).toBe(0); // it waited for the lease to expire
    // A lease of this machine whose process is gone is over at once, however long it had to run.
    writeFileSync(lock, JSON.stringify({ ...lease, expires: new Date(Date.now() + 3600_000).toISOString() }));
    await b.ok(['sync', '--wait', '0']);
    await a.ok(['sync', '--wait', '30']);
    await b.ok(['sync']);
    expect(readFileSync(join(b.managed, 'documents/keep.txt'), 'utf8')).toBe('alpha wrote this\n');
    for (let i = 0; i < 8; i++) expect(sha(join(b.managed, `projects/datasets/data/f${i}.bin`))).toBe(sha(join(a.home, `data/f${i}.bin`)));
    expect(head(a)).toBe(head(b));
  });
});

describe('inside another git repository', { timeout: 120_000 }, () => {
  it('small files are committed with git there, large ones with git-annex, their content sent to the vault\'s cloud', async () => {
    const w = vaultWorld();
    const d = await initDevice(w, 'solo');
    const proj = join(d.home, 'proj');
    const origin = join(w.root, 'origin.git');
    d.sh('git', ['init', '-q', '--bare', '-b', 'main', origin]);
    d.sh('git', ['clone', '-q', origin, proj]);
    d.write('proj/src/main.py', 'print("hi")\n');
    d.write('proj/dataset.bin', randomBytes(11_000_000));
    const r = await d.ok(['add', 'src/main.py', 'dataset.bin', '--json'], { cwd: proj });
    const report = json<{ files: Array<{ decision: { tool: string; where: string } }> }>(r.stdout);
    expect(report.files.map((f) => [f.decision.tool, f.decision.where])).toEqual([['git', 'repo'], ['git-annex', 'repo']]);
    expect(d.sh('git', ['ls-files'], proj).split('\n').filter(Boolean).sort()).toEqual(['dataset.bin', 'src/main.py']);
    expect(d.sh('git', ['log', '--format=%s'], proj)).toMatch(/ferry vault add: 2 files/);
    expect(d.sh('git', ['annex', 'whereis', 'dataset.bin'], proj)).toMatch(/ferry-vault/);
    const storage = d.sh('find', [join(w.cloudDir, 'vault/git-annex-storage'), '-name', 'SHA256E-s11000000*', '-type', 'f']);
    expect(storage.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(d.managed, 'documents/main.py'))).toBe(false); // not copied into the managed repo
    // sync there is that repository's: pushed to its upstream, with its git-annex branch.
    const s = json<{ sent: number; annex: boolean }>((await d.ok(['sync', '--json'], { cwd: proj })).stdout);
    expect(s).toMatchObject({ sent: 1, annex: true });
    expect(d.sh('git', ['branch', '--list', 'main', 'git-annex'], origin).replace(/[ *]/g, '').split('\n').filter(Boolean).sort()).toEqual(['git-annex', 'main']);
    // Another clone gets the large file's content from the vault's cloud.
    const clone = join(d.home, 'clone');
    d.sh('git', ['clone', '-q', origin, clone]);
    const got = json<Array<{ by: string }>>((await d.ok(['get', 'dataset.bin', '--json'], { cwd: clone })).stdout);
    expect(got[0]!.by).toBe('git-annex');
    expect(sha(join(clone, 'dataset.bin'))).toBe(sha(join(proj, 'dataset.bin')));
  });
});
