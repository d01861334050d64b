import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { ControlChannel, socketStream } from '../../src/control/channel.js';
import { encodeFrame, handshakeFeed } from '../../src/control/framing.js';
import { clientHandshake } from '../../src/control/noise-session.js';
import { parseJson } from '../../src/control/schema.js';
import type { CryptoProvider } from '../../src/crypto/types.js';
import { type AllowedKey, AllowedKeySet } from '../../src/relay/allowed-keys.js';
import {
  FEED_KEEPALIVE_MS,
  type FeedMessage,
  feedMessage,
  feedServerHello,
  KEY_FEED_PATH,
  KEY_FEED_PROLOGUE,
  KEY_FEED_UPGRADE,
  KEY_FEED_VERSION,
  MAX_ALLOWED_KEYS,
  MAX_FEED_FRAME,
} from '../../src/relay/key-feed.js';
import type { StaticKeyPair } from '../../src/wireguard/noise.js';
import { type KeyGate, Listeners } from './key-gate.js';

export interface KeyFeedClientOptions {
  /** The coordination server: http(s)://HOST:PORT. */
  url: string;
  /** The server's control key, pinned: a server that cannot prove it is not believed. */
  serverPublicKey: Uint8Array;
  /** This relay's key, which must be in the server's relay map. */
  relayKey: StaticKeyPair;
  crypto: CryptoProvider;
  random: (n: number) => Uint8Array;
  /** Unix wall-clock ms. */
  now: () => number;
  /** First reconnect delay, doubled after each failure up to `maxBackoffMs`. Default 500 ms. */
  minBackoffMs?: number;
  /** Default 30 s. */
  maxBackoffMs?: number;
  log?: (message: string) => void;
}

type FeedChannel = ControlChannel<FeedMessage, never>;

const CONNECT_TIMEOUT_MS = 10_000;
/** Three keepalives missed: the server (or the path to it) is gone though the socket is not closed. */
const QUIET_MS = 3 * FEED_KEEPALIVE_MS;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A standalone relay's gate: follows its coordination server's key feed (key-feed-server.ts) and
 * serves exactly the keys it was sent. Until the first full set arrives it serves nobody.
 *
 * While the server is unreachable the relay keeps serving the last set it was sent (the data plane
 * does not wait for the control plane) and still expires keys by the expiry times that came with
 * them; deletions and key rotations made meanwhile take effect when it reconnects, because the
 * full set it is then sent replaces the old one. If the server refuses this relay (its key is no
 * longer in the relay map), the relay serves nobody until the server accepts it again.
 */
export class KeyFeedClient implements KeyGate {
  private readonly keys = new AllowedKeySet();
  private readonly revoked = new Listeners<readonly string[]>();
  /** Parts of a full set being received. */
  private incoming: AllowedKey[] | null = null;
  private channel: FeedChannel | undefined;
  private abort: ((reason: string) => void) | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private expiry: ReturnType<typeof setTimeout> | undefined;
  private quiet: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private synced = false;
  private isClosed = false;
  private waiters: { resolve(): void; reject(error: Error): void }[] = [];

  constructor(private readonly options: KeyFeedClientOptions) {
    this.connect();
  }

  allows(nodeKey: string): boolean {
    return this.keys.has(nodeKey, this.options.now());
  }

  onRevoked(listener: (nodeKeys: readonly string[]) => void): () => void {
    return this.revoked.add(listener);
  }

  /** Keys allowed now. */
  get size(): number {
    return this.keys.size;
  }

  /** Resolves once a full set has arrived (at once if one has); rejects if closed first. */
  ready(): Promise<void> {
    if (this.isClosed) return Promise.reject(new Error('key feed client is closed'));
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearTimeout(this.retry);
    clearTimeout(this.expiry);
    clearTimeout(this.quiet);
    this.abort?.('closed');
    this.channel?.close('closed');
    for (const w of this.waiters.splice(0)) w.reject(new Error('key feed client is closed'));
  }

  private log(message: string): void {
    this.options.log?.(`key feed: ${message}`);
  }

  private connect(): void {
    this.retry = undefined;
    const url = new URL(KEY_FEED_PATH, this.options.url);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    const fail = (reason: string, refused = false) => {
      if (settled) return;
      settled = true;
      this.abort = undefined;
      req.destroy();
      this.lost(reason, refused);
    };
    this.abort = fail;
    const req = request(url, {
      method: 'GET',
      headers: { Connection: 'Upgrade', Upgrade: KEY_FEED_UPGRADE },
      timeout: CONNECT_TIMEOUT_MS,
    });
    req.on('timeout', () => fail(`${url.host} did not answer in time`));
    req.on('error', (error) => fail(error.message));
    req.on('response', (res) => {
      res.resume();
      fail(`${url.host} answered HTTP ${res.statusCode} instead of the key feed`);
    });
    req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
      const hello = new TextEncoder().encode(JSON.stringify({ v: KEY_FEED_VERSION, ts: this.options.now() }));
      const { crypto, relayKey, serverPublicKey, random } = this.options;
      const handshake = clientHandshake(crypto, relayKey, serverPublicKey, hello, random, KEY_FEED_PROLOGUE);
      let channel: FeedChannel | undefined;
      const failHere = (reason: string, refused = false) => {
        clearTimeout(timer);
        socket.destroy();
        fail(reason, refused);
      };
      const timer = setTimeout(() => failHere('the handshake timed out'), CONNECT_TIMEOUT_MS);
      this.abort = failHere;
      const onReply = (frame: Uint8Array) => {
        clearTimeout(timer);
        const done = handshake.finish(frame);
        if (done === null) return void failHere('the server did not prove the pinned control key');
        let answer: ReturnType<typeof feedServerHello.parse>;
        try {
          answer = parseJson(feedServerHello, new TextDecoder().decode(done.payload));
        } catch (error) {
          return void failHere(`bad server hello: ${(error as Error).message}`);
        }
        if (answer.status === 'refused') return void failHere(`refused: ${answer.reason}`, true);
        settled = true;
        this.abort = undefined;
        const opened: FeedChannel = new ControlChannel(
          socketStream(socket),
          done.session,
          feedMessage,
          MAX_FEED_FRAME,
        );
        channel = opened;
        this.channel = opened;
        opened.onMessage((message) => this.receive(opened, message));
        opened.onClose((reason) => {
          socket.destroy();
          if (this.channel === opened) this.lost(reason, false);
        });
        this.stayAwake(opened);
        return (chunk: Uint8Array) => opened.receive(chunk);
      };
      const ended = (reason: string) => (channel ? channel.close(reason) : failHere(reason));
      socket.on('error', (error) => ended(error.message));
      socket.on('close', () => ended('connection closed'));
      socket.on('end', () => ended('connection closed by the server'));
      // The server's first messages may arrive with its reply, so the reader takes feed-sized frames.
      const feed = handshakeFeed(MAX_FEED_FRAME, onReply, (error) =>
        failHere(`bad handshake frame: ${error.message}`),
      );
      socket.write(encodeFrame(handshake.message));
      if (head.length > 0) feed(new Uint8Array(head.buffer, head.byteOffset, head.length));
      socket.on('data', (d: Buffer) => feed(new Uint8Array(d.buffer, d.byteOffset, d.length)));
    });
    req.end();
  }

  private receive(channel: FeedChannel, message: FeedMessage): void {
    this.stayAwake(channel);
    const now = this.options.now();
    switch (message.type) {
      case 'full': {
        const incoming = this.incoming ?? [];
        this.incoming = incoming;
        if (incoming.length + message.keys.length > MAX_ALLOWED_KEYS) {
          channel.close(`the full set exceeds ${MAX_ALLOWED_KEYS} keys`);
          return;
        }
        incoming.push(...message.keys);
        if (message.more) return;
        this.incoming = null;
        this.revoke(this.keys.replace(incoming, now));
        this.failures = 0;
        this.log(`following ${this.options.url}: ${this.keys.size} node keys allowed`);
        if (!this.synced) {
          this.synced = true;
          for (const w of this.waiters.splice(0)) w.resolve();
        }
        return;
      }
      case 'changes': {
        if (this.incoming !== null) {
          channel.close('changes in the middle of a full set');
          return;
        }
        if (this.keys.size + message.allow.length > MAX_ALLOWED_KEYS) {
          channel.close(`the set exceeds ${MAX_ALLOWED_KEYS} keys`);
          return;
        }
        for (const { key, expires } of message.allow) this.keys.allow(key, expires, now);
        this.revoke(message.revoke.filter((key) => this.keys.revoke(key)));
        return;
      }
      case 'keepalive':
        return;
    }
  }

  /** Tells the relay about revoked keys and sets the timer for the next expiry. */
  private revoke(keys: readonly string[]): void {
    if (keys.length > 0) this.revoked.emit(keys);
    clearTimeout(this.expiry);
    const next = this.keys.nextExpiry;
    if (next === null || this.isClosed) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, next - this.options.now()));
    this.expiry = setTimeout(() => this.revoke(this.keys.expire(this.options.now())), delay);
    this.expiry.unref();
  }

  /** Restarts the timer that closes a feed gone quiet. */
  private stayAwake(channel: FeedChannel): void {
    clearTimeout(this.quiet);
    this.quiet = setTimeout(() => channel.close('no keepalive from the server'), QUIET_MS);
    this.quiet.unref();
  }

  private lost(reason: string, refused: boolean): void {
    this.channel = undefined;
    this.incoming = null;
    clearTimeout(this.quiet);
    if (this.isClosed) return;
    if (refused) this.revoke(this.keys.replace([], this.options.now()));
    const max = this.options.maxBackoffMs ?? 30_000;
    const base = refused ? max : Math.min(max, (this.options.minBackoffMs ?? 500) * 2 ** this.failures);
    this.failures = Math.min(this.failures + 1, 30);
    const delay = Math.round(base * (0.5 + Math.random() / 2));
    const keeping = refused ? 'serving nobody' : `keeping the ${this.keys.size} keys it last sent`;
    this.log(`${this.options.url}: ${reason}; ${keeping}; retrying in ${delay} ms`);
    this.retry = setTimeout(() => this.connect(), delay);
  }
}
