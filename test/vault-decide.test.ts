import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VaultConfigSchema } from '../dist/faces/vault/config.js';
import { decide, type DecisionContext } from '../dist/faces/vault/decide.js';
import { decideFile, RepoFinder } from '../dist/faces/vault/context.js';
import { tools } from '../dist/faces/vault/vault.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/tree.js';

// The decision engine (seed 002's tool selection matrix) as a pure function, then on real files
// (their type from their bytes) and through `ferry vault explain` / `add --dry-run`.

const MB = 1_000_000;
const config = VaultConfigSchema.parse({});
const base = (over: Partial<DecisionContext>): DecisionContext => ({
  path: '/home/u/work/file.txt',
  size: 1000,
  mime: 'text/plain',
  script: false,
  home: '/home/u',
  device: 'laptop',
  config,
  rules: [],
  ...over,
});
const inRepo = (rel: string, size: number, mime = 'text/plain') => base({ path: `/home/u/proj/${rel}`, size, mime, repo: { root: '/home/u/proj', rel, managed: false } });

describe('the seed matrix, row by row', () => {
  it('in a git repo, below 10 MB: git, at its path', () => {
    const d = decide(inRepo('src/main.py', 5_000, 'text/x-python'));
    expect(d).toMatchObject({ tool: 'git', where: 'repo', destination: 'src/main.py', versioned: true, rule: null });
    expect(d.reasons.join(' ')).toMatch(/< 10MB/);
  });

  it('in a git repo, 10 MB and more: git-annex', () => {
    expect(decide(inRepo('dataset.zip', 2_000 * MB, 'application/zip'))).toMatchObject({ tool: 'git-annex', where: 'repo', destination: 'dataset.zip' });
    expect(decide(inRepo('edge.bin', 10 * MB, 'application/octet-stream')).tool).toBe('git-annex');
    expect(decide(inRepo('under.bin', 10 * MB - 1, 'application/octet-stream')).tool).toBe('git');
  });

  it('outside a repo, a configuration file in a standard path: git, in the managed configs/', () => {
    expect(decide(base({ path: '/home/u/.ssh/config' }))).toMatchObject({ tool: 'git', where: 'managed', destination: 'configs/.ssh/config' });
    expect(decide(base({ path: '/home/u/.gitconfig' })).destination).toBe('configs/.gitconfig');
    expect(decide(base({ path: '/home/u/.config/fish/config.fish' })).destination).toBe('configs/.config/fish/config.fish');
    expect(decide(base({ path: '/etc/hosts' }))).toMatchObject({ tool: 'git', destination: 'configs/hosts' });
  });

  it('outside a repo, below 100 MB: versioned in the managed repository, by type', () => {
    expect(decide(base({ path: '/home/u/notes.md', mime: 'text/markdown' }))).toMatchObject({ tool: 'git', where: 'managed', destination: 'documents/notes.md' });
    expect(decide(base({ path: '/home/u/deploy', script: true }))).toMatchObject({ tool: 'git', destination: 'scripts/deploy' });
    expect(decide(base({ path: '/home/u/clip.mp4', size: 50 * MB, mime: 'video/mp4' }))).toMatchObject({ tool: 'git-annex', destination: 'projects/media/clip.mp4' });
    expect(decide(base({ path: '/home/u/a.tar.gz', size: 20 * MB, mime: 'application/gzip' }))).toMatchObject({ tool: 'git-annex', destination: 'projects/archives/a.tar.gz' });
    expect(decide(base({ path: '/home/u/m.h5', size: 20 * MB, mime: 'application/octet-stream' }))).toMatchObject({ tool: 'git-annex', destination: 'projects/datasets/m.h5' });
  });

  it('outside a repo, 100 MB and more: rclone to backups/<device>/, not versioned', () => {
    const d = decide(base({ path: '/home/u/Videos/holiday.mkv', size: 3_000 * MB, mime: 'video/x-matroska' }));
    expect(d).toMatchObject({ tool: 'rclone', where: 'backups', destination: 'laptop/Videos/holiday.mkv', versioned: false });
  });

  it('temp and cache files, anywhere: rclone, not versioned', () => {
    expect(decide(base({ path: '/home/u/x.tmp' })).tool).toBe('rclone');
    expect(decide(inRepo('build/__pycache__/m.pyc', 100, 'application/octet-stream'))).toMatchObject({ tool: 'rclone', versioned: false });
    expect(decide(base({ path: '/home/u/.cache/pip/x.whl', size: 5 * MB })).tool).toBe('rclone');
  });

  it('the user\'s rules come first: path glob, size and type', () => {
    const rules = [
      { path: '*.psd', tool: 'git-annex' as const },
      { type: 'image/*', min_size: '1MB', tool: 'rclone' as const, destination: 'photos' },
      { path: 'docs/**', max_size: '1kB', tool: 'git' as const },
    ];
    expect(decide(base({ path: '/home/u/art.psd', size: 10, rules }))).toMatchObject({ tool: 'git-annex', rule: 0, destination: 'projects/datasets/art.psd' });
    const photo = decide(base({ path: '/home/u/p.jpg', size: 2 * MB, mime: 'image/jpeg', rules }));
    expect(photo).toMatchObject({ tool: 'rclone', rule: 1, destination: 'laptop/photos/p.jpg' });
    expect(photo.reasons[0]).toMatch(/rule 2 .*type image\/jpeg matches image\/\*.*→ rclone/);
    expect(decide(base({ path: '/home/u/p.jpg', size: 10, mime: 'image/jpeg', rules })).rule).toBeNull(); // below min_size: the matrix
    expect(decide({ ...inRepo('docs/big.txt', 20 * MB), rules }).tool).toBe('git-annex'); // above max_size
  });

  it('thresholds come from the config', () => {
    const small = VaultConfigSchema.parse({ git_max_size: '1kB', managed_max_size: '2kB' });
    expect(decide({ ...inRepo('a.txt', 1500), config: small }).tool).toBe('git-annex');
    expect(decide(base({ size: 2500, config: small })).tool).toBe('rclone');
  });
});

describe('on real files: the type comes from the content', () => {
  const home = tempDir('ferry-decide-');
  const settings = { device: 'laptop', config, rules: [], home };
  const repos = new RepoFinder(tools());

  it('a PNG named .txt is an image; a script without an extension is a script', async () => {
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(11 * MB)]);
    writeFileSync(join(home, 'photo.txt'), png);
    writeFileSync(join(home, 'deploy'), '#!/bin/sh\necho deploy\n');
    const p = await decideFile(join(home, 'photo.txt'), settings, repos);
    expect(p.mime).toBe('image/png');
    expect(p.decision).toMatchObject({ tool: 'git-annex', destination: 'projects/media/photo.txt' });
    expect((await decideFile(join(home, 'deploy'), settings, repos)).decision.destination).toBe('scripts/deploy');
  });

  it('`ferry vault explain` prints the decision and why, without a vault, and changes nothing', async () => {
    const env = { HOME: home, XDG_CONFIG_HOME: join(home, '.config') };
    writeFileSync(join(home, 'notes.md'), '# notes\n');
    const before = readdirSync(home).sort();
    const r = await runCli(['vault', 'explain', join(home, 'notes.md'), join(home, 'deploy'), '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { decision: { tool: string; destination: string } });
    expect(lines.map((l) => l.decision.destination)).toEqual(['documents/notes.md', 'scripts/deploy']);
    const text = await runCli(['vault', 'explain', join(home, 'notes.md')], env);
    expect(text.stdout).toMatch(/→ git, managed repo: documents\/notes\.md\n.*outside any git repository/s);
    expect(readdirSync(home).sort()).toEqual(before);
  });
});
