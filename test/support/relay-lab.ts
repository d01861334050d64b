import { createServer, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { RelayClient, type RelayClientOptions } from '../../helper/relay/relay-client.js';
import { type KeyGate, Listeners } from '../../server/relay/key-gate.js';
import type { RelayLimits } from '../../server/relay/relay-limits.js';
import { attachRelay, type Relay } from '../../server/relay/relay-server.js';
import { encodeFrame, FirstFrameReader, FrameReader } from '../../src/control/framing.js';
import { type ControlSession, clientHandshake } from '../../src/control/noise-session.js';
import { randomBytes, selectCrypto } from '../../src/crypto/index.js';
import {
  MAX_SEALED_RELAY_FRAME,
  parseRelayFrame,
  type RelayFrame,
  type RelayVersion,
} from '../../src/relay/frames.js';
import { encodeClientHello, RELAY_PATH, RELAY_PROLOGUE, RELAY_UPGRADE } from '../../src/relay/hello.js';
import type { StaticKeyPair } from '../../src/wireguard/noise.js';
import { keyPair, sleep, waitFor } from './polling.js';

/** burrow-server's relay as its own server, and burrowd's client of it, for each other's tests. */
export { RelayClient } from '../../helper/relay/relay-client.js';
export { startRelay } from '../../server/relay/relay-server.js';
export { keyPair, sleep, waitFor };

/**
 * Both sides of the relay, for tests: burrow-server's relay on 127.0.0.1, devices running burrowd's
 * RelayClient against it, and raw connections for sending what a well-behaved client never would. Everything started is
 * stopped after each test (register `afterEach(runCleanups)` in the test file).
 */

export const crypto = selectCrypto();
const cleanups: (() => Promise<void> | void)[] = [];

export async function runCleanups(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

export function afterTest(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

const b64 = (key: Uint8Array) => Buffer.from(key).toString('base64');

/** A gate the test holds: it allows exactly the keys the test registers, as the store would. */
export class TestGate implements KeyGate {
  private readonly keys = new Set<string>();
  private readonly revoked = new Listeners<readonly string[]>();

  allows(nodeKey: string): boolean {
    return this.keys.has(nodeKey);
  }

  onRevoked(listener: (nodeKeys: readonly string[]) => void): () => void {
    return this.revoked.add(listener);
  }

  allow(key: Uint8Array): void {
    this.keys.add(b64(key));
  }

  /** Takes the key out and tells the relay, as a deleted device or an expired key would. */
  revoke(key: Uint8Array): void {
    if (this.keys.delete(b64(key))) this.revoked.emit([b64(key)]);
  }

  close(): void {}
}

/** A gate that lets every key in: for tests of the relay client, which are not about access. */
export const anyKey = (): KeyGate & { close(): void } => ({
  allows: () => true,
  onRevoked: () => () => {},
  close() {},
});

export interface TestRelay {
  url: string;
  port: number;
  relayKey: StaticKeyPair;
  relay: Relay;
  /** Who may connect; connectedDevice, rawClient and firstMessage register their keys here. */
  gate: TestGate;
}

/** A relay attached to an HTTP server of the test's own, as burrow-server would host it. */
export async function startTestRelay(
  limits: Partial<RelayLimits> = {},
  clientAddress?: (request: IncomingMessage) => string,
): Promise<TestRelay> {
  const relayKey = keyPair();
  const gate = new TestGate();
  const http = createServer((_req, res) => res.writeHead(404).end());
  const relay = attachRelay(http, {
    crypto,
    relayKey,
    random: randomBytes,
    now: Date.now,
    limits,
    allowed: gate,
    ...(clientAddress ? { clientAddress } : {}),
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  afterTest(async () => {
    relay.close();
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
  });
  const { port } = http.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, port, relayKey, relay, gate };
}

/** A device connected through a RelayClient, with the packets it received. */
export interface TestDevice {
  node: StaticKeyPair;
  client: RelayClient;
  received: { src: Uint8Array; packet: Uint8Array }[];
  peerGone: Uint8Array[];
  health: string[];
}

export function device(
  relay: { url: string; relayPublicKey: Uint8Array },
  extra: Partial<RelayClientOptions> = {},
): TestDevice {
  const node = extra.node ?? keyPair();
  const client = new RelayClient({
    url: relay.url,
    relayPublicKey: relay.relayPublicKey,
    node,
    crypto,
    random: randomBytes,
    now: Date.now,
    minBackoffMs: 20,
    maxBackoffMs: 200,
    ...extra,
  });
  afterTest(() => client.close());
  const d: TestDevice = { node, client, received: [], peerGone: [], health: [] };
  client.onPacket((src, packets) => {
    for (const packet of packets) d.received.push({ src, packet });
  });
  client.onPeerGone((key) => d.peerGone.push(key));
  client.onHealth((message) => d.health.push(message));
  return d;
}

/** A registered device (its key allowed), connected to a relay from startTestRelay. */
export async function connectedDevice(relay: TestRelay, extra: Partial<RelayClientOptions> = {}) {
  const node = extra.node ?? keyPair();
  relay.gate.allow(node.publicKey);
  const d = device({ url: relay.url, relayPublicKey: relay.relayKey.publicKey }, { ...extra, node });
  await d.client.ready();
  return d;
}

/** A TCP connection upgraded to the relay protocol, with no handshake yet; `headers` are added. */
export async function rawUpgrade(port: number, headers = ''): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  afterTest(() => {
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    `GET ${RELAY_PATH} HTTP/1.1\r\nHost: relay\r\nConnection: Upgrade\r\nUpgrade: ${RELAY_UPGRADE}\r\n${headers}\r\n`,
  );
  return socket;
}

/** Resolves when the relay has closed `socket` (reading on, since an unread stream never ends). */
export function closedBy(socket: Socket): Promise<void> {
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  socket.resume();
  return closed;
}

/** A first handshake message from `node` (registered unless told) to the relay, stamped `ts`. */
export function firstMessage(
  relay: TestRelay,
  node = keyPair(),
  ts = Date.now(),
  registered = true,
  version: RelayVersion = 1,
) {
  if (registered) relay.gate.allow(node.publicKey);
  return clientHandshake(
    crypto,
    node,
    relay.relayKey.publicKey,
    encodeClientHello(ts, version),
    randomBytes,
    RELAY_PROLOGUE,
  );
}

/** Sends `frame` as a first message; resolves with whether the relay answered rather than hung up. */
export async function handshakeAnswered(relay: TestRelay, frame: Uint8Array): Promise<boolean> {
  const socket = await rawUpgrade(relay.port);
  socket.write(encodeFrame(frame));
  let got = '';
  socket.on('data', (d: Buffer) => {
    got += d.toString('latin1');
  });
  await Promise.race([new Promise((r) => socket.once('close', r)), sleep(300)]);
  socket.destroy();
  // The 101 headers are followed by the reply frame only if the handshake was accepted.
  return got.length > got.indexOf('\r\n\r\n') + 4 && got.includes('101 Switching Protocols');
}

/** An authenticated connection driven by hand: sends any bytes, collects the relay's frames. */
export interface RawClient {
  node: StaticKeyPair;
  socket: Socket;
  session: ControlSession;
  frames: RelayFrame[];
  closed: Promise<void>;
  /** Seals and sends a plaintext frame, valid or not. */
  sendPlain(plain: Uint8Array): void;
}

/** A registered device's connection, driven by hand, speaking `version` (the relay answers in kind). */
export async function rawClient(
  relay: TestRelay,
  node = keyPair(),
  version: RelayVersion = 1,
): Promise<RawClient> {
  const socket = await rawUpgrade(relay.port);
  const handshake = firstMessage(relay, node, Date.now(), true, version);
  socket.write(encodeFrame(handshake.message));
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  const frames: RelayFrame[] = [];
  let headers = '';
  const first = new FirstFrameReader(1024);
  const reader = new FrameReader(MAX_SEALED_RELAY_FRAME);
  return new Promise((resolve, reject) => {
    let client: RawClient | undefined;
    const onBytes = (bytes: Uint8Array) => {
      if (client) {
        for (const sealed of reader.push(bytes)) {
          const plain = client.session.open(sealed);
          if (plain) frames.push(parseRelayFrame(plain, version));
        }
        return;
      }
      const got = first.push(bytes);
      if (got === null) return;
      const done = handshake.finish(got.frame);
      if (done === null) return reject(new Error('relay handshake failed'));
      const session = done.session;
      client = {
        node,
        socket,
        session,
        frames,
        closed,
        sendPlain: (plain) => socket.write(encodeFrame(session.seal(plain))),
      };
      resolve(client);
      onBytes(got.rest);
    };
    socket.on('data', (d: Buffer) => {
      let bytes = new Uint8Array(d.buffer, d.byteOffset, d.length);
      if (!headers.endsWith('\r\n\r\n')) {
        const text = Buffer.from(bytes).toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) {
          headers += text;
          return;
        }
        headers += text.slice(0, end + 4);
        bytes = bytes.subarray(end + 4);
      }
      onBytes(bytes);
    });
    closed.then(() => reject(new Error('relay closed the connection during the handshake')));
  });
}
