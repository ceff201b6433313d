/**
 * `ferry serve` and `ferry client` end to end: real server processes and real clients through the
 * built CLI, each client with its own folder and state directory (docs/serve.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN } from './helpers/cli.js';
import { tempDir } from './helpers/tree.js';

// ---------------------------------------------------------------------------------------------
// Processes

interface Proc {
  child: ChildProcess;
  name: string;
  stdout: string;
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<Proc>();

afterEach(async () => {
  const running = [...live];
  live.clear();
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(running.map((p) => p.exited));
});

function spawnFerry(name: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: o.cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const p: Proc = {
    child,
    name,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal }))),
  };
  child.stdout!.on('data', (d: Buffer) => (p.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (p.stderr += d.toString()));
  live.add(p);
  void p.exited.then(() => live.delete(p));
  return p;
}

async function runFerry(args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnFerry(args.join(' '), args, o);
  const { code } = await p.exited;
  return { code, stdout: p.stdout, stderr: p.stderr };
}

/** Resolves with the match once `p`'s stream (all of it so far) matches `re`; rejects when it exits first or after `ms`. */
async function waitFor(p: Proc, re: RegExp, stream: 'stdout' | 'stderr' = 'stdout', ms = 15_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = p[stream].match(re);
    if (m) return m;
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}) before printing ${re}\nstdout: ${p.stdout}\nstderr: ${p.stderr}`);
    }
    if (Date.now() > deadline) throw new Error(`${p.name} did not print ${re} within ${ms} ms\nstdout: ${p.stdout}\nstderr: ${p.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** SIGTERM, then the exit code (which must be 0: a clean stop). */
async function stop(p: Proc): Promise<void> {
  p.child.kill('SIGTERM');
  const r = await p.exited;
  expect({ name: p.name, code: r.code, signal: r.signal, stderr: p.stderr.slice(-2000) }).toEqual({ name: p.name, code: 0, signal: null, stderr: expect.any(String) as string });
}

// ---------------------------------------------------------------------------------------------
// Server and clients

interface Server {
  proc: Proc;
  port: number;
  url: string;
  dir: string;
  db: string;
}

async function serve(o: { dir?: string; db?: string; port?: number; quiet?: boolean; extra?: string[] } = {}): Promise<Server> {
  const work = o.dir && o.db ? undefined : tempDir('ferry-serve-');
  const dir = o.dir ?? join(work!, 'sync_data');
  const db = o.db ?? join(work!, 'server.db');
  const args = ['serve', '--port', String(o.port ?? 0), '--dir', dir, '--db', db, ...(o.quiet === false ? [] : ['--quiet']), ...(o.extra ?? [])];
  const proc = spawnFerry(`serve :${o.port ?? 0}`, args, { env: { XDG_STATE_HOME: join(dir, '..', 'server-state') } });
  const m = await waitFor(proc, /^listening on (http:\/\/127\.0\.0\.1:(\d+))$/m);
  return { proc, port: Number(m[2]), url: m[1]!, dir, db };
}

interface Client {
  name: string;
  work: string;
  dir: string;
  config: string;
  env: NodeJS.ProcessEnv;
  proc?: Proc;
}

async function makeClient(name: string, server: string): Promise<Client> {
  const work = tempDir(`ferry-client-${name}-`);
  const lower = name.toLowerCase();
  const env = { XDG_STATE_HOME: join(work, 'state'), HOME: work };
  const r = await runFerry(['client', 'init', '--name', name, '--sync-dir', `./${lower}`, '--server', server, '--config', `${lower}.yaml`], { cwd: work, env });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const config = join(work, `${lower}.yaml`);
  appendFileSync(config, 'debounce_ms: 100\n');
  mkdirSync(join(work, lower), { recursive: true });
  return { name, work, dir: join(work, lower), config, env };
}

/** `ferry client start --json`, resolved once it is connected (its first full sync done), unless told not to wait. */
async function start(c: Client, o: { wait?: boolean } = {}): Promise<Proc> {
  const p = spawnFerry(`client ${c.name}`, ['client', 'start', '--config', c.config, '--json'], { cwd: c.work, env: c.env });
  c.proc = p;
  if (o.wait !== false) await waitFor(p, /"type":"client\.connection","state":"connected"/);
  return p;
}

async function stopClient(c: Client): Promise<void> {
  await stop(c.proc!);
  c.proc = undefined;
}

async function syncOnce(c: Client): Promise<string> {
  const r = await runFerry(['client', 'sync-once', '--config', c.config, '--verbose'], { cwd: c.work, env: c.env });
  expect({ client: c.name, code: r.code, stderr: r.stderr }).toEqual({ client: c.name, code: 0, stderr: '' });
  return r.stdout;
}

interface Status {
  client_name: string;
  client_id: string | null;
  reachable: boolean;
  connected: boolean;
  last_sync: string | null;
  last_seq: number;
  pending_uploads: number;
  pending_downloads: number;
  conflicts: Array<{ path: string; copy: string; time: string }>;
}

async function status(c: Client): Promise<Status> {
  const r = await runFerry(['client', 'status', '--config', c.config, '--json'], { cwd: c.work, env: c.env });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(r.stdout) as Status;
}

// ---------------------------------------------------------------------------------------------
// Trees

const TEMP = /^\.ferry-tmp-[0-9a-f]{16}$/;
const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** How a file's bytes show in a tree: small text as itself, anything else by its SHA-256. */
function shown(b: Buffer): string {
  if (b.length <= 256) {
    const s = b.toString('utf8');
    if (Buffer.from(s, 'utf8').equals(b)) return s;
  }
  return `sha256:${sha256(b)}`;
}

/** A conflict copy's name with its time stamp as `*` (for comparing trees made at different times). */
const COPY_STAMP = /\.sync-conflict-\d{8}-\d{6}-/;
const unstamped = (t: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(t).map(([k, v]) => [k.replace(COPY_STAMP, '.sync-conflict-*-'), v]));

/** Every regular file under root (ferry's temp files left out): relative path → its bytes as `shown`. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, prefix: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      if (TEMP.test(name)) continue;
      const full = join(dir, name);
      let st;
      try {
        st = statSync(full);
      } catch {
        continue; // went away while walked
      }
      if (st.isDirectory()) walk(full, `${prefix}${name}/`);
      else if (st.isFile()) {
        try {
          out[`${prefix}${name}`] = shown(readFileSync(full));
        } catch {
          // went away while read
        }
      }
    }
  };
  walk(root, '');
  return out;
}

const write = (root: string, rel: string, content: string | Buffer): void => {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), content);
};

const POLL = { timeout: 15_000, interval: 100 };

/** Polls until every directory holds exactly `expected` (conflict copies named with `*` for their time stamp). */
async function converge(dirs: Record<string, string>, expected: Record<string, string>, timeout = POLL.timeout): Promise<void> {
  await expect
    .poll(() => Object.fromEntries(Object.entries(dirs).map(([k, d]) => [k, unstamped(tree(d))])), { ...POLL, timeout })
    .toEqual(Object.fromEntries(Object.keys(dirs).map((k) => [k, expected])));
}

/** The client's output, for a failure message. */
const outputOf = (...cs: Client[]): string => cs.map((c) => `--- ${c.name}\n${c.proc?.stdout ?? ''}${c.proc?.stderr ?? ''}`).join('\n');

// ---------------------------------------------------------------------------------------------

describe('ferry serve + ferry client', () => {
  it('two running clients: create, modify, rename, delete, nested dirs, unicode names and an empty file reach the other side byte for byte; ignored files never leave', async () => {
    const s = await serve();
    const a = await makeClient('A', s.url);
    const b = await makeClient('B', s.url);
    await start(a);
    await start(b);
    const all = { a: a.dir, b: b.dir, server: s.dir };
    const want: Record<string, string> = {};
    try {
      // create
      write(a.dir, 'hello.txt', 'hello from A\n');
      want['hello.txt'] = 'hello from A\n';
      await converge(all, want);

      // modify
      write(a.dir, 'hello.txt', 'hello again, longer this time\n');
      want['hello.txt'] = 'hello again, longer this time\n';
      await converge(all, want);

      // rename (mv)
      renameSync(join(a.dir, 'hello.txt'), join(a.dir, 'renamed.txt'));
      delete want['hello.txt'];
      want['renamed.txt'] = 'hello again, longer this time\n';
      await converge(all, want);

      // delete
      unlinkSync(join(a.dir, 'renamed.txt'));
      delete want['renamed.txt'];
      await converge(all, want);

      // a new nested directory with files, unicode (NFC) names, an empty file, binary bytes
      const uni = 'ünïcødé 文件.txt'.normalize('NFC');
      const bin = randomBytes(300_000);
      write(a.dir, 'deep/er/still/one.txt', 'one');
      write(a.dir, 'deep/er/two.txt', 'two');
      write(a.dir, 'deep/three.bin', bin);
      write(a.dir, uni, 'unicode content ✓');
      write(a.dir, 'empty.txt', '');
      Object.assign(want, { 'deep/er/still/one.txt': 'one', 'deep/er/two.txt': 'two', 'deep/three.bin': `sha256:${sha256(bin)}`, [uni]: 'unicode content ✓', 'empty.txt': '' });
      await converge(all, want);
      expect(readdirSync(b.dir)).toContain(uni);
      expect(readFileSync(join(b.dir, 'deep/three.bin')).equals(bin)).toBe(true);
      expect(statSync(join(b.dir, 'empty.txt')).size).toBe(0);

      // the other way: B creates and edits, A sees it
      write(b.dir, 'deep/from-b.txt', 'written on B');
      write(b.dir, 'deep/er/two.txt', 'two, edited on B');
      Object.assign(want, { 'deep/from-b.txt': 'written on B', 'deep/er/two.txt': 'two, edited on B' });
      await converge(all, want);

      // a directory renamed (mv), with its files; then one removed with its files
      renameSync(join(a.dir, 'deep/er'), join(a.dir, 'deep/moved'));
      for (const k of ['deep/er/still/one.txt', 'deep/er/two.txt']) {
        want[k.replace('deep/er/', 'deep/moved/')] = want[k]!;
        delete want[k];
      }
      await converge(all, want);
      rmSync(join(a.dir, 'deep/moved'), { recursive: true });
      delete want['deep/moved/still/one.txt'];
      delete want['deep/moved/two.txt'];
      await converge(all, want);
      expect(readdirSync(join(b.dir, 'deep')).sort()).toEqual(['from-b.txt', 'three.bin']); // no empty directories left behind

      // ignored: *.tmp and .git/ stay on the machine; a marker written after them shows they had their chance
      write(a.dir, 'scratch.tmp', 'ignored');
      write(a.dir, 'deep/also.tmp', 'ignored');
      write(a.dir, '.git/config', '[core]\n');
      write(a.dir, '.git/objects/ab/cdef', 'blob');
      write(a.dir, 'marker.txt', 'after the ignored ones');
      want['marker.txt'] = 'after the ignored ones';
      const ignored = { 'scratch.tmp': 'ignored', 'deep/also.tmp': 'ignored', '.git/config': '[core]\n', '.git/objects/ab/cdef': 'blob' };
      await converge({ b: b.dir, server: s.dir }, want);
      await converge({ a: a.dir }, { ...want, ...ignored });
      // and an edit of an ignored file, then another marker
      write(a.dir, 'scratch.tmp', 'ignored, edited');
      write(a.dir, 'marker2.txt', 'second marker');
      want['marker2.txt'] = 'second marker';
      await converge({ b: b.dir, server: s.dir }, want);
      expect(readdirSync(s.dir)).not.toContain('.git');
      expect(a.proc!.stdout + a.proc!.stderr).not.toMatch(/"path":"(scratch\.tmp|deep\/also\.tmp|\.git[^"]*)"/);
      // a file's rename went as a move (not a delete and an upload), and was done as one on B
      expect(a.proc!.stdout).toContain('{"type":"client.action","action":"move_remote","path":"hello.txt","to":"renamed.txt"}');
      expect(b.proc!.stdout).toContain('{"type":"client.action","action":"move_local","path":"hello.txt","to":"renamed.txt"}');
      // nothing failed on the way
      for (const c of [a, b]) expect(c.proc!.stdout + c.proc!.stderr).not.toMatch(/"type":"client\.(failed|notice)"/);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${outputOf(a, b)}`, { cause: err });
    }
    await stopClient(a);
    await stopClient(b);
    await stop(s.proc);
  });

  // The edit is made once B has recorded the download (its "download" event): an edit that lands inside
  // the download's own commit (between the rename and the times being set) is a known race, left open.
  it('an edit made just after a file arrived is sent, not taken for the version that arrived', async () => {
    const s = await serve();
    const a = await makeClient('A', s.url);
    const b = await makeClient('B', s.url);
    await start(a);
    await start(b);
    const want: Record<string, string> = {};
    try {
      for (let i = 0; i < 8; i++) {
        const f = `quick-${i}.txt`;
        write(a.dir, f, `from A ${i}`);
        // As soon as it is there, B edits it (a user opening what just arrived and saving it).
        await expect.poll(() => tree(b.dir)[f], { timeout: 15_000, interval: 5 }).toBe(`from A ${i}`);
        await expect.poll(() => b.proc?.stdout.includes(`"action":"download","path":"${f}"`), { timeout: 15_000, interval: 5 }).toBe(true);
        write(b.dir, f, `edited on B ${i}, a longer line`);
        want[f] = `edited on B ${i}, a longer line`;
      }
      await converge({ a: a.dir, b: b.dir, server: s.dir }, want);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${outputOf(a, b)}`, { cause: err });
    }
    await stopClient(a);
    await stopClient(b);
    // And B knows what it holds: nothing is pending, a full sync changes nothing.
    expect(await status(b)).toMatchObject({ pending_uploads: 0, pending_downloads: 0 });
    expect(await syncOnce(b)).toMatch(/synced: 0 up, 0 down, 0 deleted, 0 conflicts/);
    await stop(s.proc);
  });

  it('edits while a client is stopped (SIGTERM, exit 0), on both sides, converge once it starts again', async () => {
    const s = await serve();
    const a = await makeClient('A', s.url);
    const b = await makeClient('B', s.url);
    const base = {
      'keep.txt': 'keep',
      'edit-a.txt': 'edit me on A',
      'edit-b.txt': 'edit me on B',
      'del-a.txt': 'delete me on A',
      'del-b.txt': 'delete me on B',
      'ren-a.txt': 'rename me on A',
      'ren-b.txt': 'rename me on B',
      'both.txt': 'edit me on both',
    };
    for (const [k, v] of Object.entries(base)) write(a.dir, k, v);
    await start(a);
    await start(b);
    try {
      await converge({ a: a.dir, b: b.dir, server: s.dir }, base);
      await stopClient(b);

      write(a.dir, 'edit-a.txt', 'edited on A while B was stopped');
      unlinkSync(join(a.dir, 'del-a.txt'));
      write(a.dir, 'new-a/one.txt', 'new on A');
      mkdirSync(join(a.dir, 'sub'));
      renameSync(join(a.dir, 'ren-a.txt'), join(a.dir, 'sub/ren-a2.txt'));
      write(a.dir, 'both.txt', 'both: edited on A (older)');
      const onServer = {
        'keep.txt': 'keep',
        'edit-a.txt': 'edited on A while B was stopped',
        'edit-b.txt': 'edit me on B',
        'del-b.txt': 'delete me on B',
        'new-a/one.txt': 'new on A',
        'sub/ren-a2.txt': 'rename me on A',
        'ren-b.txt': 'rename me on B',
        'both.txt': 'both: edited on A (older)',
      };
      await converge({ server: s.dir }, onServer);

      write(b.dir, 'edit-b.txt', 'edited on B while it was stopped');
      unlinkSync(join(b.dir, 'del-b.txt'));
      write(b.dir, 'new-b/deeper/two.txt', 'new on B');
      write(b.dir, 'empty-b.txt', '');
      renameSync(join(b.dir, 'ren-b.txt'), join(b.dir, 'ren-b2.txt'));
      write(b.dir, 'both.txt', 'both: edited on B (newer)');

      await start(b);
      await converge(
        { a: a.dir, b: b.dir, server: s.dir },
        {
          'keep.txt': 'keep',
          'edit-a.txt': 'edited on A while B was stopped',
          'edit-b.txt': 'edited on B while it was stopped',
          'new-a/one.txt': 'new on A',
          'new-b/deeper/two.txt': 'new on B',
          'empty-b.txt': '',
          'sub/ren-a2.txt': 'rename me on A',
          'ren-b2.txt': 'rename me on B',
          // the one file edited on both: B's (newer) keeps the name, A's is the copy, named for A
          'both.txt': 'both: edited on B (newer)',
          'both.sync-conflict-*-A.txt': 'both: edited on A (older)',
        },
      );
      for (const c of [a, b]) expect(c.proc!.stdout + c.proc!.stderr).not.toMatch(/"type":"client\.(failed|notice)"/);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${outputOf(a, b)}`, { cause: err });
    }
    await stopClient(a);
    await stopClient(b);
    await stop(s.proc);
  });

  it('concurrent edits of one file: both versions kept (conflict copy, listed by status); the same bytes are no conflict; an edit beats a delete', async () => {
    const s = await serve();
    const a = await makeClient('A', s.url);
    const b = await makeClient('B', s.url);
    const base = { 'c1.txt': 'c1 base', 'c2.md': 'c2 base', 'same.txt': 'same base', 'gone-a.txt': 'deleted on A, edited on B', 'gone-b.txt': 'deleted on B, edited on A' };
    for (const [k, v] of Object.entries(base)) write(a.dir, k, v);
    await start(a);
    await start(b);
    await converge({ a: a.dir, b: b.dir, server: s.dir }, base);
    await stopClient(a);
    await stopClient(b);

    const t = Date.now() / 1000 - 3600;
    const edit = (c: Client, rel: string, content: string, mtimeS?: number): void => {
      write(c.dir, rel, content);
      if (mtimeS !== undefined) utimesSync(join(c.dir, rel), mtimeS, mtimeS);
    };
    // c1: B's edit is newer, and B syncs second: B's keeps the name, A's becomes the copy (named for A).
    edit(a, 'c1.txt', 'c1 edited on A (older)', t + 10);
    edit(b, 'c1.txt', 'c1 edited on B (newer)', t + 20);
    // c2: A's edit is newer, and A syncs first: B's (older) becomes the copy (named for B).
    edit(a, 'c2.md', 'c2 edited on A (newer)', t + 40);
    edit(b, 'c2.md', 'c2 edited on B (older)', t + 30);
    // the same bytes on both: no conflict
    edit(a, 'same.txt', 'the same edit on both', t + 50);
    edit(b, 'same.txt', 'the same edit on both', t + 60);
    // a delete on one side, an edit on the other: the edit wins, in both orders
    unlinkSync(join(a.dir, 'gone-a.txt'));
    edit(b, 'gone-a.txt', 'gone-a edited on B');
    edit(a, 'gone-b.txt', 'gone-b edited on A');
    unlinkSync(join(b.dir, 'gone-b.txt'));

    const outA1 = await syncOnce(a);
    const outB1 = await syncOnce(b);
    const outA2 = await syncOnce(a);
    const outB2 = await syncOnce(b);
    const log = `A: ${outA1}\nB: ${outB1}\nA: ${outA2}\nB: ${outB2}`;

    const ta = tree(a.dir);
    const copies = Object.keys(ta).filter((p) => p.includes('.sync-conflict-')).sort();
    expect(copies, log).toEqual([expect.stringMatching(/^c1\.sync-conflict-\d{8}-\d{6}-A\.txt$/), expect.stringMatching(/^c2\.sync-conflict-\d{8}-\d{6}-B\.md$/)]);
    const [copy1, copy2] = copies as [string, string];
    const expected = {
      'c1.txt': 'c1 edited on B (newer)',
      [copy1]: 'c1 edited on A (older)',
      'c2.md': 'c2 edited on A (newer)',
      [copy2]: 'c2 edited on B (older)',
      'same.txt': 'the same edit on both',
      'gone-a.txt': 'gone-a edited on B',
      'gone-b.txt': 'gone-b edited on A',
    };
    expect({ a: ta, b: tree(b.dir), server: tree(s.dir) }, log).toEqual({ a: expected, b: expected, server: expected });
    // The stamp is the UTC time of the conflict (now), not the files' mtimes.
    const stamp = /sync-conflict-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-/.exec(copy1)!.slice(1).map(Number);
    const when = Date.UTC(stamp[0]!, stamp[1]! - 1, stamp[2], stamp[3], stamp[4], stamp[5]);
    expect(Math.abs(when - Date.now())).toBeLessThan(120_000);

    for (const c of [a, b]) {
      const st = await status(c);
      expect(st.conflicts.map((x) => [x.path, x.copy]).sort()).toEqual([
        ['c1.txt', copy1],
        ['c2.md', copy2],
      ]);
      expect(st).toMatchObject({ reachable: true, connected: false, pending_uploads: 0, pending_downloads: 0 });
    }
    // Nothing left to do: one more round changes nothing.
    expect(await syncOnce(a)).toMatch(/synced: 0 up, 0 down, 0 deleted, 0 conflicts \(sequence \d+\)/);
    expect(await syncOnce(b)).toMatch(/synced: 0 up, 0 down, 0 deleted, 0 conflicts \(sequence \d+\)/);
    expect({ a: tree(a.dir), b: tree(b.dir) }).toEqual({ a: expected, b: expected });
    await stop(s.proc);
  });

  it('a server restart: a change made on a running client while the server is down arrives once it is back on the same port', async () => {
    const s1 = await serve();
    const a = await makeClient('A', s1.url);
    const b = await makeClient('B', s1.url);
    write(a.dir, 'before.txt', 'before the restart');
    await start(a);
    await start(b);
    let c: Client | undefined;
    try {
      await converge({ a: a.dir, b: b.dir }, { 'before.txt': 'before the restart' });
      await stop(s1.proc);
      await waitFor(a.proc!, /"type":"client\.connection","state":"disconnected"/);
      await waitFor(b.proc!, /"type":"client\.connection","state":"disconnected"/);
      const connectedBefore = (a.proc!.stdout.match(/"state":"connected"/g) ?? []).length;

      write(a.dir, 'during.txt', 'written on A while the server was down');
      write(a.dir, 'before.txt', 'before, edited on A during the outage');
      write(b.dir, 'from-b.txt', 'written on B while the server was down');
      // Unavoidable: the clients see their changes (watcher debounce 100 ms) while the server is down;
      // nothing they print says so.
      await new Promise((r) => setTimeout(r, 800));

      // a client started while the server is down keeps trying
      c = await makeClient('C', s1.url);
      await start(c, { wait: false });
      await waitFor(c.proc!, /"type":"client\.connection","state":"disconnected","message":"The server http:\/\/127\.0\.0\.1:\d+ cannot be reached \(ECONNREFUSED\)\. Retrying\."/);

      const s2 = await serve({ dir: s1.dir, db: s1.db, port: s1.port });
      expect(s2.port).toBe(s1.port);
      const want = { 'before.txt': 'before, edited on A during the outage', 'during.txt': 'written on A while the server was down', 'from-b.txt': 'written on B while the server was down' };
      await converge({ a: a.dir, b: b.dir, c: c.dir, server: s1.dir }, want, 20_000);
      await waitFor(c.proc!, /"type":"client\.connection","state":"connected"/);
      expect((a.proc!.stdout.match(/"state":"connected"/g) ?? []).length).toBeGreaterThan(connectedBefore);
      // and live again after the reconnect
      write(b.dir, 'after.txt', 'after the restart');
      await converge({ a: a.dir, b: b.dir, c: c.dir, server: s1.dir }, { ...want, 'after.txt': 'after the restart' });
      await stopClient(a);
      await stopClient(b);
      await stopClient(c);
      await stop(s2.proc);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${outputOf(a, b, ...(c ? [c] : []))}`, { cause: err });
    }
  });

  it('a 200 MiB upload cut by a server crash (SIGKILL) resumes where it was and completes on the other client byte for byte', { timeout: 90_000 }, async () => {
    const work = tempDir('ferry-big-');
    const dir = join(work, 'sync_data');
    const db = join(work, 'server.db');
    const extra = ['--max-file-size', '300M'];
    const s1 = await serve({ dir, db, quiet: false, extra });
    const a = await makeClient('A', s1.url);
    const b = await makeClient('B', s1.url);
    await start(a);
    await start(b);
    const size = 200 * 1024 * 1024;
    const big = randomBytes(size);
    const digest = sha256(big);
    const staged = join(a.work, 'big.staging');
    writeFileSync(staged, big);
    try {
      renameSync(staged, join(a.dir, 'big.bin'));
      // Wait (tightly: the upload is fast on loopback) for the server's temp file to pass 30 MiB.
      const deadline = Date.now() + 30_000;
      let seen = 0;
      for (;;) {
        const temp = readdirSync(dir).find((n) => TEMP.test(n));
        if (temp) {
          try {
            seen = statSync(join(dir, temp)).size;
          } catch {
            seen = 0;
          }
        }
        if (seen >= 30 * 1024 * 1024) break;
        if (Date.now() > deadline) throw new Error(`the server's temp file never passed 30 MiB (last ${seen} bytes)`);
        await new Promise((r) => setTimeout(r, 2));
      }
      s1.proc.child.kill('SIGKILL');
      await s1.proc.exited;
      const kept = readdirSync(dir)
        .filter((n) => TEMP.test(n))
        .map((n) => statSync(join(dir, n)).size);
      expect(kept.length).toBe(1);
      expect(kept[0]).toBeGreaterThanOrEqual(30 * 1024 * 1024);
      expect(kept[0]).toBeLessThan(size);
      expect(tree(dir)['big.bin']).toBeUndefined();

      const s2 = await serve({ dir, db, port: s1.port, quiet: false, extra });
      await expect.poll(() => tree(b.dir)['big.bin'], { timeout: 40_000, interval: 250 }).toBe(`sha256:${digest}`);
      expect(sha256(readFileSync(join(b.dir, 'big.bin')))).toBe(digest);
      expect(sha256(readFileSync(join(dir, 'big.bin')))).toBe(digest);

      // Resumed, not restarted: the restarted server got no new session (POST /uploads), was asked how
      // much it had (GET /uploads/ID), and took fewer 8 MiB ranges than the whole file needs.
      const requests = s2.proc.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { method?: string; url?: string; status?: number })
        .filter((r) => r.method !== undefined);
      const first = s1.proc.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { method?: string; url?: string; status?: number })
        .filter((r) => r.method !== undefined);
      const log = `first server: ${first.map((r) => `${r.method} ${r.url} ${r.status}`).join(', ')}\nsecond server: ${requests.map((r) => `${r.method} ${r.url} ${r.status}`).join(', ')}`;
      const created = first.find((r) => r.method === 'POST' && r.url === '/uploads')?.url;
      expect(created, log).toBeDefined();
      expect(requests.filter((r) => r.method === 'POST' && r.url === '/uploads'), log).toEqual([]);
      expect(requests.some((r) => r.method === 'GET' && /^\/uploads\/[^/]+$/.test(r.url!) && r.status === 200), log).toBe(true);
      const puts = requests.filter((r) => r.method === 'PUT' && r.url!.startsWith('/uploads/'));
      expect(puts.length, log).toBeGreaterThan(0);
      expect(puts.length, log).toBeLessThanOrEqual(Math.ceil((size - 30 * 1024 * 1024) / (8 * 1024 * 1024))); // from 0: 25
      expect(readdirSync(dir).filter((n) => TEMP.test(n))).toEqual([]);
      await stopClient(a);
      await stopClient(b);
      await stop(s2.proc);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${outputOf(a, b)}`, { cause: err });
    } finally {
      rmSync(join(a.dir, 'big.bin'), { force: true });
      rmSync(join(b.dir, 'big.bin'), { force: true });
      rmSync(join(dir, 'big.bin'), { force: true });
    }
  });

  it('client status --json with the server up and down; a bad config path exits 2 with one sentence; --help on each client command', async () => {
    const s = await serve();
    const a = await makeClient('A', s.url);
    const b = await makeClient('B', s.url);
    write(a.dir, 'one.txt', 'one');

    // never synced: status says so (a user error, one sentence)
    const before = await runFerry(['client', 'status', '--config', a.config, '--json'], { env: a.env });
    expect(before.code).toBe(2);

    await start(a);
    await expect.poll(() => tree(s.dir), POLL).toEqual({ 'one.txt': 'one' });
    const up = await status(a);
    expect(up).toMatchObject({ client_name: 'A', reachable: true, connected: true, pending_uploads: 0, pending_downloads: 0, conflicts: [] });
    expect(typeof up.client_id).toBe('string');
    expect(Date.parse(up.last_sync!)).toBeGreaterThan(Date.now() - 60_000);
    await stopClient(a);

    // pending: one file here not sent, one on the server not fetched
    write(a.dir, 'pending-up.txt', 'not sent yet');
    write(b.dir, 'pending-down.txt', 'not fetched yet');
    await syncOnce(b);
    const offline = await status(a);
    expect(offline).toMatchObject({ reachable: true, connected: false, pending_uploads: 1, pending_downloads: 1, conflicts: [] });

    // the server down
    await stop(s.proc);
    const down = await status(a);
    expect(down).toMatchObject({ client_name: 'A', client_id: up.client_id, reachable: false, connected: false, last_sync: expect.any(String) as string, conflicts: [] });
    expect(typeof down.pending_uploads).toBe('number');
    expect(typeof down.pending_downloads).toBe('number');
    const text = await runFerry(['client', 'status', '--config', a.config], { env: a.env });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/not reachable/);

    // a bad config path
    const bad = await runFerry(['client', 'start', '--config', join(a.work, 'nope', 'missing.yaml')], { env: a.env });
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    const lines = bad.stderr.split('\n').filter(Boolean);
    expect(lines[0]).toMatch(/^ferry: There is no client configuration at .*missing\.yaml\.$/);
    expect(lines.length, bad.stderr).toBeLessThanOrEqual(2); // the sentence, and at most a hint

    // a config that is not the client's: one sentence naming the field, exit 2
    writeFileSync(join(a.work, 'odd.yaml'), readFileSync(a.config, 'utf8') + 'colour: blue\n');
    const odd = await runFerry(['client', 'start', '--config', join(a.work, 'odd.yaml')], { env: a.env });
    expect(odd.code).toBe(2);
    expect(odd.stderr.split('\n')[0]).toMatch(/^ferry: .*odd\.yaml: colour: .*\.$/);

    // --help on each
    for (const cmd of ['init', 'start', 'status', 'sync-once']) {
      const h = await runFerry(['client', cmd, '--help']);
      expect({ cmd, code: h.code, stderr: h.stderr }).toEqual({ cmd, code: 0, stderr: '' });
      expect(h.stdout).toMatch(new RegExp(`^Usage: ferry client ${cmd} \\[options\\]`));
      expect(h.stdout).toMatch(/--config <file>/);
    }
    const h = await runFerry(['client', '--help']);
    expect(h.code).toBe(0);
    for (const cmd of ['init', 'start', 'status', 'sync-once']) expect(h.stdout).toContain(cmd);
  });
});
