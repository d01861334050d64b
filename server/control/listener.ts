import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ControlChannel, socketStream } from '../../src/control/channel.js';
import { encodeFrame, handshakeFeed, MAX_CLIENT_FRAME } from '../../src/control/framing.js';
import {
  type ClientMessage,
  clientHello,
  clientMessage,
  PROTOCOL_VERSION,
  type ServerMessage,
} from '../../src/control/messages.js';
import { serverHandshake } from '../../src/control/noise-session.js';
import { parseJson } from '../../src/control/schema.js';
import type { CryptoProvider } from '../../src/crypto/types.js';
import { ReplayGuard } from '../../src/relay/replay-guard.js';
import type { StaticKeyPair } from '../../src/wireguard/noise.js';
import { RateLimiter } from '../../src/wireguard/rate-limiter.js';
import { clientKey } from '../client-address.js';

export const CONTROL_PATH = '/control/v1';
export const CONTROL_UPGRADE = 'burrow-control/1';
/** First messages older or newer than this are refused; within it, each is accepted once. */
const HELLO_WINDOW_MS = 120_000;
const MAX_HELLO_FRAME = 1024;

/** What strangers may cost before they have proven anything but a key of their own. */
export interface HandshakeLimits {
  /** Sustained control handshakes per second per client address (an IPv6 /64 counts as one). */
  perAddressPerSecond: number;
  /** Handshakes an address may start at once after being quiet (a NAT of devices starting up). */
  perAddressBurst: number;
  /** Connections between the upgrade and a completed handshake, server-wide. */
  maxHandshaking: number;
  /** A connection that has not completed its handshake by then is closed. */
  timeoutMs: number;
  /** First messages remembered against replay (a flood beyond it is refused, not forgotten early). */
  maxRemembered: number;
}

export type HandshakeRefusal = 'rate-limited' | 'busy' | 'handshake' | 'stale' | 'replayed' | 'timeout';

export const DEFAULT_HANDSHAKE_LIMITS: HandshakeLimits = {
  perAddressPerSecond: 10,
  perAddressBurst: 50,
  maxHandshaking: 1024,
  timeoutMs: 10_000,
  maxRemembered: 200_000,
};

export interface ControlListenerOptions {
  crypto: CryptoProvider;
  serverKey: StaticKeyPair;
  random: (n: number) => Uint8Array;
  /** Unix wall-clock ms. */
  now: () => number;
  limits?: Partial<HandshakeLimits>;
  /** The client's address (behind a trusted reverse proxy, from X-Forwarded-For); the peer's by default. */
  clientAddress?: (request: IncomingMessage) => string;
  /** Counts refusals by reason, for /metrics. */
  refused?: (reason: HandshakeRefusal) => void;
}

export type ServerChannel = ControlChannel<ClientMessage, ServerMessage>;

export interface ControlConnection {
  /** The machine key the device proved it holds. */
  machineKey: Uint8Array;
  channel: ServerChannel;
  /** The client's address (see ControlListenerOptions.clientAddress). */
  address: string;
}

/**
 * Serves the control protocol on an HTTP server: `GET /control/v1` with `Upgrade: burrow-control/1`
 * switches the connection to length-prefixed frames; the device's first frame is a Noise IK message
 * proving its machine key, the server answers, and typed messages follow. First messages are
 * accepted only within a time window and only once (by ephemeral key), so they cannot be replayed.
 * Anyone can make a key, so handshakes are limited per address before any Diffie-Hellman work, and
 * the connections still in their handshake are capped server-wide.
 */
export function attachControl(
  server: Server,
  options: ControlListenerOptions,
  onConnection: (connection: ControlConnection) => void,
): void {
  const limits = { ...DEFAULT_HANDSHAKE_LIMITS, ...options.limits };
  const guard = new ReplayGuard({ windowMs: HELLO_WINDOW_MS, maxEntries: limits.maxRemembered });
  const perAddress = new RateLimiter({
    packetsPerSecond: limits.perAddressPerSecond,
    burst: limits.perAddressBurst,
  });
  let handshaking = 0;
  const refuse = (socket: Duplex, reason: HandshakeRefusal) => {
    options.refused?.(reason);
    socket.destroy();
  };

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Other paths belong to other listeners on this server (the relay); serve.ts answers the rest.
    if (request.url !== CONTROL_PATH) return;
    if (request.headers.upgrade?.toLowerCase() !== CONTROL_UPGRADE) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    const address = options.clientAddress?.(request) ?? request.socket.remoteAddress ?? '';
    const tooMany = (reason: 'rate-limited' | 'busy') => {
      options.refused?.(reason);
      socket.end('HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nConnection: close\r\n\r\n');
    };
    if (!perAddress.allow(clientKey(address), performance.now())) return tooMany('rate-limited');
    if (handshaking >= limits.maxHandshaking) return tooMany('busy');
    handshaking++;
    let counted = true;
    const handshakeOver = () => {
      if (counted) handshaking--;
      counted = false;
    };
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${CONTROL_UPGRADE}\r\nConnection: Upgrade\r\n\r\n`,
    );
    const stream = socketStream(socket);
    let channel: ServerChannel | undefined;
    const timer = setTimeout(() => refuse(socket, 'timeout'), limits.timeoutMs);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(timer);
      handshakeOver();
      channel?.close('connection closed');
    });
    // The device's end of the stream: close ours too (upgraded sockets stay half-open otherwise).
    socket.on('end', () => (channel ? channel.close('connection closed by the device') : socket.destroy()));

    const onFirstFrame = (frame: Uint8Array) => {
      const accepted = serverHandshake(options.crypto, options.serverKey, frame, options.random);
      if (accepted === null) return void refuse(socket, 'handshake');
      let hello: { ts: number };
      try {
        hello = parseJson(clientHello, new TextDecoder().decode(accepted.payload));
      } catch {
        return void refuse(socket, 'handshake');
      }
      const id = Buffer.from(accepted.ephemeralKey).toString('hex');
      const verdict = guard.check(id, hello.ts, options.now());
      if (verdict !== 'ok') return void refuse(socket, verdict);
      handshakeOver();
      const { message, session } = accepted.reply(
        new TextEncoder().encode(JSON.stringify({ v: PROTOCOL_VERSION })),
      );
      socket.write(encodeFrame(message));
      clearTimeout(timer);
      channel = new ControlChannel<ClientMessage, ServerMessage>(
        stream,
        session,
        clientMessage,
        MAX_CLIENT_FRAME,
      );
      onConnection({ machineKey: accepted.machineKey, channel, address });
      const taker = channel;
      return (chunk: Uint8Array) => taker.receive(chunk);
    };

    const feed = handshakeFeed(MAX_HELLO_FRAME, onFirstFrame, () => refuse(socket, 'handshake'));
    if (head.length > 0) feed(new Uint8Array(head.buffer, head.byteOffset, head.length));
    stream.onData(feed);
  });
}
