import type { WebSocket } from 'ws';
import type { Change, ServerStore } from '../../core/server-store.js';
import { changeMessage } from './change-messages.js';

/** A client further behind than this is told to run /sync again instead of being sent every change. */
export const REPLAY_LIMIT = 1000;

interface Peer {
  clientId: string;
  socket: WebSocket;
  lastHeard: number;
  /** Changes that came while the replay was being read: sent after it. */
  held: Change[] | undefined;
  sentUpTo: number;
  /** Changes that came before one of a lower sequence (sent once the gap is filled). */
  early: Map<number, Change>;
  gapTimer?: NodeJS.Timeout;
}

/**
 * The WebSocket side: every change recorded goes to every connected client, each message with its
 * sequence number; a client that reconnects with `since` gets what it missed first (or RESYNC when
 * it is too far behind). Heartbeats both ways; a peer silent for three intervals is dropped.
 */
export class WsHub {
  private readonly peers = new Set<Peer>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: ServerStore,
    private readonly heartbeatMs: number,
  ) {
    this.timer = setInterval(() => this.beat(), heartbeatMs);
    this.timer.unref();
  }

  connected(clientId: string): boolean {
    for (const p of this.peers) if (p.clientId === clientId) return true;
    return false;
  }

  get count(): number {
    return this.peers.size;
  }

  async join(clientId: string, socket: WebSocket, since: number | undefined): Promise<void> {
    const peer: Peer = { clientId, socket, lastHeard: Date.now(), held: since === undefined ? undefined : [], sentUpTo: since ?? 0, early: new Map() };
    this.peers.add(peer);
    socket.on('close', () => this.peers.delete(peer));
    socket.on('error', () => this.peers.delete(peer));
    socket.on('message', (data, isBinary) => void this.heard(peer, data.toString(), isBinary));
    const sequence = await this.store.sequence();
    send(peer, { type: 'CLIENT_CONNECT', client_id: clientId, sequence, heartbeat_s: this.heartbeatMs / 1000 });
    await this.store.touchClient(clientId);
    if (since === undefined) return;
    if (since > sequence) {
      // The client has seen more than this server ever recorded (its database was replaced): start over.
      send(peer, { type: 'RESYNC', sequence, message: 'The server does not know the sequence the client saw; run /sync again.' });
      peer.sentUpTo = sequence;
      const held = peer.held ?? [];
      peer.held = undefined;
      for (const c of held) this.deliver(peer, c);
      return;
    }
    const missed = await this.store.changesSince(since, REPLAY_LIMIT + 1);
    if (missed.length > REPLAY_LIMIT) {
      send(peer, { type: 'RESYNC', sequence, message: `The client is more than ${REPLAY_LIMIT} changes behind; run /sync again.` });
      peer.sentUpTo = sequence;
      const held = peer.held ?? [];
      peer.held = undefined;
      for (const c of held) this.deliver(peer, c);
      return;
    }
    for (const c of missed) this.deliver(peer, c);
    const held = peer.held ?? [];
    peer.held = undefined;
    for (const c of held) this.deliver(peer, c);
  }

  /** A change recorded: to every peer, in order (one replaying gets it after its replay). */
  broadcast(c: Change): void {
    for (const p of this.peers) {
      if (p.held) p.held.push(c);
      else this.deliver(p, c);
    }
  }

  /**
   * Sends changes in sequence order without a gap: one recorded out of order (two transactions of a
   * PostgreSQL Store finishing in the other order) waits for the one before it, which the store is
   * asked for when it does not come by itself.
   */
  private deliver(p: Peer, c: Change): void {
    if (c.seq <= p.sentUpTo) return;
    if (p.sentUpTo > 0 && c.seq > p.sentUpTo + 1) {
      p.early.set(c.seq, c);
      p.gapTimer ??= setTimeout(() => void this.fillGap(p), 200);
      return;
    }
    p.sentUpTo = c.seq;
    send(p, changeMessage(c));
    for (let next = p.early.get(p.sentUpTo + 1); next; next = p.early.get(p.sentUpTo + 1)) {
      p.early.delete(next.seq);
      p.sentUpTo = next.seq;
      send(p, changeMessage(next));
    }
  }

  private async fillGap(p: Peer): Promise<void> {
    p.gapTimer = undefined;
    if (p.early.size === 0 || !this.peers.has(p)) return;
    const missed = await this.store.changesSince(p.sentUpTo, REPLAY_LIMIT).catch(() => []);
    for (const c of missed) this.deliver(p, c);
  }

  private async heard(p: Peer, text: string, isBinary: boolean): Promise<void> {
    p.lastHeard = Date.now();
    let m: { type?: unknown; seq?: unknown };
    try {
      if (isBinary) throw new Error('binary');
      m = JSON.parse(text) as typeof m;
    } catch {
      send(p, { type: 'ERROR', error: 'BAD_MESSAGE', message: 'A message must be a JSON object with a "type".' });
      return;
    }
    if (m.type === 'HEARTBEAT') {
      send(p, { type: 'HEARTBEAT', time: new Date().toISOString() });
      // Last seen: the dashboard tells a client that is connected from one that went quiet.
      await this.store.touchClient(p.clientId).catch(() => undefined);
    }
    else if (m.type === 'ACK' && Number.isSafeInteger(m.seq)) await this.store.touchClient(p.clientId, m.seq as number).catch(() => undefined);
    else if (m.type !== 'CLIENT_CONNECT') send(p, { type: 'ERROR', error: 'BAD_MESSAGE', message: `Unknown message type ${JSON.stringify(m.type)}.` });
  }

  private beat(): void {
    const now = Date.now();
    for (const p of this.peers) {
      if (now - p.lastHeard > 3 * this.heartbeatMs) {
        p.socket.terminate();
        this.peers.delete(p);
      } else {
        send(p, { type: 'HEARTBEAT', time: new Date(now).toISOString() });
      }
    }
  }

  /** The clients with a WebSocket open now. */
  connectedClients(): string[] {
    return [...new Set([...this.peers].map((p) => p.clientId))];
  }

  close(): void {
    clearInterval(this.timer);
    for (const p of this.peers) p.socket.close(1001, 'server stopping');
    this.peers.clear();
  }
}

function send(p: Peer, m: Record<string, unknown>): void {
  if (p.socket.readyState === p.socket.OPEN) p.socket.send(JSON.stringify(m));
}
