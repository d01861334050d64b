import { createServer, type Server } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectControl } from '../../helper/control/connect.js';
import { encodeFrame, MAX_CLIENT_FRAME } from '../../src/control/framing.js';
import type { ClientMessage } from '../../src/control/messages.js';
import { clientHandshake } from '../../src/control/noise-session.js';
import { randomBytes, selectCrypto } from '../../src/crypto/index.js';
import { clampPrivateKey } from '../../src/wireguard/keys.js';
import { attachControl, type ControlConnection } from './listener.js';

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

async function serve(now = () => Date.now()) {
  const serverKey = pair();
  const connections: ControlConnection[] = [];
  const closes: string[] = [];
  const server = createServer((_req, res) => res.writeHead(404).end());
  servers.push(server);
  // Upgraded sockets leave the HTTP server's books; the test closes them itself.
  server.on('connection', (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  attachControl(server, { crypto, serverKey, random: randomBytes, now }, (conn) => {
    connections.push(conn);
    conn.channel.onClose((reason) => closes.push(reason));
    conn.channel.onMessage((m) => {
      if (m.type === 'ping') conn.channel.send({ type: 'pong', id: m.id });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, port, serverKey, connections, closes };
}

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
    const hello = new TextEncoder().encode(JSON.stringify({ v: 1, ts: Date.now() }));
    const first = clientHandshake(crypto, pair(), s.serverKey.publicKey, hello, randomBytes).message;
    const stale = new TextEncoder().encode(JSON.stringify({ v: 1, ts: Date.now() - 10 * 60_000 }));
    const old = clientHandshake(crypto, pair(), s.serverKey.publicKey, stale, randomBytes).message;
    const attempt = (frame: Uint8Array) =>
      new Promise<string>((resolve) => {
        const sock = tcpConnect(s.port, '127.0.0.1', () => {
          sock.write(
            'GET /control/v1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: burrow-control/1\r\n\r\n',
          );
          sock.write(encodeFrame(frame));
        });
        sockets.add(sock);
        let got = '';
        sock.on('data', (d) => {
          got += d.toString('latin1');
        });
        // The server either drops the connection or, for a good first message, answers and keeps it.
        const done = () => {
          sock.destroy();
          resolve(got);
        };
        sock.on('close', done);
        setTimeout(done, 300);
      });
    const [a] = await Promise.all([attempt(first)]);
    expect(a).toContain('101 Switching Protocols');
    expect(s.connections).toHaveLength(1);
    await attempt(first);
    await attempt(old);
    expect(s.connections).toHaveLength(1);
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
