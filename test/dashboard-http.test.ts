import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PgStore, SqliteStore, type StatsSnapshot } from '../dist/index.js';
import { finished, runCli, startCli, waitForEvent } from './helpers/cli.js';
import { freshPgDatabase } from './helpers/postgres.js';
import { tempDir } from './helpers/tree.js';
import { initDevice, vaultWorld } from './helpers/vault.js';

/*
 * `ferry dashboard` over HTTP, without a browser: what a running copy publishes through its Store,
 * what the server answers and refuses (read-only, loopback names, keys beyond loopback, no path from
 * a request), and `ferry serve`'s own page. Real processes, real sockets on port 0.
 */
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => finished(c).catch(() => undefined)));
});

function world(): { dir: string; env: Record<string, string>; stateDir: string } {
  const dir = tempDir('ferry-dash-http-');
  return { dir, env: { XDG_STATE_HOME: join(dir, 'state'), XDG_CONFIG_HOME: join(dir, 'config') }, stateDir: join(dir, 'state', 'ferry') };
}

async function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code}`)));
  });
}

async function dashboard(env: Record<string, string>, args: string[] = []): Promise<string> {
  const child = startCli(['dashboard', '--port', '0', '--json', ...args], env);
  children.push(child);
  return (JSON.parse(await firstLine(child)) as { url: string }).url;
}

/** A raw request (Host and method as given: fetch would not send a foreign Host). */
function raw(url: string, o: { method?: string; host?: string; path?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method: o.method ?? 'GET', path: o.path ?? '/', headers: { ...(o.host ? { host: o.host } : {}), ...o.headers } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a running copy publishes its stats through its Store', () => {
  it('about once a second while it runs, with samples for the chart, and its end', async () => {
    const { dir, env, stateDir } = world();
    const src = join(dir, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.bin'), Buffer.alloc(3 * 1024 * 1024, 1));
    const db = join(stateDir, 'job.db');
    const r = await runCli(['copy', src, join(dir, 'dst'), '--bwlimit', '1M', '--db', db], env);
    expect(r.code).toBe(0);
    const store = SqliteStore.open(db, { readOnly: true });
    try {
      const job = (await store.describe())!;
      const live = (await store.liveStats(job.runs[0]!.id))!;
      expect(live.pid).toBeGreaterThan(0);
      expect(live.stats.phase).toBe('done');
      expect(live.stats.bytesSession).toBe(3 * 1024 * 1024);
      // About three seconds at 1 MiB/s: a sample each second, the last one at the end.
      expect(live.samples.length).toBeGreaterThanOrEqual(3);
      expect(live.samples.at(-1)!.bytes).toBe(3 * 1024 * 1024);
      const times = live.samples.map((s) => s.tMs);
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    } finally {
      await store.close();
    }
  });

  it.each([['SQLite'], ['PostgreSQL']])('%s keeps the snapshot and the samples, and failures with their errors', async (engine) => {
    const store = engine === 'SQLite' ? SqliteStore.open(join(tempDir('ferry-dash-store-'), 'job.db')) : await PgStore.open(await freshPgDatabase());
    try {
      await store.bindJob('/s', '/d');
      const run = await store.startRun('scan');
      const stats: StatsSnapshot = { phase: 'transferring', elapsedMs: 10, bytesSession: 5, bytesOverall: 5, filesDone: 1, filesFailed: 0, filesSkipped: 0, backlogFiles: 2, backlogBytes: 9, rateNow: 1, rateAvg: 1, current: [], queue: { used: 0, capacity: 1 } };
      await store.publishStats(run, { host: 'h', pid: 42, stats }, { tMs: 1000, bytes: 0, files: 0 });
      await store.publishStats(run, { host: 'h', pid: 42, stats: { ...stats, bytesSession: 9 } }, { tMs: 2000, bytes: 9, files: 1 });
      await store.publishStats(run, { host: 'h', pid: 42, stats: { ...stats, bytesSession: 10 } });
      const live = (await store.liveStats(run))!;
      expect(live).toMatchObject({ runId: run, host: 'h', pid: 42, stats: { bytesSession: 10 } });
      expect(live.samples).toEqual([{ tMs: 1000, bytes: 0, files: 0 }, { tMs: 2000, bytes: 9, files: 1 }]);
      expect(await store.liveStats(run + 1)).toBeNull();
      expect(await store.failures(10)).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe('ferry dashboard over HTTP', () => {
  it('serves the page with a strict policy, the jobs as JSON and an event stream; read-only', async () => {
    const { dir, env } = world();
    const src = join(dir, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'x.txt'), 'x\n');
    expect((await runCli(['copy', src, join(dir, 'dst')], env)).code).toBe(0);
    const url = await dashboard(env);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await raw(url);
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.body).not.toMatch(/<script>(?!<)|<script(?![^>]*\bsrc=)[^>]*>|style=|<style/);
    const jobs = JSON.parse((await raw(url, { path: '/api/dashboard/jobs' })).body) as { jobs: Array<{ face: string; state: string; copy: { resume: string[] } }> };
    expect(jobs.jobs).toHaveLength(1);
    expect(jobs.jobs[0]).toMatchObject({ face: 'copy', state: 'done' });
    expect(jobs.jobs[0]!.copy.resume).toEqual(['ferry', 'copy', src, join(dir, 'dst')]);
    // The event stream opens with the jobs that change from now on.
    const ac = new AbortController();
    const res = await fetch(`${url}api/dashboard/events`, { signal: ac.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    ac.abort();
    // Read-only, and nothing but its own files.
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) expect((await raw(url, { method, path: '/api/dashboard/jobs' })).status).toBe(405);
    for (const path of ['/etc/passwd', '/dashboard/../../package.json', '/dashboard/%2e%2e/%2e%2e/package.json', '/dashboard/app.js/../../../etc/passwd', '/api/dashboard/jobs/../../x']) {
      const r = await raw(url, { path });
      expect(r.status, path).toBe(404);
      expect(r.body).not.toContain('root:');
    }
    // A page of another site that resolves its name to 127.0.0.1 (DNS rebinding) is refused.
    const rebound = await raw(url, { path: '/api/dashboard/jobs', host: 'evil.example:80' });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body).message).toMatch(/loopback/);
  });

  it('a copy killed with -9 says so, and when; a torn vault registry shows no vault instead of failing', async () => {
    const { dir, env } = world();
    const src = join(dir, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.bin'), Buffer.alloc(8 * 1024 * 1024, 1));
    const copy = startCli(['copy', src, join(dir, 'dst'), '--bwlimit', '1M', '--json'], env);
    children.push(copy);
    await waitForEvent(copy, 'stats', (e) => e.phase === 'transferring');
    const url = await dashboard(env);
    const jobs = async (): Promise<Array<{ state: string; stateText: string; sinceMs: number }>> => (JSON.parse((await raw(url, { path: '/api/dashboard/jobs' })).body) as { jobs: Array<{ state: string; stateText: string; sinceMs: number }> }).jobs;
    expect((await jobs())[0]!.state).toBe('running');
    copy.kill('SIGKILL');
    await finished(copy);
    const killedAt = Date.now();
    let job = (await jobs())[0]!;
    for (let i = 0; i < 40 && job.state !== 'killed'; i++) {
      await new Promise((r) => setTimeout(r, 250));
      job = (await jobs())[0]!;
    }
    expect(job.state).toBe('killed');
    expect(job.stateText).toMatch(/stopped without recording its end/);
    expect(Math.abs(job.sinceMs - killedAt)).toBeLessThan(5000);

    // Now a vault registry cut short: no vault shown, the copy still is.
    mkdirSync(join(dir, 'config', 'ferry'), { recursive: true });
    writeFileSync(join(dir, 'config', 'ferry', 'vault.json'), '{"managed": "/x');
    const odd = await dashboard(env);
    const r = await raw(odd, { path: '/api/dashboard/jobs' });
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as { jobs: Array<{ face: string }> }).jobs.map((j) => j.face)).toEqual(['copy']);
  });

  it('refuses bad input in one sentence, with exit 2', async () => {
    const { dir, env } = world();
    writeFileSync(join(dir, 'a-file'), 'x');
    const cases: Array<[string[], RegExp]> = [
      [['--port', 'eighty'], /--port takes a port number/],
      [['--db', join(dir, 'missing.db')], /is not a ferry database/],
      [['--host', '0.0.0.0'], /only with a key.*no server database/],
      [['--state-dir', join(dir, 'nowhere')], /--state-dir .* is not there/],
      [['--state-dir', join(dir, 'a-file')], /--state-dir .* is not a directory/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['dashboard', '--port', '0', ...args], env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('beyond loopback, takes the key of a server it shows: the data needs it, the page files do not', async () => {
    const { dir, env } = world();
    const add = await runCli(['serve', 'keys', 'add', '--name', 'dash', '--dir', join(dir, 'served'), '--json'], env);
    expect(add.code).toBe(0);
    const { key } = JSON.parse(add.stdout) as { key: string };
    const url = (await dashboard(env, ['--host', '0.0.0.0'])).replace('0.0.0.0', '127.0.0.1');
    expect((await raw(url)).status).toBe(200);
    expect((await raw(url, { path: '/dashboard/app.js' })).status).toBe(200);
    expect((await raw(url, { path: '/api/dashboard/jobs' })).status).toBe(401);
    expect((await raw(url, { path: '/api/dashboard/jobs?api_key=wrong' })).status).toBe(401);
    expect((await raw(url, { path: '/api/dashboard/events' })).status).toBe(401);
    const ok = await raw(url, { path: `/api/dashboard/jobs?api_key=${encodeURIComponent(key)}` });
    expect(ok.status).toBe(200);
    expect((JSON.parse(ok.body) as { jobs: Array<{ face: string }> }).jobs.map((j) => j.face)).toEqual(['server']);
    expect((await raw(url, { path: '/api/dashboard/jobs', headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
  });

  it('ferry serve shows the same page at / for its own clients, behind its keys', async () => {
    const { dir, env } = world();
    const add = await runCli(['serve', 'keys', 'add', '--name', 'k', '--dir', join(dir, 'served'), '--json'], env);
    const { key } = JSON.parse(add.stdout) as { key: string };
    const serve = startCli(['serve', '--dir', join(dir, 'served'), '--port', '0', '--quiet'], env);
    children.push(serve);
    const url = /listening on (\S+)/.exec(await firstLine(serve))![1]!;
    const page = await raw(url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('/dashboard/app.js');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect((await raw(url, { path: '/api/dashboard/jobs' })).status).toBe(401);
    const reg = await fetch(`${url}/register`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ client_name: 'phone' }) });
    expect(reg.status).toBe(200);
    const jobs = JSON.parse((await raw(url, { path: '/api/dashboard/jobs', headers: { authorization: `Bearer ${key}` } })).body) as { jobs: Array<{ face: string; server: { clients: Array<{ name: string; connected: boolean }> } }> };
    expect(jobs.jobs).toHaveLength(1);
    // Connected means a WebSocket open now, as the server itself knows: a client that only registered is not.
    expect(jobs.jobs[0]!.server.clients).toEqual([expect.objectContaining({ name: 'phone', connected: false })]);
  });

  it('shows the vault of this machine: its status summary, devices, the lock and the last sync', async () => {
    const w = vaultWorld();
    const laptop = await initDevice(w, 'laptop');
    laptop.write('notes/todo.md', '# todo\n');
    await laptop.ok(['add', 'notes/todo.md']);
    await laptop.ok(['sync']);
    const url = await dashboard(laptop.env as Record<string, string>);
    type VaultJob = { face: string; state: string; stateText: string; vault: { managed: string; devices: Array<{ name: string }>; lock: unknown; lastSync: { result: string }; summary: string[] } };
    // The vault's status runs git, git-annex and rclone: a round does not wait for it past a few seconds.
    let vault: VaultJob | undefined;
    for (let i = 0; i < 60 && !vault; i++) {
      vault = (JSON.parse((await raw(url, { path: '/api/dashboard/jobs' })).body) as { jobs: VaultJob[] }).jobs.find((j) => j.face === 'vault');
      if (!vault) await new Promise((r) => setTimeout(r, 500));
    }
    if (!vault) throw new Error('the vault never appeared');
    expect(vault.vault.managed).toBe(laptop.managed);
    expect(vault.vault.devices.map((d) => d.name)).toEqual(['laptop']);
    expect(vault.vault.lock).toBeNull();
    expect(vault.vault.lastSync.result).toBe('ok');
    expect(vault.stateText).toBe('last sync: ok');
    expect(vault.vault.summary.join('\n')).toMatch(/^branch .* 0 ahead, 0 behind/);
  });
});
