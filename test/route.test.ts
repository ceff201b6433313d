import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { events, finished, startCli, waitForEvent } from './helpers/cli.js';
import { routeWorld } from './helpers/route.js';
import * as sample from './helpers/samples.js';

/** Every file under `root` (relative path → sha256), ferry's marker left out. */
function files(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name !== '.ferry-drive.json') out[relative(root, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(root);
  return out;
}

/** Size, mtime and content of every source file: what "the source is never modified" is checked against. */
function snapshot(root: string): string {
  const f = files(root);
  return JSON.stringify(Object.keys(f).sort().map((k) => [k, f[k], statSync(join(root, k)).mtimeMs, statSync(join(root, k)).size]));
}

describe('ferry route with directory-backed drives', () => {
  it('sends each category of real files to its drive, keeps times, and leaves the source as it was', async () => {
    const w = routeWorld();
    const scratch = join(w.dir, 'scratch');
    sample.put(w.source, 'camera/a.png', sample.png(1));
    sample.put(w.source, 'camera/b.jpg', sample.jpeg(1));
    sample.put(w.source, 'clips/c.webm', sample.webm(scratch, 1));
    sample.put(w.source, 'music/d.mp3', sample.mp3(scratch, 1));
    sample.put(w.source, 'music/e.wav', sample.wav(1));
    sample.put(w.source, 'papers/f.pdf', sample.pdf('f'));
    sample.put(w.source, 'papers/g.md', '# g\n');
    sample.put(w.source, 'h.zip', sample.zip(scratch, 1));
    sample.put(w.source, 'misnamed.txt', sample.png(9)); // an image whatever its name says
    const images = await w.dirDrive('Images', 'images');
    const videos = await w.dirDrive('Videos', 'videos');
    const audio = await w.dirDrive('Audio', 'audio');
    const docs = await w.dirDrive('Docs', 'documents');
    const archives = await w.dirDrive('Archives', 'archives');
    const before = snapshot(w.source);

    const r = await w.route('sync-once');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(Object.keys(files(images)).sort()).toEqual(['camera/a.png', 'camera/b.jpg', 'misnamed.txt']);
    expect(Object.keys(files(videos))).toEqual(['clips/c.webm']);
    expect(Object.keys(files(audio)).sort()).toEqual(['music/d.mp3', 'music/e.wav']);
    expect(Object.keys(files(docs)).sort()).toEqual(['papers/f.pdf', 'papers/g.md']);
    expect(Object.keys(files(archives))).toEqual(['h.zip']);
    expect(files(images)['camera/b.jpg']).toBe(files(w.source)['camera/b.jpg']);
    expect(statSync(join(audio, 'music/e.wav')).mtimeMs).toBe(statSync(join(w.source, 'music/e.wav')).mtimeMs);
    expect(snapshot(w.source)).toBe(before);
    expect(r.stdout).toContain('delivered 9');

    // Nothing new: nothing delivered, nothing written.
    const again = await w.route('sync-once', '--json');
    expect(again.code).toBe(0);
    expect(events(again.stdout).filter((e) => e.type === 'file.done')).toEqual([]);
  });

  it('delivers one content to a drive once, even under other names and in later runs', async () => {
    const w = routeWorld();
    const photo = sample.png(3);
    sample.put(w.source, 'a/photo.png', photo);
    sample.put(w.source, 'b/same-photo.png', photo);
    const drive = await w.dirDrive('Photos', 'images');
    const r = await w.route('sync-once', '--json');
    expect(r.code).toBe(0);
    expect(Object.keys(files(drive))).toEqual(['a/photo.png']);
    expect(events(r.stdout).find((e) => e.type === 'route.duplicate')).toMatchObject({ path: 'b/same-photo.png', sameAs: 'a/photo.png', queued: true });
    sample.put(w.source, 'c/third-copy.png', photo);
    const later = await w.route('sync-once');
    expect(later.stdout).toContain('c/third-copy.png: same content as a/photo.png, already on Photos');
    expect(Object.keys(files(drive))).toEqual(['a/photo.png']);
  });

  it('queues while a drive is away, and process-pending drains it when it is back', async () => {
    const w = routeWorld();
    const drive = await w.dirDrive('Stick', 'documents');
    renameSync(drive, `${drive}.away`); // unplugged
    sample.put(w.source, 'report.pdf', sample.pdf('r'));
    const r = await w.route('sync-once');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('queued report.pdf');
    expect(r.stdout).toContain('waiting for Stick (1)');
    const status = JSON.parse((await w.route('status', '--json')).stdout) as Array<Record<string, unknown>>;
    expect(status).toEqual([expect.objectContaining({ label: 'Stick', here: false, pending: 1, delivered: 0 })]);
    renameSync(`${drive}.away`, drive); // plugged back
    const p = await w.route('process-pending', '--json');
    expect(p.code).toBe(0);
    expect(events(p.stdout).find((e) => e.type === 'summary')).toMatchObject({ drives: { Stick: { delivered: 1, pendingLeft: 0 } } });
    expect(Object.keys(files(drive))).toEqual(['report.pdf']);
    const after = JSON.parse((await w.route('status', '--json')).stdout) as Array<Record<string, unknown>>;
    expect(after[0]).toMatchObject({ here: true, pending: 0, delivered: 1, deliveredBytes: sample.pdf('r').length });
    expect(after[0]!.lastSeen).toMatch(/^\d{4}-/);
  });

  it('never writes to a drive whose marker names another drive', async () => {
    const w = routeWorld();
    const drive = await w.dirDrive('Stick', 'images');
    const marker = JSON.parse(readFileSync(join(drive, '.ferry-drive.json'), 'utf8')) as Record<string, string>;
    writeFileSync(join(drive, '.ferry-drive.json'), JSON.stringify({ ...marker, id: 'someone-else', label: 'Other' }));
    sample.put(w.source, 'a.png', sample.png(4));
    const r = await w.route('sync-once');
    expect(r.code).toBe(0);
    expect(readdirSync(drive)).toEqual(['.ferry-drive.json']);
    expect(r.stdout).toContain('waiting for Stick (1)');
  });

  it('keeps a file it did not deliver: a different one under the same name gets "name (2)", the same content is only recorded', async () => {
    const w = routeWorld();
    const drive = await w.dirDrive('Stick', 'images');
    sample.put(drive, 'a.png', sample.png(5)); // the user's own file, not from this source
    sample.put(drive, 'b.png', sample.png(6)); // already there, same content as the source's
    sample.put(w.source, 'a.png', sample.png(7));
    sample.put(w.source, 'b.png', sample.png(6));
    const bBefore = statSync(join(drive, 'b.png')).mtimeMs;
    const r = await w.route('sync-once');
    expect(r.code).toBe(0);
    expect(readFileSync(join(drive, 'a.png'))).toEqual(sample.png(5));
    expect(readFileSync(join(drive, 'a (2).png'))).toEqual(sample.png(7));
    expect(r.stdout).toContain('b.png: already on Stick with the same content');
    expect(statSync(join(drive, 'b.png')).mtimeMs).toBe(bBefore);

    // A source file whose own name is the one chosen for another: each keeps its bytes.
    sample.put(drive, 'c.png', sample.png(20));
    sample.put(w.source, 'c.png', sample.png(21));
    sample.put(w.source, 'c (2).png', sample.png(22));
    expect((await w.route('sync-once')).code).toBe(0);
    const onDrive = Object.values(files(drive));
    for (const seed of [20, 21, 22]) expect(onDrive).toContain(createHash('sha256').update(sample.png(seed)).digest('hex'));
  });

  it('delivers a changed file again over its own earlier copy', async () => {
    const w = routeWorld();
    const drive = await w.dirDrive('Stick', 'documents');
    const path = sample.put(w.source, 'notes.txt', 'first version\n');
    expect((await w.route('sync-once')).code).toBe(0);
    writeFileSync(path, 'second, longer version\n');
    expect((await w.route('sync-once')).code).toBe(0);
    expect(readFileSync(join(drive, 'notes.txt'), 'utf8')).toBe('second, longer version\n');
    expect(readdirSync(drive).sort()).toEqual(['.ferry-drive.json', 'notes.txt']);
  });

  it('a drive taken away mid-copy: no partial file under a final name, the file stays pending, and is delivered once back', async () => {
    const w = routeWorld(['bwlimit = "2M"']);
    const drive = await w.dirDrive('Stick', 'audio');
    const big = sample.wav(2, 150); // 2.4 MB: over a second at 2 MiB/s
    sample.put(w.source, 'long.wav', big);
    const child = startCli(['route', 'sync-once', '--json', '--config', w.config]);
    await waitForEvent(child, 'file.start');
    renameSync(drive, `${drive}.pulled`);
    const r = await finished(child);
    expect(r.code).toBe(0);
    const leftovers = readdirSync(`${drive}.pulled`).filter((n) => n !== '.ferry-drive.json');
    expect(leftovers.every((n) => n.startsWith('.ferry-tmp-'))).toBe(true);
    expect(events(r.stdout).find((e) => e.type === 'drive.done')).toMatchObject({ drive: 'Stick', delivered: 0, pendingLeft: 1 });
    renameSync(`${drive}.pulled`, drive);
    const p = await w.route('process-pending');
    expect(p.code).toBe(0);
    expect(readFileSync(join(drive, 'long.wav')).equals(big)).toBe(true); // (toEqual walks 2.4 MB byte by byte)
    expect(readdirSync(drive).sort()).toEqual(['.ferry-drive.json', 'long.wav']);
  });

  it('run: delivers new files as they settle, and a returning drive\'s queue on its own', async () => {
    const w = routeWorld();
    const docs = await w.dirDrive('Docs', 'documents');
    const images = await w.dirDrive('Images', 'images');
    renameSync(images, `${images}.away`);
    const child = startCli(['route', 'run', '--json', '--config', w.config]);
    try {
      await waitForEvent(child, 'drive.online', (e) => e.drive === 'Docs');
      const delivered = waitForEvent(child, 'file.done', (e) => e.path === 'new/notes.md');
      const queued = waitForEvent(child, 'route.queued', (e) => e.path === 'new/pic.png');
      sample.put(w.source, 'new/notes.md', '# hello\n');
      sample.put(w.source, 'new/pic.png', sample.png(8));
      await Promise.all([delivered, queued]);
      expect(existsSync(join(docs, 'new/notes.md'))).toBe(true);
      renameSync(`${images}.away`, images);
      await waitForEvent(child, 'file.done', (e) => e.path === 'new/pic.png');
      expect(readFileSync(join(images, 'new/pic.png'))).toEqual(sample.png(8));
    } finally {
      child.kill('SIGINT');
    }
    expect((await finished(child)).code).toBe(0);
  });
});
