import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Netmap, NodeInfo } from '../../src/control/messages.js';
import { canonicalNetmap } from '../../src/control/netmap-state.js';
import {
  afterTest,
  device,
  identity,
  MAX_BACKOFF,
  MIN_BACKOFF,
  newKey,
  runCleanups,
  scriptedServer,
  serverFiles,
  sleep,
  type TestDevice,
  track,
  waitFor,
} from '../../test/support/control-lab.js';

afterEach(runCleanups);

/** The map a device gets on a fresh start (no `since`), for comparing a map kept by deltas against. */
async function freshMap(d: TestDevice): Promise<Netmap> {
  const { authKey: _spent, ...options } = d.options;
  const fresh = track(options, d.endpoints);
  fresh.client.start();
  const map = await waitFor('a fresh full map', () => fresh.client.netmap);
  await fresh.client.stop();
  return map;
}

/** A map with the fields that change on their own (presence) left out, in canonical order. */
function comparable(map: Netmap) {
  const still = ({ online: _online, lastSeen: _lastSeen, ...rest }: NodeInfo) => rest;
  const c = canonicalNetmap(map);
  return { ...c, self: still(c.self), peers: c.peers.map(still) };
}

describe('ControlClient against burrow-server', () => {
  it('registers with an auth key, then follows a peer joining and moving through deltas', async () => {
    const { store, authKey, serve } = await serverFiles();
    const server = await serve();
    const key = await authKey(true);
    const a = device(server.url, { hostname: 'laptop', authKey: key });
    a.endpoints.push('192.0.2.1:41641');
    a.client.start();
    const first = await waitFor('the laptop map', () => a.client.netmap);
    expect(first.self).toMatchObject({ name: 'laptop', user: 'alice', endpoints: ['192.0.2.1:41641'] });
    expect(first.peers).toEqual([]);
    expect(a.client.state).toEqual({ state: 'connected' });
    expect(a.client.serverPublicKey).toBe(server.publicKey); // fetched from /control/key and pinned

    const b = device(server.url, { hostname: 'gateway', authKey: key });
    b.endpoints.push('198.51.100.7:41641');
    b.client.start();
    await waitFor('the gateway map', () => b.client.netmap);
    const gateway = await waitFor('the gateway in the laptop map', () =>
      a.client.netmap?.peers.find((p) => p.name === 'gateway' && p.endpoints.length > 0),
    );
    expect(gateway).toMatchObject({ nodeKey: b.options.nodeKey, endpoints: ['198.51.100.7:41641'] });

    b.endpoints.splice(0, b.endpoints.length, '203.0.113.9:1234');
    b.client.updateEndpoints();
    await waitFor('the gateway endpoint change in the laptop map', () =>
      a.client.netmap?.peers.find((p) => p.name === 'gateway' && p.endpoints[0] === '203.0.113.9:1234'),
    );
    // All of it over one connection: the changes came as deltas, with rising seqs.
    expect(a.states.filter((s) => s.state === 'connecting')).toHaveLength(1);
    expect(a.seqs.length).toBeGreaterThanOrEqual(3);
    expect([...a.seqs].sort((x, y) => x - y)).toEqual(a.seqs);
    expect(await a.client.ping()).toBeGreaterThanOrEqual(0);

    // stop() ends the stream: the server sees the laptop go; the map built from deltas is what a
    // fresh start would be given.
    const laptopId = first.self.id;
    await a.client.stop();
    expect(a.client.state).toEqual({ state: 'stopped' });
    await waitFor('the laptop offline', async () => !(await store.getDevice(laptopId)).online);
    const kept = a.client.netmap!;
    expect(comparable(await freshMap(a))).toEqual(comparable(kept));
  });

  it('reports its home relay; peers follow it changing, even when the endpoints stay the same', async () => {
    const { store, authKey, serve } = await serverFiles();
    const server = await serve();
    const key = await authKey(true);
    let relay: number | null = 901;
    const a = device(server.url, { hostname: 'laptop', authKey: key });
    const b = device(server.url, { hostname: 'gateway', authKey: key, homeRelay: () => relay });
    b.endpoints.push('198.51.100.7:41641');
    a.client.start();
    b.client.start();
    const gateway = () => a.client.netmap?.peers.find((p) => p.name === 'gateway');
    await waitFor('the gateway home relay in the laptop map', () => gateway()?.homeRelay === 901);
    expect(b.client.netmap?.self.homeRelay).toBe(901);
    expect(a.client.netmap?.self.homeRelay).toBeNull(); // the laptop reports none

    relay = 2;
    b.client.updateEndpoints();
    await waitFor('the new home relay', () => gateway()?.homeRelay === 2);
    relay = null;
    b.client.updateEndpoints();
    await waitFor('no home relay', () => gateway()?.homeRelay === null);
    expect(await store.getDevice(gateway()!.id)).toMatchObject({
      homeRelay: null,
      endpoints: ['198.51.100.7:41641'],
    });
    expect(a.states.filter((s) => s.state === 'connecting')).toHaveLength(1); // all as deltas
  });

  it('keeps its map while the server is down and catches up after a restart, without the spent auth key', async () => {
    const { store, authKey, serve } = await serverFiles();
    let server = await serve();
    const port = Number(new URL(server.url).port);
    const [keyA, keyB, keyC] = [await authKey(), await authKey(), await authKey()];
    const a = device(server.url, { hostname: 'laptop', authKey: keyA });
    const b = device(server.url, { hostname: 'gateway', authKey: keyB });
    a.client.start();
    b.client.start();
    for (const d of [a, b]) await waitFor('each sees the other', () => d.client.netmap?.peers.length === 1);

    const before = [a.client.netmap, b.client.netmap];
    await server.close();
    for (const d of [a, b]) {
      const offline = await waitFor('offline', () => d.states.find((s) => s.state === 'offline'));
      expect(offline).toMatchObject({ reason: expect.any(String), retryInMs: expect.any(Number) });
    }
    expect([a.client.netmap, b.client.netmap]).toEqual(before);

    // While the server is down, an admin adds a printer.
    await store.registerDeviceWithAuthKey(keyC!, identity('printer'), Date.now());
    server = await serve(port);
    for (const d of [a, b]) {
      await waitFor('the printer', () => d.client.netmap?.peers.some((p) => p.name === 'printer'));
      expect(d.client.state).toEqual({ state: 'connected' });
      expect(d.states.some((s) => s.state === 'refused')).toBe(false);
    }
    // The single-use keys are spent: re-sending one would have been refused.
    await expect(store.consumeAuthKey(keyA!, Date.now())).rejects.toThrow(/used/);
    await expect(store.consumeAuthKey(keyB!, Date.now())).rejects.toThrow(/used/);

    await a.client.stop();
    expect(comparable(await freshMap(a))).toEqual(comparable(a.client.netmap!));
  });

  it('refuses for good when the server rejects its auth key', async () => {
    const { serve } = await serverFiles();
    const server = await serve();
    const d = device(server.url, { hostname: 'laptop', authKey: 'bkey-not-a-real-key' });
    d.client.start();
    const refused = await waitFor('refused', () =>
      d.client.state.state === 'refused' ? d.client.state : null,
    );
    expect(refused.reason).toMatch(/auth key/i);
    await sleep(3 * MAX_BACKOFF);
    expect(d.states.filter((s) => s.state === 'connecting')).toHaveLength(1);
    expect(d.client.netmap).toBeNull();
  });

  it('reports the login URL and streams the map once someone signs in', async () => {
    const { serve } = await serverFiles();
    const server = await serve();
    const d = device(server.url, { hostname: 'phone' });
    d.client.start();
    const login = await waitFor('login-required', () =>
      d.client.state.state === 'login-required' ? d.client.state : null,
    );
    expect(login.url).toMatch(new RegExp(`^${server.url}/login/`));
    const res = await fetch(login.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ name: 'alice', password: 'correct horse' }).toString(),
    });
    expect(res.status).toBe(200);
    const map = await waitFor('the phone map', () => d.client.netmap);
    expect(map.self).toMatchObject({ name: 'phone', user: 'alice' });
  });
});

function node(id: string, name: string, ip: string, endpoints: string[] = []): NodeInfo {
  return {
    id,
    name,
    user: 'alice',
    network: 'alice',
    ips: [ip],
    nodeKey: newKey(),
    discoKey: newKey(),
    endpoints,
    online: true,
    lastSeen: null,
    keyExpiry: null,
    shared: false,
    exitNodeOption: false,
    routes: [],
  };
}

describe('ControlClient resync', () => {
  it('reconnects for a full map when a delta does not fit, and resumes with `since` otherwise', async () => {
    const server = await scriptedServer();
    const d = device(server.url, {
      hostname: 'laptop',
      authKey: 'bkey-test',
      serverPublicKey: server.publicKey,
    });
    const self = node('dev_self', 'laptop', '100.64.0.1');
    const nas = node('dev_nas', 'nas', '100.64.0.2', ['192.0.2.2:41641']);
    const moved = { ...nas, endpoints: ['192.0.2.99:41641'] };
    const printer = node('dev_printer', 'printer', '100.64.0.3');
    const mapOf = (...peers: NodeInfo[]): Netmap => ({ self, peers, filter: [], relays: [] });
    const names = () => d.client.netmap?.peers.map((p) => p.name).sort();
    d.client.start();

    const c0 = await server.next(0, 'register');
    expect(c0.message.authKey).toBe('bkey-test');
    c0.send({ type: 'register-result', status: 'ok', self });
    expect((await server.next(0, 'map')).message.since).toBeUndefined();
    c0.send({ type: 'full-map', seq: 10, map: mapOf(nas) });
    c0.send({ type: 'delta', seq: 11, peersChanged: [moved] });
    await waitFor('the moved nas', () => d.client.netmap?.peers[0]?.endpoints[0] === '192.0.2.99:41641');
    c0.send({ type: 'delta', seq: 12, peersRemoved: ['dev_ghost'] });

    // Resync: a new connection, registered by machine key alone, asking for a full map; the last
    // good map serves meanwhile.
    const c1 = await server.next(1, 'register');
    expect(c1.message.authKey).toBeUndefined();
    expect(d.client.netmap).toEqual(mapOf(moved));
    expect(d.logs.join('\n')).toMatch(/resync: removed peer dev_ghost is not in the map/);
    c1.send({ type: 'register-result', status: 'ok', self });
    expect((await server.next(1, 'map')).message.since).toBeUndefined();
    c1.send({ type: 'full-map', seq: 13, map: mapOf(moved, printer) });
    await waitFor('the printer', () => names()?.includes('printer'));

    // A dropped connection resumes from the last seq, and deltas after it apply to the kept map.
    c1.c.channel.close();
    const c2 = await server.next(2, 'register');
    c2.send({ type: 'register-result', status: 'ok', self });
    expect((await server.next(2, 'map')).message.since).toBe(13);
    c2.send({ type: 'delta', seq: 14, peersRemoved: ['dev_printer'] });
    await waitFor('the printer gone', () => names()?.join() === 'nas');

    // A delta from before the map means the two sides disagree about history: resync again.
    c2.send({ type: 'delta', seq: 9, peersAdded: [node('dev_old', 'old', '100.64.0.9')] });
    const c3 = await server.next(3, 'register');
    c3.send({ type: 'register-result', status: 'ok', self });
    expect((await server.next(3, 'map')).message.since).toBeUndefined();
    expect(names()).toEqual(['nas']);
    expect(d.seqs).toEqual([10, 11, 13, 14]);
  });
});

describe('ControlClient liveness', () => {
  it('pings a stream gone quiet, keeps it while pongs come, and reconnects when one does not', async () => {
    const server = await scriptedServer();
    const d = device(server.url, {
      hostname: 'laptop',
      authKey: 'bkey-test',
      serverPublicKey: server.publicKey,
      keepaliveMs: 150,
    });
    const self = node('dev_self', 'laptop', '100.64.0.1');
    d.client.start();
    const c0 = await server.next(0, 'register');
    c0.send({ type: 'register-result', status: 'ok', self });
    await server.next(0, 'map');
    c0.send({ type: 'full-map', seq: 7, map: { self, peers: [], filter: [], relays: [] } });
    const pings = () => c0.c.inbox.filter((m) => m.type === 'ping');
    for (let i = 0; i < 3; i++) {
      const ping = await waitFor(`ping ${i}`, () => pings()[i]);
      c0.send({ type: 'pong', id: ping.id });
    }
    expect(d.states.filter((s) => s.state === 'connecting')).toHaveLength(1);

    // Silence (an instance whose machine died closes nothing): the client gives up on the stream
    // and reconnects, asking for what it missed.
    const silentFrom = Date.now();
    const c1 = await server.next(1, 'register');
    expect(Date.now() - silentFrom).toBeGreaterThanOrEqual(150);
    expect(d.logs.join('\n')).toMatch(/the server answered nothing for 300 ms/);
    c1.send({ type: 'register-result', status: 'ok', self });
    expect((await server.next(1, 'map')).message.since).toBe(7);
  });
});

describe('ControlClient status updates', () => {
  it('sends endpoints and home relay when either changed since it last told this connection', async () => {
    const server = await scriptedServer();
    let relay: number | null = null;
    const d = device(server.url, {
      hostname: 'laptop',
      serverPublicKey: server.publicKey,
      homeRelay: () => relay,
    });
    d.endpoints.push('192.0.2.1:41641');
    const self = node('dev_self', 'laptop', '100.64.0.1');
    d.client.start();
    const c0 = await server.next(0, 'register');
    c0.send({ type: 'register-result', status: 'ok', self });
    expect((await server.next(0, 'map')).message).toEqual({ type: 'map', endpoints: ['192.0.2.1:41641'] });
    const sent = (c: { inbox: { type: string }[] }) => c.inbox.filter((m) => m.type === 'endpoints');

    d.client.updateEndpoints(); // nothing changed
    relay = 901;
    d.client.updateEndpoints(); // only the home relay changed
    d.client.updateEndpoints();
    d.endpoints.splice(0, 1, '192.0.2.2:41641');
    d.client.updateEndpoints(); // only the endpoints changed
    relay = null;
    d.client.updateEndpoints(); // the home relay went away
    relay = 0; // not a region id: reported as none, which the server was told already
    d.client.updateEndpoints();
    await waitFor('three updates', () => sent(c0.c).length >= 3);
    await sleep(100); // and no more
    expect(sent(c0.c)).toEqual([
      { type: 'endpoints', endpoints: ['192.0.2.1:41641'], homeRelay: 901 },
      { type: 'endpoints', endpoints: ['192.0.2.2:41641'], homeRelay: 901 },
      { type: 'endpoints', endpoints: ['192.0.2.2:41641'] },
    ]);
    expect(d.logs.join('\n')).toMatch(/not reporting home relay 0/);

    // A new connection's map request carries both.
    relay = 7;
    c0.c.channel.close();
    const c1 = await server.next(1, 'register');
    c1.send({ type: 'register-result', status: 'ok', self });
    expect((await server.next(1, 'map')).message).toEqual({
      type: 'map',
      endpoints: ['192.0.2.2:41641'],
      homeRelay: 7,
    });
    d.client.updateEndpoints();
    await sleep(100);
    expect(sent(c1.c)).toEqual([]);
  });
});

describe('ControlClient stop', () => {
  const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

  /** A TCP server that takes connections and either drops them at once or never answers. */
  async function tcpServer(behaviour: 'drop' | 'hold') {
    const held = new Set<Socket>();
    let accepted = 0;
    const server: NetServer = createNetServer((s) => {
      accepted++;
      if (behaviour === 'drop') s.destroy();
      else held.add(s);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    afterTest(async () => {
      for (const s of held) s.destroy();
      await new Promise((r) => server.close(r));
    });
    const { port } = server.address() as { port: number };
    return { url: `http://127.0.0.1:${port}`, accepted: () => accepted };
  }

  it('retries with growing, jittered waits until stopped, and not after', async () => {
    const server = await tcpServer('drop');
    const baseline = timeouts();
    const d = device(server.url, { hostname: 'laptop', serverPublicKey: newKey() });
    d.client.start();
    await waitFor('five attempts', () => server.accepted() >= 5);
    const waits = d.states.flatMap((s) => (s.state === 'offline' ? [s.retryInMs] : []));
    for (const w of waits) {
      expect(w).toBeGreaterThanOrEqual(MIN_BACKOFF);
      expect(w).toBeLessThanOrEqual(MAX_BACKOFF);
    }
    expect(waits[0]).toBeLessThanOrEqual(2 * MIN_BACKOFF);
    expect(waits[3]).toBeGreaterThanOrEqual(MAX_BACKOFF / 2); // the ceiling doubled up to the max

    await d.client.stop();
    expect(d.client.state).toEqual({ state: 'stopped' });
    expect(timeouts()).toBeLessThanOrEqual(baseline); // the retry timer is gone
    const [attempts, reported] = [server.accepted(), d.states.length];
    await sleep(3 * MAX_BACKOFF);
    expect(server.accepted()).toBe(attempts);
    expect(d.states.length).toBe(reported);
  });

  it('stopped during a connection attempt, discards it and tries no more', async () => {
    const server = await tcpServer('hold');
    const d = device(server.url, { hostname: 'laptop', serverPublicKey: newKey(), connectTimeoutMs: 300 });
    d.client.start();
    await waitFor('an attempt under way', () => server.accepted() === 1);
    await d.client.stop();
    await sleep(3 * MAX_BACKOFF);
    expect(server.accepted()).toBe(1);
    expect(d.states.map((s) => s.state)).toEqual(['connecting', 'stopped']);
  });
});
