import { createServer, type Server } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, MAX_CLIENT_FRAME } from '../../src/control/framing.js';
import type { ClientMessage } from '../../src/control/messages.js';
import { clientHandshake } from '../../src/control/noise-session.js';
import { randomBytes, selectCrypto } from '../../src/crypto/index.js';
import { clampPrivateKey } from '../../src/wireguard/keys.js';
import { connectControl } from '../../test/support/control-lab.js';
import {
  attachControl,
  type ControlConnection,
  type HandshakeLimits,
  type HandshakeRefusal,
} from './listener.js';

const crypto = selectCrypto();
const pair = () => {
  const privateKey = clampPrivateKey(randomBytes(32));
  return { privateKey, publicKey: crypto.x25519PublicKey(privateKey) };
};

const servers: Server[] = [];
const sockets = new Set<{ destroy(): void }>();
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(now = () => Date.now(), limits: Partial<HandshakeLimits> = {}) {
  const serverKey = pair();
  const connections: ControlConnection[] = [];
  const closes: string[] = [];
  const refused: HandshakeRefusal[] = [];
  const server = createServer((_req, res) => res.writeHead(404).end());
  servers.push(server);
  // Upgraded sockets leave the HTTP server's books; the test closes them itself.
  server.on('connection', (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  const listener = {
    crypto,
    serverKey,
    random: randomBytes,
    now,
    limits,
    refused: (r: HandshakeRefusal) => refused.push(r),
  };
  attachControl(server, listener, (conn) => {
    connections.push(conn);
    conn.channel.onClose((reason) => closes.push(reason));
    conn.channel.onMessage((m) => {
      if (m.type === 'ping') conn.channel.send({ type: 'pong', id: m.id });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, port, serverKey, connections, closes, refused };
}

/**
 * Opens a raw connection, asks for the upgrade and sends `frame` (if any); resolves with what the
 * server wrote before closing, or after `ms`.
 */
function attempt(port: number, frame: Uint8Array | null, ms = 300) {
  return new Promise<string>((resolve) => {
    const sock = tcpConnect(port, '127.0.0.1', () => {
      sock.write(
        'GET /control/v1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: burrow-control/1\r\n\r\n',
      );
      if (frame) sock.write(encodeFrame(frame));
    });
    sockets.add(sock);
    let got = '';
    sock.on('data', (d) => {
      got += d.toString('latin1');
    });
    sock.on('error', () => undefined);
    // The server either drops the connection or, for a good first message, answers and keeps it.
    const done = () => {
      sock.destroy();
      resolve(got);
    };
    sock.on('close', done);
    setTimeout(done, ms);
  });
}

const firstMessage = (serverPublicKey: Uint8Array, ts = Date.now()) =>
  clientHandshake(
    crypto,
    pair(),
    serverPublicKey,
    new TextEncoder().encode(JSON.stringify({ v: 1, ts })),
    randomBytes,
  ).message;

const options = (serverPublicKey: Uint8Array, machine = pair()) => ({
  crypto,
  machine,
  serverPublicKey,
  random: randomBytes,
  now: () => Date.now(),
});

describe('control channel over HTTP upgrade', () => {
  it('proves the machine key to the server and carries typed messages both ways', async () => {
    const s = await serve();
    const machine = pair();
    const channel = await connectControl(s.url, options(s.serverKey.publicKey, machine));
    const pong = new Promise((r) => channel.onMessage(r));
    channel.send({ type: 'ping', id: 7 });
    expect(await pong).toEqual({ type: 'pong', id: 7 });
    expect(Buffer.from(s.connections[0]!.machineKey)).toEqual(Buffer.from(machine.publicKey));
    channel.close();
  });

  it('refuses a server that cannot prove the pinned key', async () => {
    const s = await serve();
    await expect(connectControl(s.url, options(pair().publicKey))).rejects.toThrow();
    expect(s.connections).toHaveLength(0);
  });

  it('refuses a replayed first message, and one outside the time window', async () => {
    const s = await serve();
    const first = firstMessage(s.serverKey.publicKey);
    const old = firstMessage(s.serverKey.publicKey, Date.now() - 10 * 60_000);
    expect(await attempt(s.port, first)).toContain('101 Switching Protocols');
    expect(s.connections).toHaveLength(1);
    await attempt(s.port, first);
    await attempt(s.port, old);
    expect(s.connections).toHaveLength(1);
    expect(s.refused).toEqual(['replayed', 'stale']);
  });

  it("refuses an address's handshakes past its rate with a 429, before any key work", async () => {
    const s = await serve(Date.now, { perAddressPerSecond: 1, perAddressBurst: 3 });
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => attempt(s.port, firstMessage(s.serverKey.publicKey))),
    );
    expect(answers.filter((a) => a.includes('101 Switching Protocols'))).toHaveLength(3);
    expect(answers.filter((a) => a.startsWith('HTTP/1.1 429'))).toHaveLength(3);
    expect(s.connections).toHaveLength(3);
    expect(s.refused).toEqual(['rate-limited', 'rate-limited', 'rate-limited']);
  });

  it('remembers only so many first messages: past that, new ones are refused, never old ones forgotten', async () => {
    const s = await serve(Date.now, { maxRemembered: 2 });
    const first = firstMessage(s.serverKey.publicKey);
    await attempt(s.port, first);
    await attempt(s.port, firstMessage(s.serverKey.publicKey));
    await attempt(s.port, firstMessage(s.serverKey.publicKey));
    await attempt(s.port, first); // still known as seen: a replay, not a fresh start
    expect(s.connections).toHaveLength(2);
    expect(s.refused).toEqual(['busy', 'replayed']);
  });

  it('caps the connections still in their handshake, and closes those that never finish it', async () => {
    const s = await serve(Date.now, { maxHandshaking: 2, timeoutMs: 400 });
    const silent = [attempt(s.port, null, 2000), attempt(s.port, null, 2000)];
    await new Promise((r) => setTimeout(r, 100));
    expect(await attempt(s.port, firstMessage(s.serverKey.publicKey))).toMatch(/^HTTP\/1.1 429/);
    const started = Date.now();
    await Promise.all(silent); // closed by the server at its timeout, not by the attempt's own 2 s
    expect(Date.now() - started).toBeLessThan(1500);
    expect(await attempt(s.port, firstMessage(s.serverKey.publicKey))).toContain('101 Switching Protocols');
    expect(s.refused).toEqual(['busy', 'timeout', 'timeout']);
  });

  it('closes the channel on a message that fails its schema, and tells both sides why', async () => {
    const s = await serve();
    const channel = await connectControl(s.url, options(s.serverKey.publicKey));
    const closed = new Promise<string>((r) => channel.onClose(r));
    channel.send({ type: 'register', nodeKey: 'not a key' } as unknown as ClientMessage);
    await closed;
    await new Promise((r) => setTimeout(r, 50));
    expect(s.closes[0]).toMatch(/^invalid message: \$\.nodeKey: expected a base64 32-byte key/);
  });

  it('drops a device that sends a frame larger than any device message, before reading it', async () => {
    const s = await serve();
    const channel = await connectControl(s.url, options(s.serverKey.publicKey));
    const closed = new Promise<string>((r) => channel.onClose(r));
    const big = 'x'.repeat(MAX_CLIENT_FRAME);
    channel.send({ type: 'register', nodeKey: big } as unknown as ClientMessage);
    await closed;
    await new Promise((r) => setTimeout(r, 50));
    expect(s.closes[0]).toMatch(/^bad frame: frame of \d+ bytes exceeds 1048576/);
  });
});
