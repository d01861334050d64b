import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes, selectCrypto } from '../../src/crypto/index.js';
import { DISCO_MAGIC, DiscoBox } from '../../src/disco/box.js';
import { OPEN_TTL, TRUST_MS } from '../../src/paths/peer-path.js';
import { clampPrivateKey, encodeKey } from '../../src/wireguard/keys.js';
import { Rng } from '../../test/support/rng.js';
import type { Datagram, UdpBind } from '../bind/bind.js';
import { type FastPathLink, PathConn } from './path-conn.js';
import { virtualEndpoint } from './peer-table.js';

const crypto = selectCrypto();
const conns: PathConn[] = [];
afterEach(() => {
  for (const c of conns.splice(0)) c.close();
});

/** An in-memory UDP network: datagrams reach the bind at their destination on the next microtask. */
class FakeNetwork {
  readonly binds = new Map<string, FakeBind>();
  /** Drops every datagram while set, like a firewall. */
  blocked = false;
  bind(host: string, port: number): FakeBind {
    const b = new FakeBind(this, host, port);
    this.binds.set(`${host}:${port}`, b);
    return b;
  }
}

class FakeBind implements UdpBind {
  private handler: (d: Datagram[]) => void = () => {};
  /** Every datagram sent: where to, its first byte (4: WireGuard transport, else disco), its TTL. */
  readonly sent: { to: string; first: number; ttl: number | undefined }[] = [];
  constructor(
    private readonly net: FakeNetwork,
    readonly host: string,
    readonly port: number,
  ) {}
  onDatagrams(callback: (d: Datagram[]) => void): void {
    this.handler = callback;
  }
  send(datagrams: Datagram[]): void {
    for (const d of datagrams) {
      this.sent.push({ to: `${d.host}:${d.port}`, first: d.data[0]!, ttl: d.ttl });
      const to = this.net.binds.get(`${d.host}:${d.port}`);
      if (to === undefined || this.net.blocked) continue;
      const data = d.data.slice();
      queueMicrotask(() => to.receive([{ data, host: this.host, port: this.port }]));
    }
  }
  receive(d: Datagram[]): void {
    this.handler(d);
  }
  close(): void {}
}

function node(net: FakeNetwork, host: string, port: number, realTime = false, fastPath?: FastPathLink) {
  const nodeKey = clampPrivateKey(randomBytes(32));
  const disco = clampPrivateKey(randomBytes(32));
  const bind = net.bind(host, port);
  const delivered: Datagram[] = [];
  let now = 0;
  const conn = new PathConn({
    bind,
    tunName: 'burrow-test0',
    node: { privateKey: nodeKey, publicKey: crypto.x25519PublicKey(nodeKey) },
    discoPrivateKey: disco,
    crypto,
    random: randomBytes,
    clock: () => (realTime ? performance.now() : now),
    onSelfChange: () => {},
    log: () => {},
    ...(fastPath ? { fastPath } : {}),
  });
  conns.push(conn);
  conn.onDatagrams((d) => delivered.push(...d));
  return {
    conn,
    bind,
    delivered,
    nodeKey: encodeKey(crypto.x25519PublicKey(nodeKey)),
    discoKey: encodeKey(crypto.x25519PublicKey(disco)),
    discoPrivate: disco,
    endpoint: `${host}:${port}`,
    advance: (ms: number) => {
      now += ms;
    },
  };
}
type Node = ReturnType<typeof node>;

const asPeer = (n: Node) => ({
  nodeKey: n.nodeKey,
  discoKey: n.discoKey,
  endpoints: [n.endpoint],
  homeRelay: null,
});
const settle = () => new Promise((r) => setTimeout(r, 5));
/** A WireGuard transport message's shape (type 4): the conn treats it as opaque. */
const transport = (n: number) => new Uint8Array([4, 0, 0, 0, n, ...new Array(31).fill(0)]);

function pair(realTime = false, hosts = ['192.0.2.1', '192.0.2.2']) {
  const net = new FakeNetwork();
  const a = node(net, hosts[0]!, 41001, realTime);
  const b = node(net, hosts[1]!, 41002, realTime);
  a.conn.setPeers([asPeer(b)]);
  b.conn.setPeers([asPeer(a)]);
  return { net, a, b };
}

describe('PathConn', () => {
  it('sends to the guessed address while it probes, then goes direct on the pong', async () => {
    const { a, b } = pair();
    const toB = virtualEndpoint(b.nodeKey);
    a.conn.send([{ data: transport(1), host: toB.host, port: toB.port }]);
    await settle();
    // No relay here. On our link the packet went to b's reported address too (off it, see the next
    // test, only the opening ping), and b got a's disco ping.
    const near = a.conn.endpointFinder.onLink('192.0.2.2');
    expect(b.delivered.map((d) => d.data[4])).toEqual(near ? [1] : []);
    expect(a.conn.status(b.nodeKey)).toMatchObject({
      path: 'direct',
      endpoint: { host: '192.0.2.2', port: 41002 },
      // An address b told of: LAN if this machine has a subnet holding it, else its public one.
      found: near ? 'lan' : 'stun',
    });
    // b learned a's address from the ping: a's later packets come up as a's virtual endpoint.
    a.conn.send([{ data: transport(2), host: toB.host, port: toB.port }]);
    await settle();
    // ... and say where they really came from.
    expect(b.delivered.at(-1)).toMatchObject({
      host: virtualEndpoint(a.nodeKey).host,
      origin: { host: '192.0.2.1', port: 41001 },
    });
  });

  it('sends nothing straight to an address off our link that never answered: opening pings (low TTL) first', async () => {
    // TEST-NET-3 addresses: across the internet from here, behind NATs that may have no inbound filter.
    const { a, b } = pair(false, ['203.0.113.1', '203.0.113.2']);
    expect(a.conn.endpointFinder.onLink('203.0.113.2')).toBe(false);
    const toB = virtualEndpoint(b.nodeKey);
    a.conn.send([{ data: transport(1), host: toB.host, port: toB.port }]);
    expect(a.bind.sent).toEqual([{ to: '203.0.113.2:41002', first: DISCO_MAGIC[0], ttl: OPEN_TTL }]);
    await settle();
    // The opening ping reached b here (no router between): its pong makes the path direct.
    expect(a.conn.status(b.nodeKey)).toMatchObject({ path: 'direct' });
    a.conn.send([{ data: transport(2), host: toB.host, port: toB.port }]);
    expect(a.bind.sent.at(-1)).toEqual({ to: '203.0.113.2:41002', first: 4, ttl: undefined });
    await settle();
    expect(b.delivered.map((d) => d.data[4])).toEqual([2]);
  });

  it('sends a round that a packet starts ahead of the packet: its opening pings leave first', async () => {
    const { a, b } = pair(false, ['203.0.113.1', '203.0.113.2']);
    const toB = virtualEndpoint(b.nodeKey);
    a.conn.send([{ data: transport(1), host: toB.host, port: toB.port }]);
    await settle();
    expect(a.conn.status(b.nodeKey)).toMatchObject({ path: 'direct' });
    a.conn.send([{ data: transport(2), host: toB.host, port: toB.port }]);
    // b stops answering for longer than the trust lasts: the next packet starts a new round, and
    // goes to b's address (it answered before) after that round's opening ping, not before it.
    a.advance(TRUST_MS + 1);
    const before = a.bind.sent.length;
    a.conn.send([{ data: transport(3), host: toB.host, port: toB.port }]);
    expect(a.bind.sent.slice(before)).toEqual([
      { to: '203.0.113.2:41002', first: DISCO_MAGIC[0], ttl: OPEN_TTL },
      { to: '203.0.113.2:41002', first: 4, ttl: undefined },
    ]);
  });

  it('refuses and counts disco it cannot trust, and goes on working', async () => {
    const { a, b } = pair();
    const stranger = new DiscoBox(crypto, clampPrivateKey(randomBytes(32)), randomBytes);
    const asA = new DiscoBox(crypto, a.discoPrivate, randomBytes);
    const bDiscoKey = Buffer.from(b.discoKey, 'base64');
    const txid = new Uint8Array(12);
    const inject = (data: Uint8Array) => b.bind.receive([{ data, host: '192.0.2.1', port: 41001 }]);
    inject(stranger.seal(bDiscoKey, { type: 'ping', txid, nodeKey: new Uint8Array(32) }));
    inject(asA.seal(bDiscoKey, { type: 'ping', txid, nodeKey: new Uint8Array(32).fill(7) }));
    inject(asA.seal(bDiscoKey, { type: 'call-me-maybe', endpoints: [{ host: '203.0.113.1', port: 1 }] }));
    const tampered = asA.seal(bDiscoKey, { type: 'pong', txid, src: null });
    tampered[tampered.length - 1]! ^= 1;
    inject(tampered);
    expect(b.conn.refused).toEqual({
      'unknown-sender': 1,
      'node-key-mismatch': 1,
      'call-me-maybe-not-relayed': 1,
      'decrypt-failed': 1,
    });
    // Fuzz: random datagrams, some made to look like disco from a known sender, never break it.
    const rng = new Rng(7);
    for (let i = 0; i < 5000; i++) {
      const data = rng.bytes(1 + rng.int(700));
      if (i % 2 === 0 && data.length > 80) {
        data.set(DISCO_MAGIC, 0);
        data.set(Buffer.from(a.discoKey, 'base64'), DISCO_MAGIC.length);
      }
      if (data[0] === 1 || data[0] === 2 || data[0] === 3 || data[0] === 4) data[0] = 9;
      inject(data);
    }
    await settle();
    const toB = virtualEndpoint(b.nodeKey);
    a.conn.send([{ data: transport(3), host: toB.host, port: toB.port }]);
    await settle();
    expect(a.conn.status(b.nodeKey)?.path).toBe('direct');
    expect(b.delivered.some((d) => d.data[0] === 4 && d.data[4] === 3)).toBe(true);
  });

  it('falls back when heartbeats go unanswered, and returns when they are answered again', async () => {
    const { net, a, b } = pair(true);
    const toB = virtualEndpoint(b.nodeKey);
    const send = () => a.conn.send([{ data: transport(0), host: toB.host, port: toB.port }]);
    send();
    await settle();
    expect(a.conn.status(b.nodeKey)?.path).toBe('direct');
    net.blocked = true;
    const blockedAt = performance.now();
    // Traffic keeps flowing (so the peer counts as active); the conn's own timer sends heartbeats.
    while (a.conn.status(b.nodeKey)?.path === 'direct' && performance.now() - blockedAt < 10_000) {
      send();
      await new Promise((r) => setTimeout(r, 100));
    }
    const fellBack = performance.now() - blockedAt;
    expect(fellBack).toBeLessThan(7000);
    expect(fellBack).toBeGreaterThan(4000); // heartbeats had kept it trusted until they went unanswered
    expect(a.conn.status(b.nodeKey)?.path).toBe('none'); // untrusted, and no relay to fall back to here
    net.blocked = false;
    const unblockedAt = performance.now();
    while (a.conn.status(b.nodeKey)?.path !== 'direct' && performance.now() - unblockedAt < 10_000) {
      send();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(performance.now() - unblockedAt).toBeLessThan(3000);
  }, 30_000);

  it('tells a fast path the direct path and how long it is trusted, renewed by heartbeats', async () => {
    const net = new FakeNetwork();
    const told: { nodeKey: string; endpoint: string | null; until: number }[] = [];
    const a = node(net, '192.0.2.1', 41001, true, {
      direct: (nodeKey, endpoint, until) =>
        told.push({ nodeKey, endpoint: endpoint && `${endpoint.host}:${endpoint.port}`, until }),
      // The fast path carries the traffic: the conn sees none of it, only this.
      lastActive: () => performance.now(),
    });
    const b = node(net, '192.0.2.2', 41002, true);
    a.conn.setPeers([asPeer(b)]);
    b.conn.setPeers([asPeer(a)]);
    const toB = virtualEndpoint(b.nodeKey);
    a.conn.send([{ data: transport(1), host: toB.host, port: toB.port }]);
    await settle();
    const first = told.at(-1)!;
    expect(first).toMatchObject({ nodeKey: b.nodeKey, endpoint: '192.0.2.2:41002' });
    expect(first.until - performance.now()).toBeGreaterThan(TRUST_MS - 500);
    // The heartbeat's pong renews the trust, and the fast path hears of it.
    const t0 = performance.now();
    while (told.length < 2 && performance.now() - t0 < 4000) await new Promise((r) => setTimeout(r, 50));
    expect(told.at(-1)!.until).toBeGreaterThan(first.until);
    // Unanswered, the trust runs out on its own: nothing renews it past what was told.
    net.blocked = true;
    const blockedAt = performance.now();
    const count = told.length;
    await new Promise((r) => setTimeout(r, 2500));
    expect(told.length).toBe(count);
    expect(told.at(-1)!.until).toBeLessThan(blockedAt + TRUST_MS);
    // A peer back from offline is trusted no more: the fast path leaves it to the conn (the relay).
    a.conn.peerReturned(b.nodeKey);
    expect(told.at(-1)).toEqual({ nodeKey: b.nodeKey, endpoint: null, until: Number.NEGATIVE_INFINITY });
  }, 15_000);
});
