import { copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { events, runCli } from './helpers/cli.js';
import { canLoopMount, canMount, loopDrive, NO_LOOP_REASON, NO_MOUNT_REASON, tmpfs } from './helpers/mounts.js';
import { routeWorld } from './helpers/route.js';
import * as sample from './helpers/samples.js';

/** What a drive holds, name → content (text files), marker left out. */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of readdirSync(dir)) if (n !== '.ferry-drive.json') out[n] = readFileSync(join(dir, n), 'utf8');
  return out;
}

describe('ferry route never overwrites what is not its own to replace', () => {
  it('a new file that reuses the name of one that left the source goes beside it: the drive keeps both', async () => {
    const w = routeWorld();
    const drive = await w.dirDrive('Docs', 'documents');
    writeFileSync(join(w.source, 'report.txt'), 'version A\n');
    expect((await w.route('sync-once')).code).toBe(0);
    rmSync(join(w.source, 'report.txt'));
    expect((await w.route('sync-once')).code).toBe(0);
    writeFileSync(join(w.source, 'report.txt'), 'a different report\n');
    expect((await w.route('sync-once')).code).toBe(0);
    expect(contents(drive)).toEqual({ 'report.txt': 'version A\n', 'report (2).txt': 'a different report\n' });
  });

  it('a file edited on the drive is kept; the source\'s new version goes beside it', async () => {
    const w = routeWorld();
    const drive = await w.dirDrive('Docs', 'documents');
    writeFileSync(join(w.source, 'notes.txt'), 'one\n');
    expect((await w.route('sync-once')).code).toBe(0);
    writeFileSync(join(drive, 'notes.txt'), 'edited on the drive\n');
    writeFileSync(join(w.source, 'notes.txt'), 'two, from the source\n');
    expect((await w.route('sync-once')).code).toBe(0);
    expect(contents(drive)).toEqual({ 'notes.txt': 'edited on the drive\n', 'notes (2).txt': 'two, from the source\n' });
  });

  it('a name ferry chose for one file, later wanted by a source file of that name: each keeps its own, run after run', async () => {
    const w = routeWorld();
    const drive = await w.dirDrive('Docs', 'documents');
    writeFileSync(join(drive, 'a.txt'), 'the user\'s own\n');
    writeFileSync(join(w.source, 'a.txt'), 'source a\n');
    expect((await w.route('sync-once')).code).toBe(0);
    writeFileSync(join(w.source, 'a (2).txt'), 'source a (2)\n');
    for (let i = 0; i < 2; i++) expect((await w.route('sync-once')).code).toBe(0);
    expect(contents(drive)).toEqual({ 'a.txt': 'the user\'s own\n', 'a (2).txt': 'source a\n', 'a (2) (2).txt': 'source a (2)\n' });
    const again = await w.route('sync-once', '--json');
    expect(events(again.stdout).filter((e) => e.type === 'file.done')).toEqual([]);
  });

  it('keeps a symlinked directory on the drive: the file under it fails, the link stays', async () => {
    const w = routeWorld();
    const drive = await w.dirDrive('Docs', 'documents');
    mkdirSync(join(drive, 'Archive', 'Docs'), { recursive: true });
    symlinkSync('Archive/Docs', join(drive, 'Docs'));
    sample.put(w.source, 'Docs/new.txt', 'new\n');
    const r = await w.route('sync-once');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('failed Docs/new.txt');
    expect(readdirSync(join(drive, 'Archive', 'Docs'))).toEqual([]);
    expect(readdirSync(drive).sort()).toEqual(['.ferry-drive.json', 'Archive', 'Docs']);
  });

  it('a file changed after it was queued does not go to its old category\'s drive; the next scan routes it anew', async () => {
    const w = routeWorld();
    const images = await w.dirDrive('Images', 'images');
    const docs = await w.dirDrive('Docs', 'documents');
    renameSync(images, `${images}.away`);
    renameSync(docs, `${docs}.away`);
    const png = sample.png(30);
    sample.put(w.source, 'photo.png', png);
    expect((await w.route('sync-once')).stdout).toContain('queued photo.png');
    writeFileSync(join(w.source, 'photo.png'), 'now a letter, in plain text\n'.padEnd(png.length - 1, '.') + '\n');
    renameSync(`${images}.away`, images);
    renameSync(`${docs}.away`, docs);
    const p = await w.route('process-pending');
    expect(p.code).toBe(0);
    expect(readdirSync(images)).toEqual(['.ferry-drive.json']);
    const s = await w.route('sync-once');
    expect(s.code).toBe(0);
    expect(readFileSync(join(docs, 'photo.png'), 'utf8')).toMatch(/^now a letter/);
    expect(readdirSync(images)).toEqual(['.ferry-drive.json']);
    expect(JSON.parse((await w.route('status', '--json')).stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ label: 'Images', pending: 0 }), expect.objectContaining({ label: 'Docs', pending: 0 })]),
    );
  });

  it('delivers into a drive\'s folder when it has one', async () => {
    const w = routeWorld();
    const drive = await w.dirDrive('Docs', 'documents');
    writeFileSync(w.config, readFileSync(w.config, 'utf8').replace(/(\[\[drive\]\][^[]*)$/, '$1folder = "incoming/ferry"\n'));
    sample.put(w.source, 'sub/x.txt', 'x\n');
    expect((await w.route('sync-once')).code).toBe(0);
    expect(readFileSync(join(drive, 'incoming/ferry/sub/x.txt'), 'utf8')).toBe('x\n');
  });
});

describe('ferry route: exit codes and clean errors', () => {
  it.skipIf(!canMount)(`a drive that fills up: what fits is delivered, the rest stays queued, exit 1 (${NO_MOUNT_REASON})`, async () => {
    const w = routeWorld();
    const small = tmpfs(600);
    expect((await w.route('register-drive', '--label', 'Tiny', '--category', 'audio', '--path', small)).code).toBe(0);
    for (let i = 0; i < 3; i++) sample.put(w.source, `take${i}.wav`, sample.wav(40 + i, 20)); // 320 KB each
    const r = await w.route('sync-once', '--json');
    expect(r.code).toBe(1);
    const done = events(r.stdout).find((e) => e.type === 'drive.done');
    expect(done).toMatchObject({ drive: 'Tiny', stoppedBy: 'full' });
    expect(Number(done!.pendingLeft)).toBeGreaterThan(0);
    expect(readdirSync(small).filter((n) => n.startsWith('take')).length).toBe(3 - Number(done!.pendingLeft));
  });

  it('init into a path that cannot be a directory: one sentence, exit 2', async () => {
    const r = await runCli(['route', 'init', '--config', '/etc/hostname/ferry/route.toml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ferry: Cannot write \/etc\/hostname\/ferry\/route\.toml: \/etc\/hostname is not a directory \(ENOTDIR\)\.\n$/);
  });
});

describe.skipIf(!canLoopMount)(`ferry route: a copied marker (${NO_LOOP_REASON})`, () => {
  it('refuses another volume that carries a copy of a drive\'s marker: its filesystem UUID is not the drive\'s', async () => {
    const w = routeWorld();
    const real = loopDrive('REAL1');
    real.plug();
    expect((await w.route('register-drive', '--label', 'REAL1', '--category', 'documents')).code).toBe(0);
    const other = loopDrive('OTHER1');
    other.plug();
    copyFileSync(join(real.mountPoint, '.ferry-drive.json'), join(other.mountPoint, '.ferry-drive.json'));
    real.unplug();
    sample.put(w.source, 'a.pdf', sample.pdf('a'));
    const r = await w.route('sync-once');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`refused ${other.mountPoint}: its marker names REAL1, but its filesystem UUID is`);
    expect(readdirSync(other.mountPoint).sort()).toEqual(['.ferry-drive.json', 'lost+found']);
    other.unplug();
  });
});

describe('ferry route: second review', () => {
  it('a scan stopped before it ends forgets nothing and unties nothing (through the library: the stop is deterministic)', async () => {
    const w = routeWorld();
    await w.dirDrive('Docs', 'documents');
    for (let i = 0; i < 20; i++) sample.put(w.source, `d/${i}.txt`, `file ${i}\n`);
    expect((await w.route('sync-once')).code).toBe(0);
    const { loadConfig } = await import('../src/faces/route/config.js');
    const { Router } = await import('../src/faces/route/router.js');
    const stop = new AbortController();
    stop.abort();
    const router = await Router.open(loadConfig(w.config), { emit: () => undefined, signal: stop.signal });
    try {
      await expect(router.scan()).rejects.toMatchObject({ code: 'INTERRUPTED' });
      expect((await router.store.knownFiles()).size).toBe(20);
      expect((await router.store.stats())[0]).toMatchObject({ delivered: 20, pending: 0 });
    } finally {
      await router.close();
    }
    writeFileSync(join(w.source, 'd/1.txt'), 'edited\n');
    expect((await w.route('sync-once')).code).toBe(0);
    expect(readFileSync(join(w.dir, 'drive-Docs', 'd/1.txt'), 'utf8')).toBe('edited\n'); // still ferry's own copy: replaced
  });

  it('a file of the user\'s found holding the same bytes is recorded, never replaced later', async () => {
    const w = routeWorld();
    const drive = await w.dirDrive('Docs', 'documents');
    writeFileSync(join(drive, 'b.txt'), 'same words\n');
    writeFileSync(join(w.source, 'b.txt'), 'same words\n');
    expect((await w.route('sync-once')).stdout).toContain('b.txt: already on Docs with the same content');
    writeFileSync(join(w.source, 'b.txt'), 'new words\n');
    expect((await w.route('sync-once')).code).toBe(0);
    expect(contents(drive)).toEqual({ 'b.txt': 'same words\n', 'b (2).txt': 'new words\n' });
  });

  it('process-pending with the source gone: exit 3, nothing dropped; back, the change replaces ferry\'s copy', async () => {
    const w = routeWorld();
    const drive = await w.dirDrive('Docs', 'documents');
    writeFileSync(join(w.source, 'a.txt'), 'one\n');
    expect((await w.route('sync-once')).code).toBe(0);
    renameSync(drive, `${drive}.away`);
    writeFileSync(join(w.source, 'a.txt'), 'two\n');
    expect((await w.route('sync-once')).code).toBe(0);
    renameSync(`${drive}.away`, drive);
    renameSync(w.source, `${w.source}.away`);
    const p = await w.route('process-pending');
    expect(p.code).toBe(3);
    expect(p.stderr).toContain('is missing or not a directory');
    renameSync(`${w.source}.away`, w.source);
    expect((await w.route('process-pending')).code).toBe(0);
    expect(contents(drive)).toEqual({ 'a.txt': 'two\n' });
  });

  it('a loop or a link on the drive fails its own file only, never counts as "already there", and a folder through a link is refused', async () => {
    const w = routeWorld();
    const drive = await w.dirDrive('Docs', 'documents');
    const elsewhere = join(w.dir, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'x.txt'), 'x\n');
    symlinkSync(elsewhere, join(drive, 'linked'));
    symlinkSync('loop2', join(drive, 'loop1'));
    symlinkSync('loop1', join(drive, 'loop2'));
    sample.put(w.source, 'linked/x.txt', 'x\n');
    sample.put(w.source, 'loop1/y.txt', 'y\n');
    sample.put(w.source, 'fine/z.txt', 'z\n');
    const r = await w.route('sync-once', '--json');
    expect(r.code).toBe(1);
    const e = events(r.stdout);
    expect(e.filter((x) => x.type === 'file.error').map((x) => x.path).sort()).toEqual(['linked/x.txt', 'loop1/y.txt']);
    expect(e.find((x) => x.type === 'route.present')).toBeUndefined();
    expect(readFileSync(join(drive, 'fine/z.txt'), 'utf8')).toBe('z\n');
    expect(readdirSync(elsewhere)).toEqual(['x.txt']);

    writeFileSync(w.config, readFileSync(w.config, 'utf8').replace(/(\[\[drive\]\][^[]*)$/, '$1folder = "linked/in"\n'));
    const f = await w.route('sync-once', '--json');
    expect(f.code).toBe(1);
    expect(events(f.stdout).find((x) => x.type === 'drive.done')).toMatchObject({ stoppedBy: 'error' });
    expect(readdirSync(elsewhere)).toEqual(['x.txt']);
  });

  it.skipIf(process.getuid?.() !== 0)('register-drive that cannot write the configuration: one sentence, exit 2, the drive as it was', async () => {
    const w = routeWorld();
    const drive = join(w.dir, 'stick');
    mkdirSync(drive);
    const { execFileSync } = await import('node:child_process');
    execFileSync('chattr', ['+i', w.config]);
    try {
      const r = await w.route('register-drive', '--label', 'S', '--category', 'images', '--path', drive);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^ferry: Could not add the drive to .*: operation not permitted \(EPERM\); the file is as it was\.\n/);
      expect(readdirSync(drive)).toEqual([]);
      expect(readdirSync(w.dir).filter((n) => n.includes('.tmp'))).toEqual([]);
    } finally {
      execFileSync('chattr', ['-i', w.config]);
    }
  });
});
