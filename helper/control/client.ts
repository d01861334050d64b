import type { ClientMessage, MapDelta, Netmap, ServerMessage } from '../../src/control/messages.js';
import { applyDelta, DeltaError } from '../../src/control/netmap-state.js';
import { decodeKey, encodeKey } from '../../src/wireguard/keys.js';
import { monotonic } from '../burrowd/clock.js';
import type { ControlClientEvents, ControlClientOptions, ControlState } from './client-options.js';
import { type ClientChannel, connectControl } from './connect.js';
import { Liveness } from './liveness.js';
import { PendingRequests } from './pending-requests.js';
import { ServerChoice } from './server-choice.js';
import { fetchServerKey } from './server-key.js';
import { ShareRequests } from './share-requests.js';

export type { ControlClientEvents, ControlClientOptions, ControlState } from './client-options.js';

/** One control connection and what the client knows about it. */
interface Connection {
  channel: ClientChannel;
  /** `streaming` once registration succeeded and the map was asked for. */
  phase: 'registering' | 'streaming';
  sentAuthKey: boolean;
  /** Whether a delta may be applied to the kept map: after a full map here, or after asking with `since`. */
  inSync: boolean;
  /** The endpoints this connection last told the server, as JSON. */
  endpoints: string;
  /** The home relay this connection last told the server. */
  homeRelay: number | null;
  /** Watches a streaming connection for going silent. */
  liveness?: Liveness;
}

type Listeners = { [E in keyof ControlClientEvents]: Set<ControlClientEvents[E]> };

/**
 * The device's side of the control protocol's long-lived stream: registers, keeps the netmap the
 * server streams (a full map, then deltas), and reconnects with backoff whenever the connection
 * drops, to the next server URL if it has several (ServerChoice). The last netmap is kept through
 * outages, because the data plane must not depend on the control plane being up; a reconnection
 * asks for the map again, so nothing that changed meanwhile is missed.
 *
 * Deltas are applied in the order they arrive: the server computes each against what it last sent
 * on that connection, so skipping one would silently drift. A delta that does not fit the map, that
 * arrives before any map it could apply to, or whose seq is lower than the map's (the two sides
 * disagree about history) makes the client reconnect without `since`, which gets a full map.
 */
export class ControlClient {
  private readonly servers: ServerChoice;
  private readonly listeners: Listeners = { netmap: new Set(), state: new Set(), sharesChanged: new Set() };
  private pinnedKey: Uint8Array | undefined;
  private running = false;
  /** Bumped by stop(): a connection attempt from an older generation is discarded when it lands. */
  private generation = 0;
  private conn: Connection | undefined;
  private attempt: Promise<void> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private keyFetch: AbortController | undefined;
  private registered = false;
  private map: Netmap | null = null;
  /** The seq of `map`, sent as `since`; cleared to force a full map when a delta did not fit. */
  private seq: number | undefined;
  private routes: Omit<Extract<ClientMessage, { type: 'routes' }>, 'type'> | undefined;
  private readonly pings = new PendingRequests<void>();
  private current: ControlState = { state: 'stopped' };
  private readonly shares: ShareRequests;

  // Sharing, as the user who owns this device (see ShareRequests): refusals reject with RequestRefused.
  readonly createShare: ShareRequests['create'] = (...args) => this.shares.create(...args);
  readonly listShares: ShareRequests['list'] = () => this.shares.list();
  readonly acceptShare: ShareRequests['accept'] = (ref) => this.shares.accept(ref);
  readonly declineShare: ShareRequests['decline'] = (inviteId) => this.shares.decline(inviteId);
  readonly revokeShare: ShareRequests['revoke'] = (ref) => this.shares.revoke(ref);

  constructor(private readonly options: ControlClientOptions) {
    this.servers = new ServerChoice(
      options.serverUrls,
      options.minBackoffMs ?? 500,
      options.maxBackoffMs ?? 30_000,
      options.random,
    );
    if (options.serverPublicKey !== undefined) {
      this.pinnedKey = decodeKey(options.serverPublicKey, 'serverPublicKey');
    }
    const send = () => {
      const conn = this.conn;
      return conn?.phase === 'streaming' ? (m: ClientMessage) => conn.channel.send(m) : null;
    };
    this.shares = new ShareRequests(send, options.requestTimeoutMs ?? 10_000);
  }

  get state(): ControlState {
    return this.current;
  }

  /** The last netmap received, kept while the server is unreachable; null before the first. */
  get netmap(): Netmap | null {
    return this.map;
  }

  /** The server key in use (base64), once known: burrowd persists it to keep it pinned across restarts. */
  get serverPublicKey(): string | undefined {
    return this.pinnedKey && encodeKey(this.pinnedKey);
  }

  /** Registers a listener; returns a function that removes it. */
  on<E extends keyof ControlClientEvents>(event: E, listener: ControlClientEvents[E]): () => void {
    const set = this.listeners[event] as Set<ControlClientEvents[E]>;
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Connects (again, after stop() or a refusal); a no-op while running. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.servers.reset();
    this.connect();
  }

  /**
   * Closes the connection and cancels retries. Resolves once nothing is left running: an attempt
   * already under way cannot be cancelled, so this waits for it to end (at most connectTimeoutMs).
   */
  async stop(): Promise<void> {
    this.running = false;
    this.generation++;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.keyFetch?.abort();
    this.conn?.channel.close('stopped');
    this.setState({ state: 'stopped' });
    await this.attempt;
  }

  /**
   * Tells the server the endpoints `options.endpoints()` and the home relay `options.homeRelay()`
   * now return, if either changed since this connection last told it.
   */
  updateEndpoints(): void {
    const conn = this.conn;
    if (conn?.phase !== 'streaming') return; // the next map request carries them
    const endpoints = this.options.endpoints();
    const homeRelay = this.homeRelay();
    const text = JSON.stringify(endpoints);
    if (text === conn.endpoints && homeRelay === conn.homeRelay) return;
    conn.endpoints = text;
    conn.homeRelay = homeRelay;
    conn.channel.send({ type: 'endpoints', endpoints, ...(homeRelay !== null ? { homeRelay } : {}) });
  }

  /** Offers subnet routes and the exit node; remembered and offered again on every connection. */
  advertiseRoutes(routes: string[], exitNode: boolean): void {
    this.routes = { advertiseRoutes: [...routes], advertiseExitNode: exitNode };
    if (this.conn?.phase === 'streaming') this.conn.channel.send({ type: 'routes', ...this.routes });
  }

  /** The round trip to the server over the control channel, ms. */
  async ping(timeoutMs = 10_000): Promise<number> {
    const conn = this.conn;
    if (!conn) throw new Error('not connected to the control server');
    const sentAt = monotonic();
    await this.pings.start((id) => conn.channel.send({ type: 'ping', id }), 'pong', timeoutMs);
    return monotonic() - sentAt;
  }

  private connect(): void {
    this.retryTimer = undefined;
    const generation = this.generation;
    this.setState({ state: 'connecting' });
    const attempt = this.open().then(
      (channel) => {
        if (generation === this.generation) this.attach(channel);
        else channel.close('stopped');
      },
      (error: Error) => {
        if (generation === this.generation) this.retry(error.message);
      },
    );
    this.attempt = attempt.finally(() => {
      if (this.attempt === attempt) this.attempt = undefined;
    });
  }

  private async open(): Promise<ClientChannel> {
    const url = this.servers.url;
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    if (this.pinnedKey === undefined) {
      const abort = new AbortController();
      this.keyFetch = abort;
      try {
        this.pinnedKey = await fetchServerKey(url, timeoutMs, abort.signal);
      } finally {
        this.keyFetch = undefined;
      }
    }
    const { crypto, machine, random, now } = this.options;
    return connectControl(url, {
      crypto,
      machine,
      serverPublicKey: this.pinnedKey,
      random,
      now,
      timeoutMs,
      ...(this.options.lookup ? { lookup: this.options.lookup } : {}),
    });
  }

  private attach(channel: ClientChannel): void {
    const { authKey } = this.options;
    const conn: Connection = {
      channel,
      phase: 'registering',
      sentAuthKey: !this.registered && authKey !== undefined,
      inSync: false,
      endpoints: '',
      homeRelay: null,
    };
    this.conn = conn;
    channel.onClose((reason) => this.dropped(conn, reason));
    channel.onMessage((message) => this.receive(conn, message));
    channel.send({
      type: 'register',
      nodeKey: this.options.nodeKey,
      discoKey: this.options.discoKey,
      hostname: this.options.hostname,
      ...(conn.sentAuthKey ? { authKey } : {}),
    });
  }

  private receive(conn: Connection, message: ServerMessage): void {
    if (conn !== this.conn) return;
    conn.liveness?.heard();
    switch (message.type) {
      case 'register-result':
        if (message.status === 'ok') this.registeredOn(conn);
        else if (message.status === 'login-required')
          this.setState({ state: 'login-required', url: message.url });
        else this.refuse(message.reason);
        return;
      case 'full-map':
        conn.inSync = true;
        this.accept(message.map, message.seq);
        return;
      case 'delta':
        this.applyDelta(conn, message);
        return;
      case 'pong':
        this.pings.settle(message.id, undefined);
        return;
      case 'reply':
        this.shares.settle(message);
        return;
      case 'shares-changed':
        this.emit('sharesChanged');
        return;
      case 'error':
        // An auth key the server rejects stays rejected: retrying would only repeat the answer.
        if (conn.phase === 'registering' && conn.sentAuthKey) this.refuse(message.reason);
        else conn.channel.close(`server error: ${message.reason}`);
        return;
    }
  }

  private registeredOn(conn: Connection): void {
    if (conn.phase === 'streaming') return;
    this.registered = true;
    conn.phase = 'streaming';
    const ping = (timeoutMs: number) =>
      this.pings.start((id) => conn.channel.send({ type: 'ping', id }), 'pong', timeoutMs);
    conn.liveness = new Liveness(this.options.keepaliveMs ?? 30_000, ping, (why) => conn.channel.close(why));
    this.setState({ state: 'connected' });
    const since = this.seq;
    conn.inSync = since !== undefined;
    const endpoints = this.options.endpoints();
    const homeRelay = this.homeRelay();
    conn.endpoints = JSON.stringify(endpoints);
    conn.homeRelay = homeRelay;
    conn.channel.send({
      type: 'map',
      endpoints,
      ...(since !== undefined ? { since } : {}),
      ...(homeRelay !== null ? { homeRelay } : {}),
    });
    if (this.routes) conn.channel.send({ type: 'routes', ...this.routes });
  }

  /** The home relay to report: none unless `options.homeRelay` names a region the protocol allows. */
  private homeRelay(): number | null {
    const region = this.options.homeRelay?.() ?? null;
    if (region === null || (Number.isInteger(region) && region >= 1 && region <= 65535)) return region;
    this.options.log?.(`control: not reporting home relay ${region}: not a relay region id`);
    return null;
  }

  private applyDelta(conn: Connection, delta: MapDelta): void {
    let next: Netmap;
    try {
      if (!conn.inSync || this.map === null || this.seq === undefined) {
        throw new DeltaError('a delta arrived before a map it could apply to');
      }
      if (delta.seq < this.seq) throw new DeltaError(`delta ${delta.seq} is older than map ${this.seq}`);
      next = applyDelta(this.map, delta);
    } catch (error) {
      if (!(error instanceof DeltaError)) throw error;
      this.resync(conn, error.message);
      return;
    }
    this.accept(next, delta.seq);
  }

  private accept(map: Netmap, seq: number): void {
    this.map = map;
    this.seq = seq;
    this.servers.succeeded();
    this.emit('netmap', map, seq);
  }

  /** Reconnects asking for a full map; the kept map serves until it arrives. */
  private resync(conn: Connection, why: string): void {
    this.options.log?.(`control: resync: ${why}`);
    this.seq = undefined;
    conn.channel.close(`resync: ${why}`);
  }

  private refuse(reason: string): void {
    this.running = false;
    this.setState({ state: 'refused', reason });
    this.conn?.channel.close(`refused: ${reason}`);
  }

  private dropped(conn: Connection, reason: string): void {
    conn.liveness?.stop();
    if (conn !== this.conn) return;
    this.conn = undefined;
    const closed = new Error(`control connection closed: ${reason}`);
    this.pings.failAll(closed);
    this.shares.failAll(closed);
    if (this.running) this.retry(reason);
  }

  private retry(reason: string): void {
    const from = this.servers.url;
    const delay = this.servers.failed();
    const to = this.servers.url === from ? '' : ` at ${this.servers.url}`;
    this.options.log?.(`control: ${from}: ${reason}; retrying in ${delay} ms${to}`);
    this.setState({ state: 'offline', reason, retryInMs: delay });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private setState(state: ControlState): void {
    if (state.state === 'stopped' && this.current.state === 'stopped') return;
    this.current = state;
    this.emit('state', state);
  }

  private emit<E extends keyof ControlClientEvents>(
    event: E,
    ...args: Parameters<ControlClientEvents[E]>
  ): void {
    for (const listener of this.listeners[event]) {
      try {
        (listener as (...a: Parameters<ControlClientEvents[E]>) => void)(...args);
      } catch (error) {
        // A listener's bug must not break the stream for the others.
        this.options.log?.(`control: ${event} listener threw: ${(error as Error).stack}`);
      }
    }
  }
}
