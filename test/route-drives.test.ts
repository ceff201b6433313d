import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { events, finished, startCli, waitForEvent } from './helpers/cli.js';
import { canLoopMount, loopDrive, NO_LOOP_REASON } from './helpers/mounts.js';
import { routeWorld } from './helpers/route.js';
import * as sample from './helpers/samples.js';

/**
 * Drives as real mounts: ext4 images with filesystem labels, loop-mounted (mount = plug, umount =
 * unplug, `umount -l` = pulled out while being written). Root only; the directory-backed tests in
 * route.test.ts run everywhere.
 */
describe.skipIf(!canLoopMount)(`ferry route with loop-mounted drives (${NO_LOOP_REASON})`, () => {
  it('registers a drive by its filesystem label, queues while it is unplugged and drains when it is plugged back', async () => {
    const w = routeWorld();
    const stick = loopDrive('MUSIC1');
    stick.plug();
    const reg = await w.route('register-drive', '--label', 'MUSIC1', '--category', 'audio', '--json');
    expect(reg.code).toBe(0);
    const drive = JSON.parse(reg.stdout) as { path: string; fsUuid: string; fsLabel: string };
    expect(drive).toMatchObject({ path: stick.mountPoint, fsLabel: 'MUSIC1' });
    expect(drive.fsUuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(readFileSync(w.config, 'utf8')).toContain(`fs_uuid = "${drive.fsUuid}"`);
    const connected = JSON.parse((await w.route('list-connected', '--json')).stdout) as Array<Record<string, unknown>>;
    expect(connected).toContainEqual(expect.objectContaining({ mountPoint: stick.mountPoint, label: 'MUSIC1', uuid: drive.fsUuid, drive: 'MUSIC1' }));

    stick.unplug();
    sample.put(w.source, 'songs/tone.wav', sample.wav(3));
    const once = await w.route('sync-once');
    expect(once.code).toBe(0);
    expect(once.stdout).toContain('waiting for MUSIC1 (1)');
    const listed = JSON.parse((await w.route('list-drives', '--json')).stdout) as Array<Record<string, unknown>>;
    expect(listed[0]).toMatchObject({ label: 'MUSIC1', here: false });

    stick.plug();
    const p = await w.route('process-pending');
    expect(p.code).toBe(0);
    expect(readFileSync(join(stick.mountPoint, 'songs/tone.wav'))).toEqual(sample.wav(3));
    const status = JSON.parse((await w.route('status', '--json')).stdout) as Array<Record<string, unknown>>;
    expect(status[0]).toMatchObject({ label: 'MUSIC1', here: true, delivered: 1, pending: 0 });
    stick.unplug(); // nothing of ferry's is left open on it
  });

  it('run: a drive plugged in gets its queue on its own, and can be unplugged right after', async () => {
    const w = routeWorld();
    const stick = loopDrive('PHOTO1');
    stick.plug();
    expect((await w.route('register-drive', '--label', 'PHOTO1', '--category', 'images')).code).toBe(0);
    stick.unplug();
    const child = startCli(['route', 'run', '--json', '--config', w.config]);
    try {
      const queued = waitForEvent(child, 'route.queued', (e) => e.path === 'pic.png');
      sample.put(w.source, 'pic.png', sample.png(11));
      await queued;
      const delivered = waitForEvent(child, 'drive.done', (e) => e.drive === 'PHOTO1' && e.pendingLeft === 0);
      stick.plug();
      await delivered;
      expect(readFileSync(join(stick.mountPoint, 'pic.png'))).toEqual(sample.png(11));
      const offline = waitForEvent(child, 'drive.offline', (e) => e.drive === 'PHOTO1');
      stick.unplug(); // a plain umount: it fails (EBUSY) if ferry still held anything open on the drive
      await offline;
    } finally {
      child.kill('SIGINT');
    }
    expect((await finished(child)).code).toBe(0);
  });

  it('a drive pulled out mid-copy: no partial file under a final name, the file stays pending, and is delivered on return', async () => {
    const w = routeWorld(['bwlimit = "2M"']);
    const stick = loopDrive('AUDIO2', 32);
    stick.plug();
    const reg = await w.route('register-drive', '--label', 'AUDIO2', '--category', 'audio');
    expect(reg.stderr).toBe('');
    expect(reg.code).toBe(0);
    const big = sample.wav(4, 150); // 2.4 MB: over a second at 2 MiB/s
    sample.put(w.source, 'long/take.wav', big);
    const child = startCli(['route', 'sync-once', '--json', '--config', w.config]);
    await waitForEvent(child, 'file.start');
    stick.unplug(true);
    const r = await finished(child);
    expect(r.code).toBe(0);
    expect(events(r.stdout).find((e) => e.type === 'drive.done')).toMatchObject({ drive: 'AUDIO2', delivered: 0, pendingLeft: 1 });
    // Nothing landed in the bare mount point (on the system disk) once the drive was gone.
    expect(readdirSync(stick.mountPoint)).toEqual([]);

    stick.plug();
    const there = existsSync(join(stick.mountPoint, 'long')) ? readdirSync(join(stick.mountPoint, 'long')) : [];
    expect(there.filter((n) => !n.startsWith('.ferry-tmp-'))).toEqual([]); // at most a temp file, never take.wav
    const p = await w.route('process-pending');
    expect(p.code).toBe(0);
    expect(readFileSync(join(stick.mountPoint, 'long/take.wav')).equals(big)).toBe(true);
    expect(readdirSync(join(stick.mountPoint, 'long'))).toEqual(['take.wav']); // the retry reused the temp file
  });

  it('refuses a volume without the drive\'s marker: another one mounted in its place, or a clone with its UUID', async () => {
    const w = routeWorld();
    const stick = loopDrive('DOCS1');
    stick.plug();
    expect((await w.route('register-drive', '--label', 'DOCS1', '--category', 'documents')).code).toBe(0);
    stick.unplug();
    sample.put(w.source, 'paper.pdf', sample.pdf('paper'));

    // Another stick with the same label, mounted where DOCS1 was.
    const impostor = loopDrive('DOCS1', 16, stick.mountPoint);
    impostor.plug();
    const r = await w.route('sync-once');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`refused ${stick.mountPoint}: it has no ferry marker`);
    expect(readdirSync(stick.mountPoint).sort()).toEqual(['lost+found']);
    impostor.unplug();

    // A block-for-block copy of DOCS1 (same filesystem UUID) whose marker was removed, mounted elsewhere.
    const clone = loopDrive('CLONE');
    copyFileSync(stick.image, clone.image);
    clone.plug();
    rmSync(join(clone.mountPoint, '.ferry-drive.json'));
    const again = await w.route('sync-once');
    expect(again.stderr).toContain(`refused ${clone.mountPoint}: it has the filesystem UUID of DOCS1 but no ferry marker`);
    expect(readdirSync(clone.mountPoint).sort()).toEqual(['lost+found']);
    clone.unplug();

    stick.plug();
    expect((await w.route('process-pending')).code).toBe(0);
    expect(readFileSync(join(stick.mountPoint, 'paper.pdf'))).toEqual(sample.pdf('paper'));
    stick.unplug();
  });
});
