/**
 * Relay regions across burrow-server instances, end to end: two real instances (west, east) on one
 * throwaway PostgreSQL database, each in its own namespace and each its own relay region; two real
 * burrowd behind routers that drop all UDP (so every packet between them is relayed), A streaming
 * its map from west and homed on west's relay, B from east and homed on east's. They ping each
 * other, each sending through the other's home region. Then west is killed (-9): A re-homes to
 * east, and the two reach each other again, although nobody could tell B that A moved (A's control
 * server was west).
 *
 * Which region is home is the one with the lowest latency. This machine has no netem to make one
 * region far, so each device's router refuses TCP to the other instance while the device first
 * measures them (a region that does not answer is as good as a far one), and lets it through once
 * the homes are chosen.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgCluster, startPgCluster } from '../../server/store/test-support/pg-cluster.js';
import { randomBytes, selectCrypto } from '../../src/crypto/index.js';
import { clampPrivateKey, encodeKey } from '../../src/wireguard/keys.js';
import { MeshLab, type NatDevice, type StatusJson } from '../support/mesh-lab.js';
import { hasNft } from '../support/nat-router.js';
import { cleanupAll, isRoot, type Netns, waitFor } from '../support/netns.js';
import { BURROW_SERVER } from '../support/programs.js';

const exec = promisify(execFile);
const PORT = 8080;
const T = 120_000;
/** A table of this test's own in a router, beside nat-router.ts's. */
const FAR = 'burrow_regions_far';

type PeerJson = StatusJson['peers'][number] & { relay: string | null };

describe.skipIf(!isRoot() || !hasNft())('relay regions across burrow-server instances, end to end', () => {
  let pg: PgCluster;
  let db: string;
  let lab: MeshLab;
  const servers: { name: string; proc: ChildProcess; log: () => string }[] = [];
  let westUrl: string;
  let eastUrl: string;
  let A: NatDevice;
  let B: NatDevice;

  const admin = async (...args: string[]) => (await exec(BURROW_SERVER, [...args, '--db', db])).stdout.trim();
  const homeOf = (name: string) => pg.psql(`SELECT home_relay FROM devices WHERE name = '${name}'`, 'burrow');
  const ipv4 = async (d: NatDevice) => (await d.status()).self!.ips.find((ip) => !ip.includes(':'))!;
  const ping = (from: NatDevice, to: string) =>
    from.ns.exec('ping', ['-c', '1', '-W', '1', to]).then(
      () => true,
      () => false,
    );
  const peerOf = async (from: NatDevice, name: string) =>
    (await from.status()).peers.find((p) => p.hostName === name) as PeerJson;
  /** Makes `router` refuse TCP to `ip`'s port 8080 (a reset, at once), or lets it through again. */
  const refuseTcp = async (router: Netns, ip: string, refuse: boolean) => {
    if (!refuse) return void (await router.exec('nft', ['delete', 'table', 'ip', FAR]));
    await router.exec('nft', ['add', 'table', 'ip', FAR]);
    await router.exec('nft', [
      'add chain ip',
      FAR,
      'forward { type filter hook forward priority -10; policy accept; }',
    ]);
    await router.exec('nft', [
      'add rule ip',
      FAR,
      `forward ip daddr ${ip} tcp dport ${PORT} reject with tcp reset`,
    ]);
  };

  async function serve(ns: Netns, name: string, url: string, config: object): Promise<void> {
    const path = join(lab.dir, `${name}.hujson`);
    writeFileSync(path, JSON.stringify(config));
    const proc = ns.spawn(BURROW_SERVER, [
      'serve',
      '--config',
      path,
      '--listen',
      `0.0.0.0:${PORT}`,
      '--public-url',
      url,
      '--stun-port',
      '0',
    ]);
    let log = '';
    proc.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    servers.push({ name, proc, log: () => log });
    await waitFor(
      `${name} to answer`,
      async () => {
        if (proc.exitCode !== null) throw new Error(`${name} exited: ${log}`);
        return (await ns.exec('curl', ['-sf', `${url}/health`])).stdout.includes('"ok":true');
      },
      60_000,
      100,
    );
  }

  beforeAll(async () => {
    pg = await startPgCluster();
    await pg.psql('CREATE DATABASE burrow');
    db = `postgres://${pg.user}@/burrow?host=${encodeURIComponent(pg.dir)}`;
    lab = await MeshLab.create();
    const east = await lab.lanHost('east');
    westUrl = `http://${lab.serverIp}:${PORT}`;
    eastUrl = `http://${east.lanIp}:${PORT}`;
    // One key file for both (devices pin the control key), and so one relay key beside it, made
    // here so that each instance's config can list the other's region with it.
    const keyFile = join(lab.dir, 'server.key');
    const relayPrivate = clampPrivateKey(randomBytes(32));
    writeFileSync(`${keyFile}.relay`, `${encodeKey(relayPrivate)}\n`, { mode: 0o600 });
    const relayKey = encodeKey(selectCrypto().x25519PublicKey(relayPrivate));
    const relays = [
      { id: 1, name: 'west', url: westUrl, publicKey: relayKey },
      { id: 2, name: 'east', url: eastUrl, publicKey: relayKey },
    ];
    const common = { database: db, keyFile, relays };
    await serve(lab.serverNs, 'west', westUrl, { ...common, region: { id: 1, name: 'west' } });
    await serve(east.ns, 'east', eastUrl, { ...common, region: { id: 2, name: 'east' } });
    for (const s of servers) expect(s.log()).toContain(`relay key ${relayKey}`);

    await admin('users', 'create', 'alice', '--network', 'team');
    A = await lab.natDevice('a', 'udp-blocked');
    B = await lab.natDevice('b', 'udp-blocked');
    await refuseTcp(A.router, east.lanIp, true);
    await refuseTcp(B.router, lab.serverIp, true);
    for (const [d, url] of [
      [A, westUrl],
      [B, eastUrl],
    ] as const) {
      const key = await admin('authkeys', 'create', '--user', 'alice');
      const up = await d.burrow('up', '--login-server', url, '--auth-key', key, '--hostname', d.name);
      if (up.code !== 0) throw new Error(`${d.name}: burrow up failed: ${up.stderr}`);
    }
    await waitFor(
      'A homed on west and B on east',
      async () => (await homeOf('a')) === '1' && (await homeOf('b')) === '2',
      30_000,
    );
    await refuseTcp(A.router, east.lanIp, false);
    await refuseTcp(B.router, lab.serverIp, false);
  }, 180_000);

  afterAll(async () => {
    for (const { proc } of servers) {
      if (proc.exitCode !== null || proc.signalCode !== null) continue;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    await lab?.destroy();
    await cleanupAll();
    await pg?.stop();
  }, 60_000);

  it(
    'devices homed on different instances ping each other, each through the other one home region',
    async () => {
      const [a, b] = [await ipv4(A), await ipv4(B)];
      await waitFor('A to reach B', () => ping(A, b), 30_000);
      await waitFor('B to reach A', () => ping(B, a), 10_000);
      // Each through the other's home region, once the connection its router refused while the homes
      // were chosen is back (its retries back off up to 5 s; until then, through its own home,
      // where the other had a connection too, for sending).
      const through = async (from: NatDevice, name: string, region: string) => {
        const peer = await peerOf(from, name);
        return peer.path === 'relay' && peer.relay === region;
      };
      await waitFor('A to send to B through east', () => through(A, 'b', 'east'), 10_000);
      await waitFor('B to send to A through west', () => through(B, 'a', 'west'), 10_000);
      expect(await ping(A, b)).toBe(true);
      expect(await ping(B, a)).toBe(true);
    },
    T,
  );

  it(
    "when A's home instance dies, A re-homes to east and the two reach each other again",
    async () => {
      const [a, b] = [await ipv4(A), await ipv4(B)];
      expect(await ping(A, b)).toBe(true);
      const west = servers.find((s) => s.name === 'west')!;
      const exited = new Promise((r) => west.proc.once('exit', r));
      west.proc.kill('SIGKILL');
      await exited;
      // A's re-measurement comes 3 s after its home went, and takes up to 3 s more.
      await waitFor(
        'A to make east its home',
        async () => /relay: home region east/.test(A.output()),
        15_000,
      );
      await waitFor('A to reach B again', () => ping(A, b), 10_000);
      await waitFor('B to reach A again', () => ping(B, a), 10_000);
      // (B's answers could reach A even before: through the connection A had opened to east to send
      // to B. That one would have been closed after a minute unused; as A's home it stays.)
      expect(A.output()).toMatch(/relay: home region west is down; measuring the others/);
      // B still has A homed on west (west could not say otherwise): it sends through its own home.
      expect(await homeOf('a')).toBe('1');
      expect(await peerOf(B, 'a')).toMatchObject({ path: 'relay', relay: 'east' });
      expect(await peerOf(A, 'b')).toMatchObject({ path: 'relay', relay: 'east' });
    },
    T,
  );
});
