import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copy, COPY_DEFAULTS, EXIT, exitCodeFor } from '../dist/index.js';
import { routeWorld } from './helpers/route.js';
import * as sample from './helpers/samples.js';
import { tempDir, tempTree } from './helpers/tree.js';

describe('one mapper from a face\'s outcome to its exit code', () => {
  it('maps ok, failed, refused and interrupted to the documented codes', () => {
    expect(exitCodeFor('ok')).toBe(EXIT.ok);
    expect(exitCodeFor('failed')).toBe(EXIT.failedFiles);
    expect(exitCodeFor('refused')).toBe(EXIT.refused);
    expect(exitCodeFor('interrupted')).toBe(EXIT.interrupted);
  });

  it('a copy\'s result carries its outcome and the exit code the mapper gives it', async () => {
    const src = tempTree({ 'a.txt': 'a' });
    const work = tempDir();
    const r = await copy({ ...COPY_DEFAULTS, source: src, destination: join(work, 'dst'), db: join(work, 'job.db'), deleteExtras: false, rescan: false, dryRun: false }, () => undefined, new AbortController().signal);
    expect(r.outcome).toBe('ok');
    expect(r.exitCode).toBe(exitCodeFor(r.outcome));
    expect(r.log).toBe(join(work, 'job.log'));
  });
});

describe('every face writes the audit log', () => {
  it('a route delivery leaves an audit line beside the route database, as a copy does', async () => {
    const w = routeWorld();
    const docs = await w.dirDrive('Docs', 'documents');
    sample.put(w.source, 'notes.md', '# hello\n');
    const r = await w.route('sync-once');
    expect(r.code).toBe(0);
    const log = join(w.dir, 'route.log');
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({ status: 'synced', source: join(w.source, 'notes.md'), destination: join(docs, 'notes.md'), size: 8, checksum: expect.any(String) }),
    ]);
    // Commands that only read leave no log behind them.
    const fresh = routeWorld();
    expect((await fresh.route('status')).code).toBe(0);
    expect(existsSync(join(fresh.dir, 'route.log'))).toBe(false);
  });
});
