import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { encodeFrame, handshakeFeed } from '../../src/control/framing.js';
import { serverHandshake } from '../../src/control/noise-session.js';
import { randomBytes, selectCrypto } from '../../src/crypto/index.js';
import type { CryptoProvider } from '../../src/crypto/types.js';
import { encodePeerGone, encodeRecv, stampSource } from '../../src/relay/frames.js';
import {
  encodeRelayHello,
  MAX_HELLO_FRAME,
  parseClientHello,
  RELAY_PATH,
  RELAY_PROLOGUE,
  RELAY_UPGRADE,
  RELAY_VERSIONS,
  RELAY_VERSIONS_HEADER,
} from '../../src/relay/hello.js';
import { ReplayGuard } from '../../src/relay/replay-guard.js';
import type { StaticKeyPair } from '../../src/wireguard/noise.js';
import { RateLimiter } from '../../src/wireguard/rate-limiter.js';
import { ClientAddresses, clientKey } from '../client-address.js';
import { loadOrCreateServerKey } from '../server-key.js';
import { type ClientHooks, ConnectedClient } from './connected-client.js';
import type { KeyGate } from './key-gate.js';
import { DEFAULT_RELAY_LIMITS, type RelayLimits } from './relay-limits.js';
import { newCounters, type RefuseReason, type RelayStats } from './relay-stats.js';

export interface RelayOptions {
  crypto: CryptoProvider;
  /** The relay's static key; devices pin its public half (from the relay map). */
  relayKey: StaticKeyPair;
  random: (n: number) => Uint8Array;
  /** Unix wall-clock ms, for hello timestamps. */
  now: () => number;
  limits?: Partial<RelayLimits>;
  /** The node keys this relay serves; any other is refused at its handshake. */
  allowed: KeyGate;
  /** Who a request is from, for the per-address limits; the peer address by default. */
  clientAddress?: (request: IncomingMessage) => string;
}

export interface Relay {
  stats(): RelayStats;
  /** Closes every relay connection and refuses new ones; the HTTP server is the caller's. */
  close(): void;
}

const keyId = (key: Uint8Array) => Buffer.from(key.buffer, key.byteOffset, key.length).toString('base64');

/**
 * Serves the relay on an HTTP server: `GET /relay/v1` with `Upgrade: burrow-relay/1` switches to
 * length-prefixed frames; the first is a Noise IK message proving the device's node key, accepted
 * once, only near its timestamp and only for a node key the gate allows; then relay frames
 * (src/relay/frames.ts), with batches for devices whose hello asked for version 2. A connection whose key stops being allowed (its device deleted, its key
 * expired or rotated) is closed. Upgrades to other paths are left to the server's other listeners.
 *
 * The relay only ever sees WireGuard ciphertext inside its own Noise transport: it forwards by
 * destination key and stamps each packet with the sender's authenticated key, never a claimed one.
 */
export function attachRelay(server: Server, options: RelayOptions): Relay {
  const limits: RelayLimits = { ...DEFAULT_RELAY_LIMITS, ...options.limits };
  const counters = newCounters();
  const guard = new ReplayGuard({ windowMs: limits.helloWindowMs });
  const handshakeLimiter = new RateLimiter({
    packetsPerSecond: limits.handshakesPerSecond,
    burst: limits.handshakeBurst,
  });
  const clients = new Map<string, ConnectedClient>();
  const handshaking = new Set<Socket>();
  // Sockets per source address, handshaking and connected: one address cannot take every socket.
  const perAddress = new Map<string, number>();
  let closed = false;
  const stopFollowing = options.allowed.onRevoked((keys) => {
    for (const key of keys)
      clients.get(key)?.close('revoked', 'closing: this node key may no longer use this relay');
  });

  const forwarded = (delivered: boolean, packets: number, bytes: number) => {
    if (delivered) {
      counters.forwardedPackets += packets;
      counters.forwardedFrames++;
      counters.forwardedBytes += bytes;
    } else {
      counters.dropped.queueFull += packets;
    }
  };

  const hooks: ClientHooks = {
    send(from, frame, plain) {
      const to = clients.get(keyId(frame.dst));
      if (to === undefined) {
        counters.dropped.unknownDestination += frame.type === 'send' ? 1 : frame.packets.length;
        from.deliver(encodePeerGone(frame.dst));
      } else if (frame.type === 'send') {
        // The same bytes go on, with the sender's key in place of the destination's.
        forwarded(to.deliver(stampSource(plain, from.key)), 1, frame.packet.length);
      } else if (to.version >= 2) {
        const bytes = frame.packets.reduce((n, p) => n + p.length, 0);
        forwarded(to.deliver(stampSource(plain, from.key)), frame.packets.length, bytes);
      } else {
        // A device of version 1 gets a batch as single frames.
        for (const packet of frame.packets)
          forwarded(to.deliver(encodeRecv(from.key, packet)), 1, packet.length);
      }
    },
    closed(client) {
      if (clients.get(client.id) === client) clients.delete(client.id);
    },
  };

  const refuse = (socket: Socket, reason: RefuseReason) => {
    counters.refused[reason]++;
    socket.destroy();
  };

  const accept = (socket: Socket, head: Buffer) => {
    handshaking.add(socket);
    let client: ConnectedClient | undefined;
    const timer = setTimeout(() => refuse(socket, 'timeout'), limits.handshakeTimeoutMs);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(timer);
      handshaking.delete(socket);
    });
    // The device's end of the stream during the handshake: close ours too (it would stay half-open).
    socket.on('end', () => {
      if (!client) socket.destroy();
    });

    const onFirstFrame = (frame: Uint8Array) => {
      clearTimeout(timer);
      const accepted = serverHandshake(
        options.crypto,
        options.relayKey,
        frame,
        options.random,
        RELAY_PROLOGUE,
      );
      if (accepted === null) return void refuse(socket, 'handshake');
      const hello = parseClientHello(accepted.payload);
      if (hello === null) return void refuse(socket, 'hello');
      const id = keyId(accepted.machineKey);
      // Before the replay guard, so that unknown keys cost no memory: only the handshake's work.
      if (options.allowed.allows(id)) return admit(accepted, hello, id);
      const { recheck } = options.allowed;
      if (recheck === undefined) return void refuse(socket, 'notAllowed');
      // A key not known yet may belong to a device that registered a moment ago: the gate reads
      // its source again. The socket waits, paused; what came behind the first frame is held.
      socket.pause();
      const held: Uint8Array[] = [];
      let taker: ((chunk: Uint8Array) => void) | undefined;
      const waiting = setTimeout(() => refuse(socket, 'timeout'), limits.handshakeTimeoutMs);
      recheck.call(options.allowed, id).then(
        (ok) => {
          clearTimeout(waiting);
          if (socket.destroyed) return;
          if (!ok) return void refuse(socket, 'notAllowed');
          taker = admit(accepted, hello, id);
          if (taker === undefined) return;
          for (const chunk of held) taker(chunk);
          socket.resume();
        },
        () => {
          clearTimeout(waiting);
          refuse(socket, 'notAllowed');
        },
      );
      return (chunk: Uint8Array) => {
        if (taker) taker(chunk);
        else held.push(chunk);
      };
    };

    const admit = (
      accepted: NonNullable<ReturnType<typeof serverHandshake>>,
      hello: NonNullable<ReturnType<typeof parseClientHello>>,
      id: string,
    ): ((chunk: Uint8Array) => void) | undefined => {
      const verdict = guard.check(keyId(accepted.ephemeralKey), hello.timestampMs, options.now());
      if (verdict !== 'ok') return void refuse(socket, verdict);
      const { message, session } = accepted.reply(encodeRelayHello(hello.version));
      socket.write(encodeFrame(message));
      handshaking.delete(socket);
      counters.accepted++;
      client = new ConnectedClient(
        accepted.machineKey,
        id,
        hello.version,
        socket,
        session,
        limits,
        counters,
        hooks,
      );
      const older = clients.get(id);
      clients.set(id, client);
      older?.close('replaced', 'closing: replaced by a newer connection for this node key');
      const taker = client;
      return (chunk: Uint8Array) => taker.receive(chunk);
    };

    const feed = handshakeFeed(MAX_HELLO_FRAME, onFirstFrame, () => refuse(socket, 'handshake'));
    if (head.length > 0) feed(new Uint8Array(head.buffer, head.byteOffset, head.length));
    socket.on('data', (chunk: Buffer) => {
      if (!socket.destroyed) feed(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    });
  };

  server.on('upgrade', (request: IncomingMessage, duplex: Duplex, head: Buffer) => {
    if (request.url !== RELAY_PATH) return;
    const socket = duplex as Socket;
    if (closed || request.headers.upgrade?.toLowerCase() !== RELAY_UPGRADE) {
      socket.end(`HTTP/1.1 ${closed ? 503 : 400} Relay Unavailable\r\nConnection: close\r\n\r\n`);
      return;
    }
    // Both checked before any Diffie-Hellman work, so a flood is cheap to refuse.
    const address = clientKey(options.clientAddress?.(request) ?? socket.remoteAddress);
    const open = perAddress.get(address) ?? 0;
    if (open >= limits.maxConnectionsPerAddress) {
      counters.refused.tooManyConnections++;
      socket.end('HTTP/1.1 429 Too Many Connections\r\nConnection: close\r\n\r\n');
      return;
    }
    if (!handshakeLimiter.allow(address, performance.now())) {
      counters.refused.rateLimited++;
      socket.end('HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\n\r\n');
      return;
    }
    perAddress.set(address, open + 1);
    socket.once('close', () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
    socket.setNoDelay(true);
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${RELAY_UPGRADE}\r\nConnection: Upgrade\r\n` +
        `${RELAY_VERSIONS_HEADER}: ${RELAY_VERSIONS}\r\n\r\n`,
    );
    accept(socket, head);
  });

  return {
    stats() {
      let queuedBytes = 0;
      for (const c of clients.values()) queuedBytes += c.queuedBytes;
      return { ...structuredClone(counters), clients: clients.size, queuedBytes };
    },
    close() {
      closed = true;
      stopFollowing();
      for (const c of [...clients.values()]) c.close('shutdown', 'closing: the relay is shutting down');
      for (const s of handshaking) s.destroy();
    },
  };
}

export interface StartRelayOptions {
  host: string;
  port: number;
  /** The relay's key file (base64 private key, mode 0600), created on first start. */
  keyPath: string;
  limits?: Partial<RelayLimits>;
  /** Who may use the relay, made with the relay's key (which the key feed authenticates with). */
  allowed: (relayKey: StaticKeyPair) => KeyGate & { close(): void };
}

export interface RunningRelay {
  url: string;
  /** The relay's public key, base64, for the relay map. */
  publicKey: string;
  stats(): RelayStats;
  close(): Promise<void>;
}

/** A relay on an HTTP server of its own: what `burrow-server relay` runs. */
export async function startRelay(options: StartRelayOptions): Promise<RunningRelay> {
  const crypto = selectCrypto();
  const relayKey = loadOrCreateServerKey(crypto, options.keyPath);
  const allowed = options.allowed(relayKey);
  // Behind a reverse proxy on this host, the limits count the clients it forwards for.
  const addresses = new ClientAddresses();
  const http = createServer((_req, res) => res.writeHead(404).end());
  const relay = attachRelay(http, {
    crypto,
    relayKey,
    random: randomBytes,
    now: Date.now,
    allowed,
    clientAddress: (request) => addresses.of(request),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  // attachRelay leaves other upgrades to other listeners; here there are none.
  http.on('upgrade', (request: IncomingMessage, socket: Duplex) => {
    if (request.url !== RELAY_PATH) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, resolve);
  });
  const { port } = http.address() as { port: number };
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    publicKey: keyId(relayKey.publicKey),
    stats: () => relay.stats(),
    close: async () => {
      relay.close();
      await allowed.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
