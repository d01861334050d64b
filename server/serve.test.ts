import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerMessage } from '../src/control/messages.js';
import { randomBytes, selectCrypto } from '../src/crypto/index.js';
import { buildBindingRequest, readBindingResponse } from '../src/stun/binding.js';
import { clampPrivateKey } from '../src/wireguard/keys.js';
import { type ClientChannel, connectControl } from '../test/support/control-lab.js';
import { RelayClient } from '../test/support/relay-lab.js';
import { main } from './main.js';
import { type RunningServer, type ServeOptions, startServer } from './serve.js';
import { openSqliteStore } from './store/sqlite-store.js';

const crypto = selectCrypto();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const key = () => Buffer.from(randomBytes(32)).toString('base64');
const cli = async (db: string, ...argv: string[]) => {
  let out = '';
  const code = await main([...argv, '--db', db], { out: (t) => (out += t), err: () => undefined });
  expect(code).toBe(0);
  return out.trim();
};

/** A device's side of the conversation: its channel and every message it has received. */
class Device {
  readonly inbox: ServerMessage[] = [];
  private waiters: (() => void)[] = [];

  constructor(readonly channel: ClientChannel) {
    channel.onMessage((m) => {
      this.inbox.push(m);
      for (const w of this.waiters.splice(0)) w();
    });
    cleanups.push(() => channel.close());
  }

  static async connect(server: RunningServer): Promise<Device> {
    const privateKey = clampPrivateKey(randomBytes(32));
    const machine = { privateKey, publicKey: crypto.x25519PublicKey(privateKey) };
    const res = await fetch(`${server.url}/control/key`);
    const { publicKey } = (await res.json()) as { publicKey: string };
    const channel = await connectControl(server.url, {
      crypto,
      machine,
      serverPublicKey: new Uint8Array(Buffer.from(publicKey, 'base64')),
      random: randomBytes,
      now: Date.now,
    });
    return new Device(channel);
  }

  /** Waits for the first message (from `from` on) that satisfies `match`. */
  async next<T extends ServerMessage>(
    match: (m: ServerMessage) => m is T,
    from = 0,
    timeoutMs = 5000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.inbox.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching message; got ${JSON.stringify(this.inbox)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  register(authKey?: string, hostname = 'host') {
    this.channel.send({
      type: 'register',
      nodeKey: key(),
      discoKey: key(),
      hostname,
      ...(authKey ? { authKey } : {}),
    });
    return this.next(
      (m): m is Extract<ServerMessage, { type: 'register-result' }> => m.type === 'register-result',
    );
  }
}

async function server(extra: Partial<ServeOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-serve-'));
  const db = join(dir, 'burrow.db');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const running = await startServer({ db, host: '127.0.0.1', port: 0, pollMs: 25, ...extra });
  cleanups.push(() => running.close());
  return { db, running };
}

const isDelta = (m: ServerMessage): m is Extract<ServerMessage, { type: 'delta' }> => m.type === 'delta';
const isFull = (m: ServerMessage): m is Extract<ServerMessage, { type: 'full-map' }> => m.type === 'full-map';

describe('burrow-server serve', () => {
  it('registers devices with auth keys, streams full maps and deltas, and picks up admin CLI changes', async () => {
    const { db, running } = await server();
    await cli(db, 'users', 'create', 'alice', '--network', 'home');
    const authKey = await cli(db, 'authkeys', 'create', '--user', 'alice', '--reusable');

    const a = await Device.connect(running);
    expect(await a.register(authKey, 'laptop')).toMatchObject({
      status: 'ok',
      self: { name: 'laptop', user: 'alice' },
    });
    a.channel.send({ type: 'map', endpoints: ['192.0.2.1:41641'], homeRelay: 3 });
    expect((await a.next(isFull)).map.peers).toEqual([]);

    const b = await Device.connect(running);
    expect(await b.register(authKey, 'gateway')).toMatchObject({ status: 'ok' });
    b.channel.send({ type: 'map', endpoints: [] });
    const bFull = await b.next(isFull);
    expect(bFull.map.peers.map((p) => p.name)).toEqual(['laptop']);
    expect(bFull.map.peers[0]).toMatchObject({ endpoints: ['192.0.2.1:41641'], homeRelay: 3 });
    expect(bFull.map.self.homeRelay).toBeNull(); // the gateway reported none
    const added = await a.next(
      (m): m is Extract<ServerMessage, { type: 'delta' }> => isDelta(m) && !!m.peersAdded,
    );
    expect(added.peersAdded!.map((p) => p.name)).toEqual(['gateway']);

    // The gateway offers a route; an admin approves it from the CLI while the server runs.
    b.channel.send({ type: 'routes', advertiseRoutes: ['10.1.0.0/16'], advertiseExitNode: false });
    await new Promise((r) => setTimeout(r, 100));
    const mark = a.inbox.length;
    await cli(db, 'routes', 'approve', 'gateway', '10.1.0.0/16');
    const routed = await a.next(
      (m): m is Extract<ServerMessage, { type: 'delta' }> =>
        isDelta(m) && !!m.peersChanged?.some((p) => p.routes.includes('10.1.0.0/16')),
      mark,
    );
    expect(routed.seq).toBeGreaterThan(bFull.seq);

    // Going offline reaches the peer too.
    b.channel.close();
    await a.next(
      (m): m is Extract<ServerMessage, { type: 'delta' }> =>
        isDelta(m) && !!m.peersChanged?.some((p) => p.name === 'gateway' && !p.online),
    );

    const health = (await (await fetch(`${running.url}/health`)).json()) as { ok: boolean };
    expect(health.ok).toBe(true);
    expect(await (await fetch(`${running.url}/metrics`)).text()).toMatch(/^burrow_control_streams 1$/m);
  });

  it('hosts a relay beside the control protocol: the map offers it, and devices exchange packets through it', async () => {
    const { db, running } = await server({ stunPort: 0 });
    await cli(db, 'users', 'create', 'alice');
    const a = await Device.connect(running);
    await a.register(await cli(db, 'authkeys', 'create', '--user', 'alice'), 'laptop');
    a.channel.send({ type: 'map', endpoints: [] });
    const region = (await a.next(isFull)).map.relays.find((r) => r.name === 'burrow-server')!;
    expect(region).toMatchObject({ url: running.url, publicKey: expect.any(String) });
    // Its STUN port answers: the device learns its own address as the server sees it.
    const [stunHost, stunPort] = region.stun!.split(':') as [string, string];
    const udp = createSocket('udp4');
    cleanups.push(() => {
      udp.close();
    });
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const answer = new Promise<Buffer>((r) => udp.once('message', r));
    udp.send(buildBindingRequest(randomBytes(12)), Number(stunPort), stunHost);
    const mapped = readBindingResponse(new Uint8Array(await answer));
    expect(mapped).toMatchObject({
      kind: 'success',
      mapped: { host: '127.0.0.1', port: udp.address().port },
    });
    const node = () => {
      const privateKey = clampPrivateKey(randomBytes(32));
      return { privateKey, publicKey: crypto.x25519PublicKey(privateKey) };
    };
    const [n1, n2] = [node(), node()];
    // The relay serves registered devices only: these two node keys become alice's devices.
    const store = openSqliteStore({ path: db });
    cleanups.push(() => store.close());
    const alice = (await store.findUserByName('alice'))!;
    for (const n of [n1, n2]) {
      const nodeKey = Buffer.from(n.publicKey).toString('base64');
      const identity = { machineKey: key(), nodeKey, discoKey: key(), hostname: 'relayed' };
      await store.registerDevice({ ...identity, userId: alice.id }, Date.now());
    }
    const relayPublicKey = new Uint8Array(Buffer.from(region.publicKey!, 'base64'));
    const [c1, c2] = [n1, n2].map(
      (n) =>
        new RelayClient({
          url: region.url,
          relayPublicKey,
          node: n,
          crypto,
          random: randomBytes,
          now: Date.now,
        }),
    ) as [RelayClient, RelayClient];
    cleanups.push(
      () => c1.close(),
      () => c2.close(),
    );
    await Promise.all([c1.ready(), c2.ready()]);
    const got = new Promise<[Uint8Array, Uint8Array]>((r) =>
      c2.onPacket((src, packets) => r([src, packets[0]!])),
    );
    expect(c1.send(n2.publicKey, new Uint8Array([1, 2, 3]))).toBe(true);
    const [src, packet] = await got;
    expect(Buffer.from(src)).toEqual(Buffer.from(n1.publicKey));
    expect([...packet]).toEqual([1, 2, 3]);
    // Any other upgrade is refused; the control protocol still works beside the relay.
    const status = await new Promise<number>((resolve) => {
      const req = request(`${running.url}/nope`, { headers: { Connection: 'Upgrade', Upgrade: 'x' } });
      req.on('upgrade', () => resolve(101));
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('error', () => resolve(-1));
      req.end();
    });
    expect(status).toBe(404);
  });

  it('approves advertised routes and exit nodes that the policy autoApprovers allow, and only those', async () => {
    const { db, running } = await server();
    await cli(db, 'users', 'create', 'alice', '--network', 'home');
    const authKey = await cli(db, 'authkeys', 'create', '--user', 'alice');
    const store = openSqliteStore({ path: db });
    const home = (await store.findNetworkByName('home'))!;
    await store.setPolicy(
      home.id,
      '{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}], "autoApprovers": {"routes": {"10.0.0.0/8": ["alice"]}, "exitNode": ["alice"]}}',
      Date.now(),
    );
    await store.close();
    const gw = await Device.connect(running);
    await gw.register(authKey, 'gw');
    gw.channel.send({
      type: 'routes',
      advertiseRoutes: ['10.1.0.0/16', '192.168.1.0/24'],
      advertiseExitNode: true,
    });
    gw.channel.send({ type: 'ping', id: 1 });
    await gw.next((m): m is Extract<ServerMessage, { type: 'pong' }> => m.type === 'pong');
    const [device] = JSON.parse(await cli(db, 'devices', 'list', '--json')) as {
      approvedRoutes: string[];
      exitNodeApproved: boolean;
    }[];
    expect(device!.approvedRoutes).toEqual(['10.1.0.0/16']);
    expect(device!.exitNodeApproved).toBe(true);
  });

  it('registers a device by interactive login in a browser form', async () => {
    const { db, running } = await server();
    const store = openSqliteStore({ path: db });
    await store.createUser({ name: 'bob', password: 'correct horse' }, Date.now());
    await store.close();
    const d = await Device.connect(running);
    const result = await d.register(undefined, 'phone');
    expect(result.status).toBe('login-required');
    const url = (result as { url: string }).url;
    expect(url).toMatch(new RegExp(`^${running.url}/login/`));
    expect(await (await fetch(url)).text()).toContain('Add phone to your network');
    const post = (password: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ name: 'bob', password }).toString(),
      });
    expect((await post('wrong')).status).toBe(401);
    expect((await post('correct horse')).status).toBe(200);
    const ok = await d.next(
      (m): m is Extract<ServerMessage, { type: 'register-result' }> =>
        m.type === 'register-result' && m.status === 'ok',
    );
    expect(ok).toMatchObject({ self: { name: 'phone', user: 'bob' } });
    // The same connection now speaks for the new device: it can stream its map at once.
    d.channel.send({ type: 'map', endpoints: [] });
    const map = await d.next((m): m is Extract<ServerMessage, { type: 'full-map' }> => m.type === 'full-map');
    expect(map.map.self.name).toBe('phone');
    expect((await post('correct horse')).status).toBe(410); // the link is spent
  });

  it('refuses a bad auth key and a map request before registering, with the reason', async () => {
    const { running } = await server();
    const d = await Device.connect(running);
    d.channel.send({
      type: 'register',
      nodeKey: key(),
      discoKey: key(),
      hostname: 'x',
      authKey: 'bkey-nope-nope',
    });
    const err = await d.next((m): m is Extract<ServerMessage, { type: 'error' }> => m.type === 'error');
    expect(err.reason).toMatch(/auth key/i);
    const e = await Device.connect(running);
    e.channel.send({ type: 'map', endpoints: [] });
    expect(
      (await e.next((m): m is Extract<ServerMessage, { type: 'error' }> => m.type === 'error')).reason,
    ).toMatch(/register before/);
  });

  it('answers a share request before registering with an error reply, and keeps the channel open', async () => {
    const { running } = await server();
    const d = await Device.connect(running);
    d.channel.send({ type: 'share-list', id: 4 });
    const reply = await d.next((m): m is Extract<ServerMessage, { type: 'reply' }> => m.type === 'reply');
    expect(reply).toEqual({ type: 'reply', id: 4, outcome: 'error', error: 'register first' });
    d.channel.send({ type: 'ping', id: 5 });
    const pong = await d.next((m): m is Extract<ServerMessage, { type: 'pong' }> => m.type === 'pong');
    expect(pong).toEqual({ type: 'pong', id: 5 });
  });

  it("offers its STUN at publicUrl's host: a name as it is, for devices to resolve", async () => {
    const ownRegion = async (publicUrl: string) => {
      const logs: string[] = [];
      const { db, running } = await server({ stunPort: 0, publicUrl, log: (m) => logs.push(m) });
      await cli(db, 'users', 'create', 'alice');
      const d = await Device.connect(running);
      await d.register(await cli(db, 'authkeys', 'create', '--user', 'alice'), 'laptop');
      d.channel.send({ type: 'map', endpoints: [] });
      const region = (await d.next(isFull)).map.relays.find((r) => r.name === 'burrow-server')!;
      return { region, port: running.stunPort!, logs };
    };
    const named = await ownRegion('https://burrow.example.com');
    expect(named.region).toMatchObject({
      url: 'https://burrow.example.com',
      stun: `burrow.example.com:${named.port}`,
    });
    const v6 = await ownRegion('http://[2001:db8::7]:8080');
    expect(v6.region.stun).toBe(`[2001:db8::7]:${v6.port}`);
    // A host the map's form cannot carry would make every device refuse its map: left out, said once.
    const odd = await ownRegion('https://under_score.example');
    expect(odd.region.stun).toBeUndefined();
    expect(odd.logs.filter((l) => l.startsWith('STUN not offered to devices'))).toHaveLength(1);
  });
});

describe('burrow-server serve as a program', () => {
  it('serves health until SIGTERM, then exits 0; state survives a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-serve-bin-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const db = join(dir, 'burrow.db');
    const free = await new Promise<number>((resolve) => {
      const s = createNetServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const bin = join(import.meta.dirname, '../bin/burrow-server');
    const start = () => {
      const args = ['serve', '--db', db, '--listen', `127.0.0.1:${free}`, '--stun-port', '0'];
      const child = spawn(bin, args, { stdio: 'pipe' });
      cleanups.push(() => {
        child.kill('SIGKILL');
      });
      return child;
    };
    const health = async () => {
      for (let i = 0; i < 300; i++) {
        try {
          return (await (await fetch(`http://127.0.0.1:${free}/health`)).json()) as {
            ok: boolean;
            seq: number;
          };
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      throw new Error('burrow-server did not come up');
    };
    const controlKey = async () =>
      ((await (await fetch(`http://127.0.0.1:${free}/control/key`)).json()) as { publicKey: string })
        .publicKey;
    const first = start();
    expect((await health()).ok).toBe(true);
    await cli(db, 'users', 'create', 'erin');
    const key = await controlKey();
    first.kill('SIGTERM');
    expect(await new Promise((r) => first.once('exit', r))).toBe(0);
    const second = start();
    expect((await health()).ok).toBe(true);
    expect(await controlKey()).toBe(key); // devices' pinned key still holds
    expect(await cli(db, 'authkeys', 'create', '--user', 'erin')).toMatch(/^bkey-/);
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
  }, 120_000);
});
