import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { events } from './helpers/cli.js';
import { freshPgDatabase } from './helpers/postgres.js';
import { routeWorld } from './helpers/route.js';
import * as sample from './helpers/samples.js';

async function deliveries(url: string): Promise<Array<{ drive_id: string; path: string }>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ drive_id: string; path: string }>('SELECT drive_id, path FROM route_deliveries ORDER BY path')).rows;
  } finally {
    await c.end();
  }
}

describe('ferry route on a PostgreSQL database (database = "postgres://…")', () => {
  it('delivers with its state in PostgreSQL: nothing twice, status reads it, and no SQLite file is made', async () => {
    const url = await freshPgDatabase();
    const w = routeWorld();
    writeFileSync(w.config, readFileSync(w.config, 'utf8').replace('database = "route.db"', `database = ${JSON.stringify(url)}`));
    const photos = await w.dirDrive('Photos', 'images');
    const docs = await w.dirDrive('Docs', 'documents');
    sample.put(w.source, 'camera/a.png', sample.png(1));
    sample.put(w.source, 'copy-of-a.png', sample.png(1));
    sample.put(w.source, 'papers/f.pdf', sample.pdf('f'));

    const r = await w.route('sync-once', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(join(photos, 'camera'))).toEqual(['a.png']);
    expect(readFileSync(join(docs, 'papers', 'f.pdf')).equals(sample.pdf('f'))).toBe(true);
    expect(events(r.stdout).find((e) => e.type === 'route.duplicate')).toMatchObject({ path: 'copy-of-a.png', sameAs: 'camera/a.png' });
    const drives = (await deliveries(url)).map((d) => d.path);
    expect(drives).toEqual(['camera/a.png', 'papers/f.pdf']);

    const again = await w.route('sync-once', '--json');
    expect(again.code).toBe(0);
    expect(events(again.stdout).filter((e) => e.type === 'file.done')).toEqual([]);

    const status = JSON.parse((await w.route('status', '--json')).stdout) as Array<Record<string, unknown>>;
    expect(status).toEqual([
      expect.objectContaining({ label: 'Photos', delivered: 1, pending: 0 }),
      expect.objectContaining({ label: 'Docs', delivered: 1, pending: 0 }),
    ]);
    const explained = await w.route('explain', join(w.source, 'papers', 'f.pdf'));
    expect(explained.code).toBe(0);
    expect(explained.stdout).toContain('delivered as papers/f.pdf');
    expect(readdirSync(w.dir).filter((n) => n.startsWith('route.db') || n.startsWith('postgres'))).toEqual([]);
  });
});
