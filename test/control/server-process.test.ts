/**
 * burrow-server as a real process (bin/burrow-server, or the packaged one: support/programs.ts) with devices streaming their maps through
 * ControlClient over real sockets, and changes made by other processes: the admin CLI, and another
 * writer of the same SQLite file. Covers a kill -9 while streaming, and sharing between networks.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ControlClient } from '../../helper/control/client.js';
import { MapEngine } from '../../server/coordinator/map-engine.js';
import { openSqliteStore, type SqliteStore } from '../../server/store/sqlite-store.js';
import type { Netmap, NodeInfo } from '../../src/control/messages.js';
import { canonicalNetmap } from '../../src/control/netmap-state.js';
import { randomBytes, selectCrypto } from '../../src/crypto/index.js';
import { clampPrivateKey, encodeKey } from '../../src/wireguard/keys.js';
import { freePort } from '../support/ports.js';
import { BURROW_SERVER } from '../support/programs.js';

const crypto = selectCrypto();
const SERVER = BURROW_SERVER;
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// The first run of bin/burrow-server may compile the server; do it once, outside the timed tests.
beforeAll(async () => {
  await run(SERVER, ['--help']).catch(() => undefined);
}, 180_000);

/** Polls `probe` until it returns something truthy; a probe that reads the store is awaited. */
async function waitFor<T>(
  what: string,
  probe: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A database in a temp directory, the server process serving it, and the admin CLI on it. */
async function deployment(config?: (dir: string, port: number) => string) {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-server-process-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'burrow.db');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  let log = '';
  const configFile = config ? join(dir, 'server.hujson') : null;
  if (configFile && config) writeFileSync(configFile, config(dir, port));
  // No STUN (its default port, 3478, would be shared with every other test running here): the
  // configs below say "stunPort": 0.
  const args = configFile
    ? ['--config', configFile]
    : ['--db', db, '--listen', `127.0.0.1:${port}`, '--stun-port', '0'];
  const start = async () => {
    const proc = spawn(SERVER, ['serve', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr?.on('data', (d) => (log += d));
    child = proc;
    await waitFor('the server to answer', () => proc.exitCode === null && true);
    for (let i = 0; ; i++) {
      const up = await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) return;
      if (proc.exitCode !== null || i > 300) throw new Error('burrow-server did not start');
      await sleep(50);
    }
  };
  const kill = async () => {
    const proc = child;
    if (proc === null || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  };
  cleanups.push(kill);
  const cli = async (...argv: string[]) => (await run(SERVER, [...argv, '--db', db])).stdout.trim();
  const store = openSqliteStore({ path: db });
  cleanups.push(() => store.close());
  const hangUp = () => child?.kill('SIGHUP');
  return { url, db, dir, start, kill, hangUp, cli, store, log: () => log };
}

/** A device: a ControlClient with fresh keys, started. */
function device(url: string, hostname: string, authKey?: string) {
  const privateKey = clampPrivateKey(randomBytes(32));
  const client = new ControlClient({
    serverUrls: [url],
    machine: { privateKey, publicKey: crypto.x25519PublicKey(privateKey) },
    nodeKey: encodeKey(randomBytes(32)),
    discoKey: encodeKey(randomBytes(32)),
    hostname,
    ...(authKey ? { authKey } : {}),
    endpoints: () => [],
    crypto,
    random: randomBytes,
    now: Date.now,
    minBackoffMs: 50,
    maxBackoffMs: 400,
  });
  cleanups.push(() => client.stop());
  client.start();
  return client;
}

const peerNames = (map: Netmap | null) => (map?.peers ?? []).map((p) => p.name).sort();
const admits = (map: Netmap | null, ip: string) =>
  (map?.filter ?? []).some((r) => r.srcIps.includes(`${ip}/32`));

/**
 * A map without presence fields (they change on their own), in canonical order, and without the
 * relay map (a server's configuration, not the store's, so an engine built here has none).
 */
function comparable(map: Netmap) {
  const still = ({ online: _o, lastSeen: _l, ...rest }: NodeInfo) => rest;
  const c = canonicalNetmap(map);
  return { ...c, self: still(c.self), peers: c.peers.map(still), relays: [] };
}

async function user(store: SqliteStore, name: string, networkId?: string) {
  const u = await store.createUser({ name, ...(networkId ? { networkId } : {}) }, Date.now());
  const key = async () => (await store.createAuthKey({ userId: u.id }, Date.now())).secret;
  return { ...u, key };
}

describe('burrow-server process', () => {
  it('killed while devices stream: they keep their maps, reconnect after restart, and lose no change', async () => {
    const d = await deployment();
    await d.start();
    const family = await d.store.createNetwork({ name: 'family' }, Date.now());
    const ana = await user(d.store, 'ana', family.id);
    const ben = await user(d.store, 'ben', family.id);
    const laptop = device(d.url, 'laptop', await ana.key());
    const desktop = device(d.url, 'desktop', await ben.key());
    await waitFor(
      'both maps',
      () => peerNames(laptop.netmap).includes('desktop') && peerNames(desktop.netmap).includes('laptop'),
    );

    // A change just before the kill, and the kill itself while both are streaming.
    const router = device(d.url, 'router', await ben.key());
    await waitFor('the router in the laptop map', () => peerNames(laptop.netmap).includes('router'));
    await d.kill();
    await waitFor('the laptop to notice', () => laptop.state.state === 'offline');
    expect(peerNames(laptop.netmap)).toEqual(['desktop', 'router']); // the data plane keeps its map

    // While the server is down: the admin CLI approves the router's routes, another user joins.
    const routerDevice = (await d.store.listDevices(family.id)).find((x) => x.name === 'router')!;
    await d.store.setAdvertisedRoutes(
      routerDevice.id,
      { routes: ['10.7.0.0/24'], exitNode: false },
      Date.now(),
    );
    await d.cli('routes', 'approve', 'router', '10.7.0.0/24');
    expect(await d.cli('users', 'create', 'cal', '--network', 'family')).toBe('cal');
    const calKey = await d.cli('authkeys', 'create', '--user', 'cal');
    await router.stop();

    await d.start();
    const phone = device(d.url, 'phone', calKey);
    await waitFor('the laptop to see the approved route and the new phone', () => {
      const r = laptop.netmap?.peers.find((p) => p.name === 'router');
      return r?.routes.includes('10.7.0.0/24') && peerNames(laptop.netmap).includes('phone');
    });
    expect(laptop.state.state).toBe('connected');
    // Each map kept through the outage is the map the server would give it now from scratch.
    for (const client of [laptop, desktop]) {
      await waitFor('the phone in every map', () => peerNames(client.netmap).includes('phone'));
      const now = (await MapEngine.open(d.store, Date.now)).netmap(client.netmap!.self.id);
      expect(comparable(client.netmap!)).toEqual(comparable(now));
    }
    expect(peerNames(phone.netmap)).toContain('laptop');
  }, 60_000);

  it('two networks see nothing of each other until a device is shared, and the share can be declined, revoked and expire', async () => {
    const d = await deployment();
    await d.start();
    const alice = await user(d.store, 'alice');
    const bob = await user(d.store, 'bob');
    const bobNet = (await d.store.getUser(bob.id)).networkId;
    const carl = await user(d.store, 'carl', bobNet); // bob's teammate
    const nas = device(d.url, 'nas', await alice.key());
    const pc = device(d.url, 'pc', await bob.key());
    const tablet = device(d.url, 'tablet', await carl.key());
    await waitFor('maps', () => nas.netmap && peerNames(pc.netmap).includes('tablet'));
    expect(peerNames(nas.netmap)).toEqual([]);
    expect(peerNames(pc.netmap)).toEqual(['tablet']);
    const nasId = nas.netmap!.self.id;
    const nasIp = nas.netmap!.self.ips[0]!;
    const pcIp = pc.netmap!.self.ips[0]!;

    // Declined: nothing changes.
    const declined = await d.store.createInvite(
      { deviceId: nasId, byUserId: alice.id, recipientUserId: bob.id },
      Date.now(),
    );
    await d.store.declineInvite(declined.invite.id, bob.id, Date.now());
    // Expired: it can no longer be accepted.
    const expired = await d.store.createInvite(
      { deviceId: nasId, byUserId: alice.id, expiresAt: Date.now() + 50 },
      Date.now(),
    );
    await sleep(100);
    await expect(d.store.acceptInvite({ code: expired.code }, bob.id, Date.now())).rejects.toThrow(/expired/);
    await sleep(300);
    expect(peerNames(pc.netmap)).toEqual(['tablet']);

    // Accepted: bob's devices (only his) see the nas, quarantined; the nas sees and admits them.
    const invite = await d.store.createInvite({ deviceId: nasId, byUserId: alice.id }, Date.now());
    const share = await d.store.acceptInvite({ code: invite.code }, bob.id, Date.now());
    await waitFor(
      'the share in both maps',
      () => peerNames(pc.netmap).includes('nas') && peerNames(nas.netmap).includes('pc'),
    );
    expect(pc.netmap!.peers.find((p) => p.name === 'nas')!.shared).toBe(true);
    expect(admits(pc.netmap, nasIp)).toBe(false); // it may never start a connection to bob
    expect(admits(nas.netmap, pcIp)).toBe(true);
    expect(peerNames(nas.netmap)).toEqual(['pc']);
    expect(peerNames(tablet.netmap)).toEqual(['pc']); // carl is in bob's network, not in the share

    // Revoked by its owner: gone from every map at once.
    await d.store.revokeShare(share.id, alice.id, Date.now());
    await waitFor(
      'the share to leave both maps',
      () => !peerNames(pc.netmap).includes('nas') && peerNames(nas.netmap).length === 0,
    );
    expect(admits(nas.netmap, pcIp)).toBe(false);
  }, 60_000);

  it('serves from a config file: its relays are in every map, its policy file applies at start and on SIGHUP', async () => {
    const policy = (dst: string) =>
      `{"acls": [{"action": "accept", "src": ["autogroup:member"], "dst": ["${dst}"]}], "tests": [{"src": "ana", "accept": ["${dst}"]}]}`;
    const d = await deployment((dir, port) => {
      writeFileSync(join(dir, 'family.hujson'), policy('ana:22'));
      return `{
        "db": "burrow.db", // beside this file
        "listen": "127.0.0.1:${port}",
        "stunPort": 0,
        "relays": [{"id": 7, "name": "home", "url": "https://relay.example.com", "stun": "203.0.113.9:3478"}],
        "policyFiles": [{"network": "family", "file": "family.hujson"}],
      }`;
    });
    const family = await d.store.createNetwork({ name: 'family' }, Date.now());
    const ana = await user(d.store, 'ana', family.id);
    await d.start();
    expect((await d.store.getPolicy(family.id))?.text).toBe(policy('ana:22'));
    const laptop = device(d.url, 'laptop', await ana.key());
    await waitFor('a map', () => laptop.netmap);
    expect(laptop.netmap!.relays).toEqual([
      { id: 7, name: 'home', url: 'https://relay.example.com', stun: '203.0.113.9:3478' },
      { id: 900, name: 'burrow-server', url: d.url, publicKey: expect.any(String) }, // its own, after
    ]);
    const ports = () => laptop.netmap!.filter.flatMap((r) => r.dstPorts.map((p) => p.ports.first));

    // A policy whose tests fail is refused on SIGHUP, and the old one stays.
    writeFileSync(
      join(d.dir, 'family.hujson'),
      policy('ana:22').replace('"accept": ["ana:22"]', '"deny": ["ana:22"]'),
    );
    d.hangUp();
    await sleep(500);
    expect((await d.store.getPolicy(family.id))?.text).toBe(policy('ana:22'));
    // A good one reaches the devices.
    writeFileSync(join(d.dir, 'family.hujson'), policy('ana:443'));
    d.hangUp();
    await waitFor('the new policy in the filter', () => ports().includes(443));
    expect(ports()).not.toContain(22);
  }, 60_000);

  it('a SIGHUP reload whose second policy file fails applies none of them', async () => {
    const policy = (user: string, dst: string) =>
      `{"acls": [{"action": "accept", "src": ["autogroup:member"], "dst": ["${dst}"]}], "tests": [{"src": "${user}", "accept": ["${dst}"]}]}`;
    const d = await deployment((dir, port) => {
      writeFileSync(join(dir, 'family.hujson'), policy('ana', 'ana:22'));
      writeFileSync(join(dir, 'work.hujson'), policy('wes', 'wes:22'));
      return `{
        "db": "burrow.db",
        "listen": "127.0.0.1:${port}",
        "stunPort": 0,
        "policyFiles": [
          {"network": "family", "file": "family.hujson"},
          {"network": "work", "file": "work.hujson"},
        ],
      }`;
    });
    const family = await d.store.createNetwork({ name: 'family' }, Date.now());
    const work = await d.store.createNetwork({ name: 'work' }, Date.now());
    await user(d.store, 'ana', family.id);
    await user(d.store, 'wes', work.id);
    await d.start();
    const before = (await d.store.getPolicy(family.id))!;
    expect(before.text).toBe(policy('ana', 'ana:22'));
    expect((await d.store.getPolicy(work.id))!.text).toBe(policy('wes', 'wes:22'));

    // The first file is good; the second's tests fail.
    writeFileSync(join(d.dir, 'family.hujson'), policy('ana', 'ana:443'));
    writeFileSync(
      join(d.dir, 'work.hujson'),
      policy('wes', 'wes:443').replace('"accept": ["wes:443"]', '"deny": ["wes:443"]'),
    );
    d.hangUp();
    await waitFor('the reload to be refused', () => d.log().includes('the old policies stay'));
    expect(d.log()).toContain('work.hujson: policy tests failed');
    expect(await d.store.getPolicy(family.id)).toEqual(before);
    expect((await d.store.getPolicy(work.id))!.text).toBe(policy('wes', 'wes:22'));

    // Both good: both apply.
    writeFileSync(join(d.dir, 'work.hujson'), policy('wes', 'wes:443'));
    d.hangUp();
    await waitFor('both policies to change', async () =>
      (await d.store.getPolicy(work.id))!.text.includes('443'),
    );
    expect((await d.store.getPolicy(family.id))!.text).toBe(policy('ana', 'ana:443'));
  }, 60_000);
});
