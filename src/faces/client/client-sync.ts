import ignore, { type Ignore } from 'ignore';
import type { ClientState, SyncedFile } from '../../core/client-state.js';
import { describeFileError, errnoCode } from '../../core/errors.js';
import type { LocalTarget } from '../../targets/local.js';
import type { ClientConfig } from './config.js';
import { ServerAway, ServerRefused, type FileInfo, type ServerApi, type SyncAction } from './server-api.js';
import { RemoteTarget, type RemoteSession } from '../../targets/remote.js';
import { hashLocal, type Seen } from './local-hash.js';
import { fetchFiles, sendFiles } from './upload-backlog.js';

/** What the client tells whoever runs it (the CLI prints it; a face never does). */
export type ClientEvent =
  | { type: 'client.action'; action: 'upload' | 'download' | 'delete_local' | 'delete_remote' | 'move_local' | 'move_remote' | 'conflict'; path: string; to?: string; detail?: string }
  | { type: 'client.failed'; path: string; message: string }
  | { type: 'client.synced'; uploaded: number; downloaded: number; deleted: number; conflicts: number; failed: number; sequence: number }
  | { type: 'client.connection'; state: 'connected' | 'disconnected'; message?: string }
  | { type: 'client.notice'; message: string };

export interface Tally {
  uploaded: number;
  downloaded: number;
  deleted: number;
  conflicts: number;
  failed: number;
}

/** A change as the WebSocket carries it. */
export interface ChangeMessage {
  type: 'FILE_CHANGED' | 'FILE_DELETED' | 'FILE_MOVED';
  seq: number;
  path: string;
  from: string | null;
  size: number;
  mtime_ns: string;
  sha256: string;
  client_id: string | null;
}

const same = (e: Seen, f: SyncedFile | undefined): boolean => f !== undefined && e.size === f.size && e.mtimeNs === f.mtimeNs;

/**
 * Keeps one local folder and the server in step. Every decision is made against the base (the
 * content last in step, kept in ClientState): a local file whose size and mtime are still the
 * recorded ones is unchanged (so what the client itself wrote is never sent back), a download never
 * replaces a local edit not yet sent (that is a conflict: both versions are kept), and a local
 * delete happens only to a file still at its base. All work runs one piece at a time (`run`).
 */
export class ClientSync {
  clientId = '';
  private readonly ig: Ignore;
  private chain: Promise<unknown> = Promise.resolve();
  private remote: RemoteTarget | undefined;
  /** What the server answered for each file sent, until the upload's outcome is looked at. */
  private readonly committed = new Map<string, FileInfo>();
  /** Resumable uploads kept after a cut, by path (the next attempt goes on from them). */
  private readonly uploadSessions = new Map<string, RemoteSession>();
  /** Aborted when the client stops: a transfer under way stops (a large upload is kept to go on from). */
  signal: AbortSignal = new AbortController().signal;

  constructor(
    readonly config: ClientConfig,
    readonly state: ClientState,
    readonly api: ServerApi,
    readonly local: LocalTarget,
    private readonly emit: (e: ClientEvent) => void,
  ) {
    this.ig = ignore().add(config.ignore);
  }

  /** Whether `rel` is left out: an ignore pattern, or one of the local target's own temp files. */
  ignored(rel: string): boolean {
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    return this.local.reservedName.test(name) || this.ig.ignores(rel);
  }

  /** Queues work behind what is queued; resolves with its result. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  async lastSeq(): Promise<number> {
    return Number((await this.state.meta('last_seq')) ?? '0');
  }

  async register(): Promise<{ heartbeatS: number }> {
    const known = await this.state.meta('client_id');
    const r = await this.api.register(this.config.name, known);
    this.clientId = r.client_id;
    if (known !== r.client_id) await this.state.setMeta('client_id', r.client_id);
    return { heartbeatS: r.heartbeat_s };
  }

  /** Every local file (not ignored) with its hash: recorded ones unchanged since are not read again. */
  private async scan(): Promise<Map<string, { entry: Seen; sha256: string }>> {
    const out = new Map<string, { entry: Seen; sha256: string }>();
    const known = new Map((await this.state.all()).map((f) => [f.path, f]));
    for await (const batch of this.local.list()) {
      for (const e of batch.entries) {
        if (e.kind !== 'file' || this.ignored(e.rel)) continue;
        const k = known.get(e.rel);
        if (same(e, k)) {
          out.set(e.rel, { entry: e, sha256: k!.sha256 });
          continue;
        }
        try {
          out.set(e.rel, await hashLocal(this.local, e.rel));
        } catch (err) {
          this.emit({ type: 'client.failed', path: e.rel, message: `cannot be read: ${describeFileError(err)}` });
        }
      }
    }
    return out;
  }

  /** The server's sync analysis of the local folder as it is now: what a full sync would do. */
  async plan(): Promise<SyncAction[]> {
    return (await this.analyse()).actions.filter((a) => a.action !== 'nothing' && !this.ignored(a.path));
  }

  private async analyse(): Promise<{ local: Map<string, { entry: Seen; sha256: string }>; sequence: number; actions: SyncAction[] }> {
    const local = await this.scan();
    const known = new Map((await this.state.all()).map((k) => [k.path, k.sha256]));
    const files: unknown[] = [];
    for (const [path, { entry, sha256 }] of local) {
      files.push({ path, size: Number(entry.size), mtime_ns: String(entry.mtimeNs), sha256, base_sha256: known.get(path) ?? null });
    }
    for (const [path, base] of known) if (!local.has(path) && !this.ignored(path)) files.push({ path, deleted: true, base_sha256: base });
    return { local, ...(await this.api.sync(this.clientId, files)) };
  }

  /** One full sync: the local folder against the server's list, by the server's sync analysis. */
  async fullSync(): Promise<Tally> {
    const { local, sequence, actions } = await this.analyse();
    const tally: Tally = { uploaded: 0, downloaded: 0, deleted: 0, conflicts: 0, failed: 0 };
    const sends: Array<{ path: string; mine: { entry: Seen; sha256: string } }> = [];
    const fetches: FileInfo[] = [];
    for (const a of actions) {
      if (this.ignored(a.path)) continue;
      const mine = local.get(a.path);
      if ((a.action === 'upload' || a.action === 'conflict') && mine) sends.push({ path: a.path, mine });
      else if (a.action === 'download' && a.server) {
        try {
          if (await this.mayFetch(a.server)) fetches.push(a.server);
        } catch (err) {
          if (err instanceof ServerAway) throw err;
          tally.failed++;
          this.emit({ type: 'client.failed', path: a.path, message: err instanceof ServerRefused ? err.message : describeFileError(err) });
        }
      } else await this.act(a, mine, tally);
    }
    tally.downloaded += await this.fetchAll(fetches, tally);
    await this.sendAll(sends, tally);
    if (tally.failed === 0 || sequence > (await this.lastSeq())) await this.state.setMeta('last_seq', String(sequence));
    await this.state.setMeta('last_sync', new Date().toISOString());
    this.emit({ type: 'client.synced', ...tally, sequence });
    return tally;
  }

  private async act(a: SyncAction, mine: { entry: Seen; sha256: string } | undefined, tally: Tally): Promise<void> {
    try {
      switch (a.action) {
        case 'nothing':
          if (mine && a.server) await this.state.put({ path: a.path, sha256: mine.sha256, size: mine.entry.size, mtimeNs: mine.entry.mtimeNs });
          else await this.state.forget(a.path);
          return;
        case 'upload':
        case 'conflict':
          if (mine) await this.upload(a.path, mine, tally);
          return;
        case 'download':
          if (a.server && (await this.download(a.server, tally))) tally.downloaded++;
          return;
        case 'delete_local':
          if (await this.deleteLocal(a.path)) tally.deleted++;
          return;
        case 'delete_remote':
          await this.deleteRemote(a.path, tally);
          return;
      }
    } catch (err) {
      if (err instanceof ServerAway) throw err;
      tally.failed++;
      this.emit({ type: 'client.failed', path: a.path, message: err instanceof ServerRefused ? err.message : describeFileError(err) });
    }
  }

  /**
   * Sends local versions through the engine (upload-backlog.ts), each with its base as the
   * precondition; when the server moved on meanwhile, it keeps both versions (the newer mtime keeps
   * the name, the other becomes a conflict copy everywhere).
   */
  private async upload(path: string, mine: { entry: Seen; sha256: string }, tally: Tally): Promise<void> {
    await this.sendAll([{ path, mine }], tally);
  }

  private async sendAll(list: Array<{ path: string; mine: { entry: Seen; sha256: string } }>, tally: Tally): Promise<void> {
    if (list.length === 0) return;
    const out = [];
    for (const { path, mine } of list) out.push({ path, sha256: mine.sha256, base: (await this.state.get(path))?.sha256 ?? null, entry: mine.entry });
    const sent = await sendFiles(this.local, this.remoteTarget(), out, this.signal);
    for (const { path, mine } of list) {
      const r = sent.get(path);
      const info = this.committed.get(path);
      this.committed.delete(path);
      if (!r?.ok || !info) {
        await this.api.health(); // a server that went away is that (ServerAway), not files failing
        tally.failed++;
        this.emit({ type: 'client.failed', path, message: `not sent: ${r && !r.ok ? r.error : 'no answer from the server'}` });
        continue;
      }
      try {
        await this.afterUpload(path, mine, info, tally);
      } catch (err) {
        if (err instanceof ServerAway) throw err;
        tally.failed++;
        this.emit({ type: 'client.failed', path, message: err instanceof ServerRefused ? err.message : describeFileError(err) });
      }
    }
  }

  private async afterUpload(path: string, mine: { entry: Seen; sha256: string }, info: FileInfo, tally: Tally): Promise<void> {
    if (info.conflict) {
      tally.conflicts++;
      this.emit({ type: 'client.action', action: 'conflict', path, to: info.conflict.copy, detail: info.conflict.kept === 'ours' ? 'this version kept the name' : 'the other version kept the name' });
      if (info.conflict.kept === 'theirs') {
        // Ours is the copy now: the local file takes the copy's name, and the name gets the server's version.
        await this.local.rename(path, info.conflict.copy);
        await this.state.put({ path: info.conflict.copy, sha256: mine.sha256, size: mine.entry.size, mtimeNs: mine.entry.mtimeNs });
        await this.state.forget(path);
        if (info.conflict.current) await this.download(info.conflict.current, tally);
        return;
      }
    }
    await this.state.put({ path, sha256: mine.sha256, size: mine.entry.size, mtimeNs: mine.entry.mtimeNs });
    tally.uploaded++;
    this.emit({ type: 'client.action', action: 'upload', path });
  }

  /** The server as a Target (made once the client has its id: its conflict copies are named for it). */
  private remoteTarget(): RemoteTarget {
    this.remote ??= new RemoteTarget(this.config.server, {
      apiKey: this.config.apiKey ?? undefined,
      clientId: this.clientId,
      sessions: this.uploadSessions,
      onCommitted: (rel, info) => this.committed.set(rel, info as FileInfo),
    });
    return this.remote;
  }

  /**
   * Fetches the server's version, unless the local file changed since it was last in step (then the
   * local edit is sent instead, and judged by the server as a possible conflict). Resolves whether it
   * wrote.
   */
  /** Resolves whether it wrote; a fetch that failed is counted in `tally` (and said). */
  private async download(info: FileInfo, tally: Tally = { uploaded: 0, downloaded: 0, deleted: 0, conflicts: 0, failed: 0 }): Promise<boolean> {
    if (!(await this.mayFetch(info))) return false;
    return (await this.fetchAll([info], tally)) > 0;
  }

  /**
   * Whether the server's version may be written here: yes when the path is free or still what was
   * last in step; a local edit not yet sent is sent instead (the server judges the conflict).
   */
  private async mayFetch(info: FileInfo): Promise<boolean> {
    const row = await this.state.get(info.path);
    const now = await this.local.stat(info.path);
    if (now && now.kind === 'file') {
      if (row && row.sha256 === info.sha256 && same(now, row)) return false;
      if (!same(now, row)) {
        const mine = await hashLocal(this.local, info.path);
        if (mine.sha256 === info.sha256) {
          await this.state.put({ path: info.path, sha256: mine.sha256, size: mine.entry.size, mtimeNs: mine.entry.mtimeNs });
          return false;
        }
        await this.upload(info.path, mine, { uploaded: 0, downloaded: 0, deleted: 0, conflicts: 0, failed: 0 });
        return false;
      }
    } else if (now) {
      throw Object.assign(new Error(`${info.path} is a ${now.kind} here; the server's file is not written over it`), { code: 'EISDIR' });
    }
    return true;
  }

  /** Fetches files in one transfer of the engine (several at once), recording each as written; resolves how many. */
  private async fetchAll(infos: FileInfo[], tally: Tally): Promise<number> {
    if (infos.length === 0) return 0;
    let fetched = 0;
    const files = infos.map((i) => ({ path: i.path, sha256: i.sha256, base: null, entry: { size: BigInt(i.size), mtimeNs: BigInt(i.mtime_ns) } }));
    const got = await fetchFiles(this.remoteTarget(), this.local, files, this.signal);
    let checked = false;
    for (const info of infos) {
      const r = got.get(info.path);
      if (!r?.ok) {
        if (!checked) await this.api.health(); // a server that went away is that (ServerAway), not files failing
        checked = true;
        tally.failed++;
        this.emit({ type: 'client.failed', path: info.path, message: `not fetched: ${r && !r.ok ? r.error : 'no answer from the server'}` });
        continue;
      }
      // What was written, as written: an edit made since (even at once) has another mtime, and is sent.
      if (r.hash === null) continue;
      await this.state.put({ path: info.path, sha256: r.hash, size: r.size, mtimeNs: r.mtimeNs });
      fetched++;
      this.emit({ type: 'client.action', action: 'download', path: info.path });
    }
    return fetched;
  }

  /** Removes a local file the server deleted, only while it is still what was last in step. */
  private async deleteLocal(path: string): Promise<boolean> {
    const row = await this.state.get(path);
    const now = await this.local.stat(path);
    if (!now) {
      await this.state.forget(path);
      return false;
    }
    if (!row || !same(now, row)) {
      const mine = await hashLocal(this.local, path);
      if (!row || mine.sha256 !== row.sha256) {
        // Changed here since: a modification beats a deletion; it goes back to the server.
        await this.upload(path, mine, { uploaded: 0, downloaded: 0, deleted: 0, conflicts: 0, failed: 0 });
        return false;
      }
    }
    await this.local.remove(path);
    await this.pruneLocal(path);
    await this.state.forget(path);
    this.emit({ type: 'client.action', action: 'delete_local', path });
    return true;
  }

  private async pruneLocal(path: string): Promise<void> {
    for (let dir = parentOf(path); dir !== ''; dir = parentOf(dir)) {
      try {
        if ((await this.local.entries(dir)).length > 0) return;
        await this.local.remove(dir);
      } catch {
        return;
      }
    }
  }

  private async deleteRemote(path: string, tally: Tally): Promise<void> {
    const row = await this.state.get(path);
    try {
      await this.api.remove(path, row?.sha256 ?? null, this.clientId);
      tally.deleted++;
      this.emit({ type: 'client.action', action: 'delete_remote', path });
    } catch (err) {
      if (err instanceof ServerRefused && err.status === 409) {
        // Changed on the server since: its version comes back here.
        const current = err.body.current as FileInfo | undefined;
        await this.state.forget(path);
        if (current && (await this.download(current, tally))) tally.downloaded++;
        return;
      }
      if (!(err instanceof ServerRefused && err.status === 404)) throw err;
    }
    await this.state.forget(path);
  }

  /** A change another client made, as the WebSocket reports it. */
  /** Resolves how many paths failed (the runner syncs fully again soon after a failure). */
  async applyChange(m: ChangeMessage): Promise<number> {
    if (m.seq <= (await this.lastSeq())) return 0;
    const tally: Tally = { uploaded: 0, downloaded: 0, deleted: 0, conflicts: 0, failed: 0 };
    // The client's own changes come back too: each is judged by content (already so here: nothing to do),
    // which also brings it the conflict copy the server made of another client's version.
    if (!this.ignored(m.path)) {
      const info: FileInfo = { path: m.path, size: m.size, mtime_ns: m.mtime_ns, sha256: m.sha256, seq: m.seq, deleted: false, client_id: m.client_id };
      try {
        if (m.type === 'FILE_CHANGED') await this.download(info, tally);
        else if (m.type === 'FILE_DELETED') await this.deleteLocal(m.path);
        else if (m.type === 'FILE_MOVED' && m.from) await this.moveLocal(m.from, info);
      } catch (err) {
        if (err instanceof ServerAway) throw err;
        tally.failed++;
        this.emit({ type: 'client.failed', path: m.path, message: err instanceof ServerRefused ? err.message : describeFileError(err) });
      }
    }
    // A change that failed here is found again by the next full sync (its content is on the server).
    await this.state.setMeta('last_seq', String(m.seq));
    return tally.failed;
  }

  /**
   * Changes as the WebSocket reported them, in order: a run of FILE_CHANGED is fetched in one
   * transfer (the latest version of each path), anything else is applied in its place.
   * Resolves how many paths failed.
   */
  async applyChanges(ms: ChangeMessage[]): Promise<number> {
    const last = await this.lastSeq();
    const tally: Tally = { uploaded: 0, downloaded: 0, deleted: 0, conflicts: 0, failed: 0 };
    let fetches = new Map<string, FileInfo>();
    const flush = async (): Promise<void> => {
      const ready: FileInfo[] = [];
      for (const info of fetches.values()) {
        try {
          if (await this.mayFetch(info)) ready.push(info);
        } catch (err) {
          if (err instanceof ServerAway) throw err;
          tally.failed++;
          this.emit({ type: 'client.failed', path: info.path, message: err instanceof ServerRefused ? err.message : describeFileError(err) });
        }
      }
      fetches = new Map();
      await this.fetchAll(ready, tally);
    };
    let seq = last;
    for (const m of ms) {
      if (m.seq <= last) continue;
      seq = Math.max(seq, m.seq);
      if (m.type === 'FILE_CHANGED') {
        if (!this.ignored(m.path)) fetches.set(m.path, { path: m.path, size: m.size, mtime_ns: m.mtime_ns, sha256: m.sha256, seq: m.seq, deleted: false, client_id: m.client_id });
        continue;
      }
      await flush();
      tally.failed += await this.applyChange(m);
    }
    await flush();
    if (seq > last) await this.state.setMeta('last_seq', String(seq));
    return tally.failed;
  }

  /** A rename on another client: done here as a rename when the local file is still that content. */
  private async moveLocal(from: string, info: FileInfo): Promise<void> {
    const row = await this.state.get(from);
    const now = await this.local.stat(from);
    const there = await this.local.stat(info.path);
    const moved = row !== undefined && now !== undefined && same(now, row) && row.sha256 === info.sha256;
    if (moved && !there && !this.ignored(from)) {
      await this.local.rename(from, info.path);
      await this.pruneLocal(from);
      await this.state.forget(from);
      await this.state.put({ ...row, path: info.path });
      this.emit({ type: 'client.action', action: 'move_local', path: from, to: info.path });
      return;
    }
    await this.download(info);
    // The old name goes only while it still holds what moved; other content there (edited here, or
    // the version that kept the name in a conflict) stays, and is judged on its own.
    if (moved) await this.deleteLocal(from);
    else if (!now && row) await this.state.forget(from);
  }

  /** Paths the watcher saw settle: each sent, deleted or moved on the server as it now is here. */
  /** Resolves how many paths failed (the runner syncs fully again soon after a failure). */
  async localChanged(paths: string[]): Promise<number> {
    const tally: Tally = { uploaded: 0, downloaded: 0, deleted: 0, conflicts: 0, failed: 0 };
    const present = new Map<string, { entry: Seen; sha256: string }>();
    const gone: SyncedFile[] = [];
    const known = await this.state.all();
    const look = async (rel: string): Promise<void> => {
      if (this.ignored(rel)) return;
      const e = await this.local.stat(rel).catch(() => undefined);
      if (e?.kind === 'dir') {
        for await (const b of this.local.list({ under: rel })) for (const x of b.entries) if (x.kind === 'file') await look(x.rel);
        return;
      }
      if (!e) {
        for (const k of known) if ((k.path === rel || k.path.startsWith(`${rel}/`)) && !gone.includes(k) && !(await this.local.stat(k.path))) gone.push(k);
        return;
      }
      if (e.kind !== 'file') return;
      const row = known.find((k) => k.path === rel);
      if (same(e, row)) return; // unchanged: what this client wrote itself comes back here
      try {
        const h = await hashLocal(this.local, rel);
        if (row && row.sha256 === h.sha256) await this.state.put({ ...row, size: h.entry.size, mtimeNs: h.entry.mtimeNs });
        else present.set(rel, h);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return;
        tally.failed++;
        this.emit({ type: 'client.failed', path: rel, message: describeFileError(err) });
      }
    };
    for (const p of paths) await look(p);
    for (const g of gone) {
      // A file gone here and a new one with its content: a rename, sent as one.
      const to = [...present.entries()].find(([rel, h]) => h.sha256 === g.sha256 && !known.some((k) => k.path === rel));
      try {
        if (to) {
          await this.api.move(g.path, to[0], g.sha256, this.clientId);
          present.delete(to[0]);
          await this.state.forget(g.path);
          await this.state.put({ path: to[0], sha256: g.sha256, size: to[1].entry.size, mtimeNs: to[1].entry.mtimeNs });
          this.emit({ type: 'client.action', action: 'move_remote', path: g.path, to: to[0] });
        } else {
          await this.deleteRemote(g.path, tally);
        }
      } catch (err) {
        if (err instanceof ServerAway) throw err;
        if (err instanceof ServerRefused && to) {
          await this.deleteRemote(g.path, tally).catch(() => undefined);
          continue;
        }
        tally.failed++;
        this.emit({ type: 'client.failed', path: g.path, message: err instanceof ServerRefused ? err.message : describeFileError(err) });
      }
    }
    await this.sendAll([...present].map(([path, mine]) => ({ path, mine })), tally);
    return tally.failed;
  }
}

const parentOf = (rel: string): string => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');
