import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ControlChannel, socketStream } from '../../src/control/channel.js';
import { encodeFrame, handshakeFeed } from '../../src/control/framing.js';
import { serverHandshake } from '../../src/control/noise-session.js';
import { parseJson } from '../../src/control/schema.js';
import type { CryptoProvider } from '../../src/crypto/types.js';
import type { AllowedKey } from '../../src/relay/allowed-keys.js';
import {
  FEED_KEEPALIVE_MS,
  type FeedMessage,
  type FeedServerHello,
  feedClientHello,
  KEY_FEED_PATH,
  KEY_FEED_PROLOGUE,
  KEY_FEED_UPGRADE,
  KEY_FEED_VERSION,
  MAX_FEED_HELLO_FRAME,
  MAX_KEYS_PER_MESSAGE,
  noFeedMessage,
} from '../../src/relay/key-feed.js';
import { ReplayGuard } from '../../src/relay/replay-guard.js';
import type { StaticKeyPair } from '../../src/wireguard/noise.js';
import { RateLimiter } from '../../src/wireguard/rate-limiter.js';
import { clientKey } from '../client-address.js';
import type { KeyChanges } from './store-allowed-keys.js';

export interface KeyFeedOptions {
  crypto: CryptoProvider;
  /** The server's control key: relays pin its public half (`--control-key`). */
  serverKey: StaticKeyPair;
  random: (n: number) => Uint8Array;
  /** Unix wall-clock ms. */
  now: () => number;
  /** The public keys (base64) of the relays that may follow the feed: the relay map's. */
  relayKeys: () => readonly string[];
  /** Who a request is from, for the per-address rate limit. */
  clientAddress: (request: IncomingMessage) => string;
  /** The allowed keys and their changes. */
  source: {
    entries(): AllowedKey[];
    onChange(listener: (changes: KeyChanges) => void): () => void;
  };
  log?: (message: string) => void;
}

export interface KeyFeed {
  close(): void;
}

const HANDSHAKE_TIMEOUT_MS = 10_000;
const HELLO_WINDOW_MS = 120_000;
/** Handshakes waiting for their first frame, over all addresses: each holds a socket. */
const MAX_HANDSHAKING = 64;
/**
 * A relay that lets this much go unread beyond its full set is dropped; it gets the full set again
 * when it comes back. (Counted beyond the full set, which may be larger on its own.)
 */
const MAX_UNSENT_BYTES = 16 << 20;

type FeedChannel = ControlChannel<never, FeedMessage>;

const keyId = (key: Uint8Array) => Buffer.from(key).toString('base64');
const encoder = new TextEncoder();

/**
 * Serves the key feed on burrow-server's HTTP server (`GET /relay/keys/v1`, `Upgrade:
 * burrow-relay-keys/1`): a relay proves its relay key in a Noise IK handshake to the control key,
 * and if that key is in the relay map it is sent the full set of allowed node keys, then every
 * change. A key not in the map gets a refusal it can read (and log), then the connection ends.
 * Handshakes are rate-limited per address and capped in number, like everything reachable
 * without credentials.
 */
export function attachKeyFeed(server: Server, options: KeyFeedOptions): KeyFeed {
  const guard = new ReplayGuard({ windowMs: HELLO_WINDOW_MS, maxEntries: 10_000 });
  const limiter = new RateLimiter({ packetsPerSecond: 2, burst: 10 });
  /** The channel of each relay following, and the unsent bytes it may reach before it is dropped. */
  const feeds = new Map<string, { channel: FeedChannel; maxUnsent: number }>();
  const handshaking = new Set<Duplex>();
  let closed = false;

  const broadcast = (message: FeedMessage) => {
    const json = JSON.stringify(message);
    for (const { channel, maxUnsent } of feeds.values()) {
      if (channel.unsentBytes > maxUnsent) channel.close('too slow reading the key feed');
      else channel.sendJson(json);
    }
  };
  const stopFollowing = options.source.onChange(({ allow, revoke }) => {
    for (let at = 0; at < Math.max(allow.length, revoke.length); at += MAX_KEYS_PER_MESSAGE) {
      const end = at + MAX_KEYS_PER_MESSAGE;
      broadcast({ type: 'changes', allow: allow.slice(at, end), revoke: revoke.slice(at, end) });
    }
  });
  const keepalive = setInterval(() => broadcast({ type: 'keepalive' }), FEED_KEEPALIVE_MS);

  const follow = (relayKey: string, channel: FeedChannel) => {
    const older = feeds.get(relayKey);
    const feed = { channel, maxUnsent: Number.POSITIVE_INFINITY };
    feeds.set(relayKey, feed);
    older?.channel.close('replaced by a newer connection from this relay');
    channel.onClose(() => {
      if (feeds.get(relayKey) === feed) feeds.delete(relayKey);
    });
    const all = options.source.entries();
    // At least one part, so that an empty set is a complete one too.
    for (let i = 0; i === 0 || i < all.length; i += MAX_KEYS_PER_MESSAGE) {
      const keys = all.slice(i, i + MAX_KEYS_PER_MESSAGE);
      channel.send({ type: 'full', keys, more: i + MAX_KEYS_PER_MESSAGE < all.length });
    }
    feed.maxUnsent = channel.unsentBytes + MAX_UNSENT_BYTES;
    options.log?.(`key feed: relay ${relayKey} is following (${all.length} keys)`);
  };

  const accept = (socket: Duplex, head: Buffer) => {
    handshaking.add(socket);
    let channel: FeedChannel | undefined;
    const timer = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      handshaking.delete(socket);
    };
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      done();
      channel?.close('connection closed');
    });
    socket.on('end', () => (channel ? channel.close('connection closed by the relay') : socket.destroy()));

    const onFirstFrame = (frame: Uint8Array) => {
      done();
      const accepted = serverHandshake(
        options.crypto,
        options.serverKey,
        frame,
        options.random,
        KEY_FEED_PROLOGUE,
      );
      if (accepted === null) return void socket.destroy();
      let ts: number;
      try {
        ts = parseJson(feedClientHello, new TextDecoder().decode(accepted.payload)).ts;
      } catch {
        return void socket.destroy();
      }
      if (guard.check(keyId(accepted.ephemeralKey), ts, options.now()) !== 'ok') return void socket.destroy();
      const relayKey = keyId(accepted.machineKey);
      const listed = options.relayKeys().includes(relayKey);
      const hello: FeedServerHello = listed
        ? { v: KEY_FEED_VERSION, status: 'ok' }
        : {
            v: KEY_FEED_VERSION,
            status: 'refused',
            reason: `relay key ${relayKey} is not in this server's relay map`,
          };
      const { message, session } = accepted.reply(encoder.encode(JSON.stringify(hello)));
      socket.write(encodeFrame(message));
      if (!listed) {
        session.close();
        socket.end();
        return;
      }
      channel = new ControlChannel<never, FeedMessage>(
        socketStream(socket as Socket),
        session,
        noFeedMessage,
        MAX_FEED_HELLO_FRAME,
      );
      follow(relayKey, channel);
      const taker = channel;
      return (chunk: Uint8Array) => taker.receive(chunk);
    };

    const feed = handshakeFeed(MAX_FEED_HELLO_FRAME, onFirstFrame, () => socket.destroy());
    if (head.length > 0) feed(new Uint8Array(head.buffer, head.byteOffset, head.length));
    socket.on('data', (chunk: Buffer) => {
      if (!socket.destroyed) feed(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    });
  };

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (request.url !== KEY_FEED_PATH) return;
    if (closed || request.headers.upgrade?.toLowerCase() !== KEY_FEED_UPGRADE) {
      socket.end(`HTTP/1.1 ${closed ? 503 : 400} Key Feed Unavailable\r\nConnection: close\r\n\r\n`);
      return;
    }
    const address = clientKey(options.clientAddress(request));
    if (handshaking.size >= MAX_HANDSHAKING || !limiter.allow(address, performance.now())) {
      socket.end('HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\n\r\n');
      return;
    }
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${KEY_FEED_UPGRADE}\r\nConnection: Upgrade\r\n\r\n`,
    );
    accept(socket, head);
  });

  return {
    close() {
      closed = true;
      stopFollowing();
      clearInterval(keepalive);
      for (const { channel } of [...feeds.values()]) channel.close('the server is shutting down');
      for (const socket of handshaking) socket.destroy();
    },
  };
}
