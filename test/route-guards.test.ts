import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { events } from './helpers/cli.js';
import { routeWorld } from './helpers/route.js';
import * as sample from './helpers/samples.js';

describe('ferry route never delivers into its own source', () => {
  it('register-drive refuses a drive at the source, inside it, or holding it; nothing is written', async () => {
    const w = routeWorld();
    mkdirSync(join(w.source, 'inner'));
    for (const [path, why] of [[w.source, 'it is the source'], [join(w.source, 'inner'), 'it is inside the source'], [w.dir, 'it holds the source']] as const) {
      const r = await w.route('register-drive', '--label', 'X', '--category', 'images', '--path', path);
      expect(r.code, path).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^ferry: ${path.replace(/[/.]/g, '\\$&')} cannot be a drive: ${why}`));
      expect(existsSync(join(path, '.ferry-drive.json'))).toBe(false);
    }
    expect(readFileSync(w.config, 'utf8')).not.toMatch(/\[\[drive\]\]/);
  });

  it('validate reports a configured drive inside the source, and a run refuses it: nothing is delivered there', async () => {
    const w = routeWorld();
    const inner = join(w.source, 'usb');
    mkdirSync(inner);
    // As if registered before the check existed, or edited in by hand.
    writeFileSync(join(inner, '.ferry-drive.json'), JSON.stringify({ ferry: 'route-drive', id: 'd1', label: 'USB', category: 'images', registered: '2026-01-01' }));
    appendFileSync(w.config, `\n[[drive]]\nid = "d1"\nlabel = "USB"\ncategory = "images"\npath = ${JSON.stringify(inner)}\n`);
    sample.put(w.source, 'a.png', sample.png(1));
    const v = await w.route('validate');
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(/drive\[1\]\.path: cannot be a drive: it is inside the source/);
    const r = await w.route('sync-once', '--json');
    expect(events(r.stdout).some((e) => e.type === 'drive.refused' && String(e.reason).includes('inside the source'))).toBe(true);
    expect(existsSync(join(inner, 'a.png'))).toBe(false);
  });
});

describe('ferry route: the one decision of what is routed', () => {
  it('a rule added after a scan reclassifies the files already scanned, and they go to the new category\'s drive', async () => {
    const w = routeWorld();
    sample.put(w.source, 'notes.txt', 'plain notes\n');
    const docs = await w.dirDrive('Docs', 'documents');
    expect((await w.route('sync-once')).code).toBe(0);
    expect(existsSync(join(docs, 'notes.txt'))).toBe(true);
    const text = await w.dirDrive('Text', 'other');
    appendFileSync(w.config, '\n[[rule]]\ncategory = "other"\nextensions = ["txt"]\n');
    const r = await w.route('sync-once');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/the rules changed: 1 file\(s\) classified before now go to another category/);
    expect(existsSync(join(text, 'notes.txt'))).toBe(true);
  });

  it('explain says a file the scan leaves out is not routed, and why: hidden, partial, outside the source', async () => {
    const w = routeWorld();
    await w.dirDrive('Images', 'images');
    sample.put(w.source, '.hidden.png', sample.png(1));
    sample.put(w.source, 'download.png.part', sample.png(2));
    const outside = join(w.dir, 'elsewhere.png');
    writeFileSync(outside, sample.png(3));
    sample.put(w.source, 'fine.png', sample.png(4));
    const cases: Array<[string, RegExp | null]> = [
      [join(w.source, '.hidden.png'), /a hidden file/],
      [join(w.source, 'download.png.part'), /a partial download/],
      [outside, /not inside the source/],
      [join(w.source, 'fine.png'), null],
    ];
    for (const [file, why] of cases) {
      const r = await w.route('explain', file, '--json');
      expect(r.code, file).toBe(0);
      const e = JSON.parse(r.stdout) as { notRouted: string | null; drives: Array<{ state: string }> };
      if (why) {
        expect(e.notRouted).toMatch(why);
        expect(e.drives[0]!.state).toMatch(/^not delivered: /);
      } else expect(e.notRouted).toBeNull();
    }
    const text = await w.route('explain', join(w.source, '.hidden.png'));
    expect(text.stdout).toMatch(/routed +no: a hidden file/);
    const scan = await w.route('sync-once', '--json');
    const routed = events(scan.stdout).filter((e) => e.type === 'route.queued').map((e) => e.path);
    expect(routed).toEqual(['fine.png']);
  });
  it('a database kept inside the source: neither it nor its audit log is ever routed', async () => {
    const w = routeWorld();
    writeFileSync(w.config, readFileSync(w.config, 'utf8').replace('database = "route.db"', 'database = "source/route.db"'));
    await w.dirDrive('docs', 'documents');
    await w.dirDrive('misc', 'other');
    writeFileSync(join(w.source, 'notes.txt'), 'mine\n');
    const first = await w.route('sync-once', '--json');
    expect(first.code).toBe(0);
    const second = await w.route('sync-once', '--json');
    expect(second.code).toBe(0);
    expect(existsSync(join(w.source, 'route.log'))).toBe(true); // the deliveries' audit lines are there
    const routed = [...events(first.stdout), ...events(second.stdout)].filter((e) => e.type === 'route.queued').map((e) => e.path);
    expect(routed).toEqual(['notes.txt']);
  });
});
