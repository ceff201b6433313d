import { existsSync, mkdirSync, statSync } from 'node:fs';
import { WebSocket } from 'ws';
import { FerryError } from '../../core/errors.js';
import type { Subscribe } from '../../core/watcher.js';
import { Watcher } from '../../engine/watcher.js';
import { SqliteClientState } from '../../store/sqlite/sqlite-client-state.js';
import { LocalTarget } from '../../targets/local.js';
import { ClientSync, type ChangeMessage, type ClientEvent } from './client-sync.js';
import type { ClientConfig } from './config.js';
import { ServerApi, ServerAway, ServerRefused } from './server-api.js';

/** A full sync runs this often even when the watcher reports nothing (the watcher is a hint, the walk the truth). */
const FULL_SYNC_EVERY_MS = 5 * 60_000;
const BACKOFF_MAX_MS = 30_000;
/** How long after a failed path a full sync tries it again (doubling while it keeps failing is the 5-min sync's job). */
const RETRY_AFTER_FAILURE_MS = 3000;

export interface ClientOptions {
  emit: (e: ClientEvent) => void;
  signal: AbortSignal;
  subscribe?: Subscribe;
}

async function open(config: ClientConfig, emit: (e: ClientEvent) => void, readOnly = false): Promise<ClientSync> {
  try {
    mkdirSync(config.syncDir, { recursive: true });
  } catch (err) {
    throw new FerryError('SOURCE_UNAVAILABLE', `Cannot make the sync directory ${config.syncDir}.`, { cause: err });
  }
  const st = statSync(config.syncDir, { bigint: true });
  if (!st.isDirectory()) throw new FerryError('SOURCE_UNAVAILABLE', `The sync directory ${config.syncDir} is not a directory.`);
  const state = SqliteClientState.open(config.stateDb, { readOnly });
  const local = new LocalTarget(config.syncDir, `ferry-client\0${config.syncDir}`, { device: st.dev, inode: st.ino, replace: false });
  return new ClientSync(config, state, new ServerApi(config.server, config.apiKey), local, emit);
}

async function close(sync: ClientSync): Promise<void> {
  await sync.local.close?.();
  await sync.state.close();
}

/** The server's refusal of the key or the client as a user error (exit 2); anything else as it is. */
function fatal(err: unknown): unknown {
  if (err instanceof ServerRefused && err.status === 401) return new FerryError('CONFIG', `The server refused the API key: ${err.message}`, { hint: 'set api_key in the client configuration to a key from `ferry serve keys add`' });
  if (err instanceof ServerAway) return new FerryError('DEST_UNAVAILABLE', err.message);
  return err;
}

/** `ferry client sync-once`: register, one full sync, done. Resolves the tally. */
export async function syncOnce(config: ClientConfig, emit: (e: ClientEvent) => void) {
  const sync = await open(config, emit);
  try {
    await sync.register();
    return await sync.fullSync();
  } catch (err) {
    throw fatal(err);
  } finally {
    await close(sync);
  }
}

/**
 * `ferry client start`: registers, runs a full sync, then keeps the folder in step both ways until
 * `signal` aborts: local changes come from the shared watcher (settled, then sent), the server's
 * from the WebSocket (each with its sequence; a reconnect asks for what it missed). While the server
 * is away the client retries with backoff and syncs fully when it is back.
 */
export async function runClient(config: ClientConfig, o: ClientOptions): Promise<void> {
  const sync = await open(config, o.emit);
  const { signal } = o;
  let ws: WebSocket | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;
  let backoff = 1000;
  let online = false;
  const watcher = new Watcher(
    { root: config.syncDir, debounceMs: config.debounceMs, maxDeferMs: Math.max(10 * config.debounceMs, 1000), subscribe: o.subscribe, ownFiles: [config.stateDb] },
    {
      settled: (paths) => void sync.run(() => sync.localChanged(paths)).then(retrySoon, offline),
      lost: () => void sync.run(() => sync.fullSync()).catch(offline),
    },
  );
  const full = setInterval(() => {
    if (online) void sync.run(() => sync.fullSync()).catch(offline);
  }, FULL_SYNC_EVERY_MS);

  /** A path that failed (changed while it was sent, say) is tried again by a full sync a little later. */
  let retryTimer: NodeJS.Timeout | undefined;
  function retrySoon(failed: number): void {
    if (failed === 0 || retryTimer || signal.aborted) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (online) void sync.run(() => sync.fullSync()).catch(offline); // once: a path that keeps failing waits for the next periodic sync
    }, RETRY_AFTER_FAILURE_MS);
  }

  function offline(err: unknown): void {
    if (signal.aborted) return;
    if (err instanceof ServerAway) {
      ws?.terminate();
      return;
    }
    o.emit({ type: 'client.notice', message: err instanceof Error ? err.message : String(err) });
  }

  const connect = async (): Promise<void> => {
    if (signal.aborted) return;
    try {
      const { heartbeatS } = await sync.run(() => sync.register());
      await sync.run(() => sync.fullSync());
      const since = await sync.lastSeq();
      const socket = new WebSocket(sync.api.wsUrl(sync.clientId, since), { headers: sync.api.headers(), maxPayload: 1 << 20 });
      ws = socket;
      let heard = Date.now();
      const incoming: ChangeMessage[] = [];
      socket.on('open', () => {
        online = true;
        backoff = 1000;
        o.emit({ type: 'client.connection', state: 'connected' });
        heartbeat = setInterval(() => {
          if (Date.now() - heard > 3 * heartbeatS * 1000) socket.terminate();
          else socket.send(JSON.stringify({ type: 'HEARTBEAT', time: new Date().toISOString() }));
        }, heartbeatS * 1000);
      });
      socket.on('message', (data) => {
        heard = Date.now();
        let m: { type?: string; seq?: number };
        try {
          m = JSON.parse(data.toString()) as typeof m;
        } catch {
          return;
        }
        if (m.type === 'FILE_CHANGED' || m.type === 'FILE_DELETED' || m.type === 'FILE_MOVED') {
          // Changes that come while earlier ones are applied are applied together, in order.
          incoming.push(m as ChangeMessage);
          if (incoming.length > 1) return;
          void sync
            .run(async () => {
              const batch = incoming.splice(0);
              const failed = await sync.applyChanges(batch);
              const seq = batch[batch.length - 1]?.seq;
              if (socket.readyState === socket.OPEN && seq !== undefined) socket.send(JSON.stringify({ type: 'ACK', seq }));
              return failed;
            })
            .then(retrySoon, offline);
        } else if (m.type === 'RESYNC') {
          void sync.run(() => sync.fullSync()).catch(offline);
        }
      });
      socket.on('close', () => {
        clearInterval(heartbeat);
        if (ws === socket) ws = undefined;
        if (online) o.emit({ type: 'client.connection', state: 'disconnected', message: 'the connection to the server closed; reconnecting' });
        online = false;
        schedule();
      });
      socket.on('error', () => undefined); // 'close' follows
    } catch (err) {
      const f = fatal(err);
      if (f instanceof FerryError && f.code === 'CONFIG') {
        stop(f);
        return;
      }
      if (!(err instanceof ServerAway)) o.emit({ type: 'client.notice', message: err instanceof Error ? err.message : String(err) });
      else if (backoff === 1000) o.emit({ type: 'client.connection', state: 'disconnected', message: `${err.message} Retrying.` });
      schedule();
    }
  };
  const schedule = (): void => {
    if (signal.aborted) return;
    clearTimeout(retry);
    retry = setTimeout(() => void connect(), backoff);
    backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
  };

  let failure: unknown;
  let stop!: (err?: unknown) => void;
  const stopped = new Promise<void>((resolve) => {
    stop = (err?: unknown) => {
      failure ??= err;
      resolve();
    };
  });
  signal.addEventListener('abort', () => stop(), { once: true });
  try {
    await watcher.subscribe().catch((err: unknown) => o.emit({ type: 'client.notice', message: `cannot watch ${config.syncDir} (${(err as Error).message}); it is walked every ${FULL_SYNC_EVERY_MS / 60000} min instead` }));
    await connect();
    if (signal.aborted) stop();
    await stopped;
  } finally {
    clearInterval(full);
    clearTimeout(retryTimer);
    clearTimeout(retry);
    clearInterval(heartbeat);
    ws?.removeAllListeners('close');
    ws?.close();
    await watcher.close();
    await sync.run(async () => undefined);
    await close(sync);
  }
  if (failure) throw failure;
}

export interface ClientStatus {
  client_name: string;
  client_id: string | null;
  sync_directory: string;
  server: string;
  reachable: boolean;
  connected: boolean;
  last_sync: string | null;
  last_seq: number;
  pending_uploads: number;
  pending_downloads: number;
  conflicts: Array<{ path: string; copy: string; time: string }>;
}

/** `ferry client status`: what the state says, and what the server says when it can be reached. */
export async function clientStatus(config: ClientConfig): Promise<ClientStatus> {
  if (!existsSync(config.stateDb)) {
    throw new FerryError('CONFIG', `The client ${config.name} has not synced yet (no state at ${config.stateDb}).`, { hint: 'run `ferry client start` or `ferry client sync-once`' });
  }
  const sync = await open(config, () => undefined, true);
  try {
    const clientId = (await sync.state.meta('client_id')) ?? null;
    const out: ClientStatus = {
      client_name: config.name,
      client_id: clientId,
      sync_directory: config.syncDir,
      server: config.server,
      reachable: false,
      connected: false,
      last_sync: (await sync.state.meta('last_sync')) ?? null,
      last_seq: await sync.lastSeq(),
      pending_uploads: 0,
      pending_downloads: 0,
      conflicts: [],
    };
    try {
      await sync.api.health();
      out.reachable = true;
    } catch {
      return out;
    }
    try {
      const clients = await sync.api.clients();
      out.connected = clients.clients.some((c) => c.client_id === clientId && c.connected);
      out.conflicts = (await sync.api.conflicts()).conflicts;
      if (clientId) {
        sync.clientId = clientId;
        const plan = await sync.plan();
        out.pending_uploads = plan.filter((a) => a.action === 'upload' || a.action === 'conflict' || a.action === 'delete_remote').length;
        out.pending_downloads = plan.filter((a) => a.action === 'download' || a.action === 'delete_local').length;
      }
    } catch (err) {
      throw fatal(err);
    }
    return out;
  } finally {
    await close(sync);
  }
}
