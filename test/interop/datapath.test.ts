/**
 * burrowd's datapath against real peers, in network namespaces: Debian's wireguard-go (2022), the
 * modern one (2025, with its TUN and UDP offloads on; test/peers), both configured with `wg`, and
 * another burrowd. Every namespace, process and rule is removed after each test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, isRoot, type Netns, waitFor } from '../support/netns.js';
import { tcpTransfer } from '../support/tcp-transfer.js';
import { wgPair } from '../support/wg-pair.js';
import { genKeyPair, type PeerKind, REPO, startBurrowd, wgDump } from '../support/wg-peers.js';

afterEach(cleanupAll, 60_000);

interface Options {
  peer: PeerKind;
  psk?: boolean;
  outerV6?: boolean;
  env?: Record<string, string>;
}

/** nsA runs burrowd; nsB runs the peer (support/wg-pair.ts). */
async function topology(options: Options) {
  const t = await wgPair({
    a: 'burrowd',
    b: options.peer,
    psk: options.psk,
    outerV6: options.outerV6,
    envA: options.env,
  });
  return { ...t, burrowd: t.a, peer: t.b };
}

type Topology = Awaited<ReturnType<typeof topology>>;

const MB50 = 50 * 1024 * 1024;

/**
 * 50 MB from A to B at `toB`, then 50 MB back to A at `toA` (one over IPv4 inside the tunnel, the
 * other over IPv6), each checked by sha256 on both ends.
 */
async function fiftyMegabytesEachWay(t: Topology, toB: string, toA: string): Promise<void> {
  for (const [from, to, address] of [
    [t.nsA, t.nsB, toB],
    [t.nsB, t.nsA, toA],
  ] as const) {
    const result = await tcpTransfer(from, to, address, MB50);
    expect(result.bytes).toBe(MB50);
    expect(result.received).toBe(result.sent);
  }
}

/**
 * Each side's transfer counters (wg show) count at least the `eachWay` bytes that crossed each way,
 * and neither side counts more received than the other sent: all count whole WireGuard messages
 * (equal counts where nothing was dropped), so a datapath that missed packets or counted them
 * twice shows here.
 */
async function expectCountersCover(t: Topology, eachWay: number): Promise<void> {
  const a = (await wgDump(t.nsA, t.burrowd.iface)).peers[0]!;
  const b = (await wgDump(t.nsB, t.peer.iface)).peers[0]!;
  const counters = JSON.stringify({ a, b });
  for (const n of [a.rx, a.tx, b.rx, b.tx]) expect(n, counters).toBeGreaterThan(eachWay);
  expect(a.rx, counters).toBeLessThanOrEqual(b.tx);
  expect(b.rx, counters).toBeLessThanOrEqual(a.tx);
}

async function ping(ns: Netns, target: string, count = 3): Promise<void> {
  await ns.exec(
    'ping',
    [...(target.includes(':') ? ['-6'] : []), '-c', String(count), '-i', '0.2', '-W', '5', target],
    {
      timeout: 30_000,
    },
  );
}

/** Each peer burrowd must work with: Debian's wireguard-go, the modern one (offloads on), itself. */
const PEERS: PeerKind[] = ['wireguard-go', 'wireguard-go-modern', 'burrowd'];

describe.skipIf(!isRoot()).each(PEERS)('burrowd ↔ %s', (peerKind) => {
  it('pings both ways, over IPv4 and IPv6 inside the tunnel', async () => {
    const t = await topology({ peer: peerKind });
    // The datapath AEAD is the addon's, not a silent fallback to node:crypto.
    expect(t.burrowd.output()).toContain('crypto native');
    await ping(t.nsA, '10.9.0.2');
    await ping(t.nsB, '10.9.0.1');
    await ping(t.nsA, 'fd09::2');
    await ping(t.nsB, 'fd09::1');
  });

  it('carries 50 MB each way over IPv4 outside the tunnel, sha256 equal on both ends', async () => {
    const t = await topology({ peer: peerKind });
    await fiftyMegabytesEachWay(t, '10.9.0.2', 'fd09::1');
    await expectCountersCover(t, MB50);
  });

  it('carries 50 MB each way over IPv6 outside the tunnel, with a preshared key', async () => {
    const t = await topology({ peer: peerKind, outerV6: true, psk: true });
    await fiftyMegabytesEachWay(t, 'fd09::2', '10.9.0.1');
    const dump = await wgDump(t.nsA, t.burrowd.iface);
    expect(dump.peers[0]!.endpoint).toBe('[fd00:2::2]:51821');
    expect(dump.peers[0]!.presharedKey).not.toBe('(none)');
  });

  it('follows the peer when its address changes (roaming)', async () => {
    const t = await topology({ peer: peerKind });
    await ping(t.nsA, '10.9.0.2');
    const dev = (await t.nsB.exec('ip', ['-o', 'link', 'show', 'type', 'veth'])).stdout
      .split(':')[1]!
      .trim()
      .split('@')[0]!;
    // Keep the new address when the old primary goes (Linux drops secondaries with it by default).
    await t.nsB.exec('sysctl', ['-qw', `net.ipv4.conf.${dev}.promote_secondaries=1`]);
    await t.nsB.exec('ip', ['address', 'add', '192.0.2.3/24', 'dev', dev]);
    await t.nsB.exec('ip', ['address', 'del', '192.0.2.2/24', 'dev', dev]);
    if (peerKind === 'wireguard-go') {
      // Debian's wireguard-go keeps sending from its cached source address, now gone ("network is
      // unreachable"); setting its endpoint again clears that cache, as a real roaming client's
      // network change would. burrowd's side is what is under test.
      await t.nsB.exec('wg', [
        'set',
        t.peer.iface,
        'peer',
        t.keys.a.publicKey,
        'endpoint',
        '192.0.2.1:51820',
      ]);
    }
    await ping(t.nsB, '10.9.0.1');
    await waitFor('burrowd to learn the new endpoint', async () => {
      const dump = await wgDump(t.nsA, t.burrowd.iface);
      return dump.peers[0]!.endpoint === '192.0.2.3:51821';
    });
    await ping(t.nsA, '10.9.0.2');
  });

  it('rekeys in the middle of traffic without losing a packet (time scaled 12x)', async () => {
    const t = await topology({ peer: peerKind, env: { BURROW_TEST_TIME_SCALE: '12' } });
    await ping(t.nsA, '10.9.0.2', 1); // burrowd initiates, so it is the one that rekeys every 10 s
    const handshakes = new Set<number>();
    const poll = setInterval(async () => {
      try {
        handshakes.add((await wgDump(t.nsA, t.burrowd.iface)).peers[0]!.latestHandshake);
      } catch {
        // the namespace is going away
      }
    }, 500);
    try {
      // 2,400 echo requests at 10 ms over 24 s: each lost one would show as loss.
      const { stdout } = await t.nsA.exec('ping', ['-c', '2400', '-i', '0.01', '-W', '2', '-q', '10.9.0.2'], {
        timeout: 60_000,
      });
      expect(stdout).toMatch(/2400 packets transmitted, 2400 received/);
    } finally {
      clearInterval(poll);
    }
    expect(handshakes.size).toBeGreaterThanOrEqual(3);
  });
});

describe.skipIf(!isRoot())('the modern wireguard-go peer', () => {
  it('runs with its offloads on: its TUN takes TCP super-packets and is written coalesced ones', async () => {
    const t = await topology({ peer: 'wireguard-go-modern' });
    const stats = async () => {
      const dir = `/sys/class/net/${t.peer.iface}/statistics`;
      const names = ['tx_bytes', 'tx_packets', 'rx_bytes', 'rx_packets'];
      const values = (
        await t.nsB.exec(
          'cat',
          names.map((n) => `${dir}/${n}`),
        )
      ).stdout
        .trim()
        .split('\n');
      const [txBytes, txPackets, rxBytes, rxPackets] = values.map(Number) as [number, number, number, number];
      return { txBytes, txPackets, rxBytes, rxPackets };
    };
    // A TUN counts each packet as the kernel sees it, and no packet may exceed the MTU (1420)
    // without offloads. So what the peer sends (its TUN's tx) is larger than that on average only
    // if the kernel hands it TSO super-packets, and what it receives (rx) only if it writes the
    // received segments coalesced (its GRO). Each is measured while the data flows that way.
    const before = await stats();
    await tcpTransfer(t.nsB, t.nsA, '10.9.0.1', 20 * 1024 * 1024);
    const between = await stats();
    await tcpTransfer(t.nsA, t.nsB, '10.9.0.2', 20 * 1024 * 1024, 5202);
    const after = await stats();
    const sent = (between.txBytes - before.txBytes) / (between.txPackets - before.txPackets);
    const received = (after.rxBytes - between.rxBytes) / (after.rxPackets - between.rxPackets);
    expect(sent).toBeGreaterThan(1420);
    expect(received).toBeGreaterThan(1420);
  });
});

describe.skipIf(!isRoot())('burrowd and the wg tool', () => {
  it('wg show reports peers, handshake, transfer and endpoints; wg set changes it live', async () => {
    const t = await topology({ peer: 'wireguard-go' });
    await ping(t.nsA, '10.9.0.2');
    const dump = await wgDump(t.nsA, t.burrowd.iface);
    expect(dump.publicKey).toBe(t.keys.a.publicKey);
    expect(dump.listenPort).toBe(51820);
    expect(dump.peers).toHaveLength(1);
    const p = dump.peers[0]!;
    expect(p.publicKey).toBe(t.keys.b.publicKey);
    expect(p.endpoint).toBe('192.0.2.2:51821');
    expect(p.allowedIps).toBe('10.9.0.2/32,fd09::2/128');
    expect(p.latestHandshake).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(p.rx).toBeGreaterThan(0);
    expect(p.tx).toBeGreaterThan(0);

    // Add a prefix to the peer: the route appears in table 52 and traffic to it goes through.
    await t.nsA.exec('wg', [
      'set',
      t.burrowd.iface,
      'peer',
      t.keys.b.publicKey,
      'allowed-ips',
      '10.9.0.2/32,fd09::2/128,10.77.0.0/24',
    ]);
    await t.nsB.exec('ip', ['address', 'add', '10.77.0.1/32', 'dev', t.peer.iface]);
    await t.nsB.exec('wg', [
      'set',
      t.peer.iface,
      'peer',
      t.keys.a.publicKey,
      'allowed-ips',
      '10.9.0.1/32,fd09::1/128',
    ]);
    expect((await wgDump(t.nsA, t.burrowd.iface)).peers[0]!.allowedIps).toBe(
      '10.9.0.2/32,fd09::2/128,10.77.0.0/24',
    );
    expect((await t.nsA.exec('ip', ['route', 'show', 'table', '52'])).stdout).toContain('10.77.0.0/24');
    await ping(t.nsA, '10.77.0.1');

    const other = await genKeyPair();
    await t.nsA.exec('wg', [
      'set',
      t.burrowd.iface,
      'peer',
      other.publicKey,
      'endpoint',
      '192.0.2.9:1',
      'allowed-ips',
      '10.9.0.9/32',
    ]);
    expect((await wgDump(t.nsA, t.burrowd.iface)).peers.map((x) => x.publicKey)).toContain(other.publicKey);
    await t.nsA.exec('wg', ['set', t.burrowd.iface, 'peer', other.publicKey, 'remove']);
    expect((await wgDump(t.nsA, t.burrowd.iface)).peers).toHaveLength(1);
    expect((await t.nsA.exec('ip', ['route', 'show', 'table', '52'])).stdout).not.toContain('10.9.0.9');

    const conf = (await t.nsA.exec('wg', ['showconf', t.burrowd.iface])).stdout;
    expect(conf).toContain(`PrivateKey = ${t.keys.a.privateKey}`);
    expect(conf).toContain('ListenPort = 51820');
  });

  it('a bad wg set changes nothing and reports an error', async () => {
    const t = await topology({ peer: 'wireguard-go' });
    const before = await wgDump(t.nsA, t.burrowd.iface);
    await expect(
      t.nsA.exec('wg', [
        'set',
        t.burrowd.iface,
        'listen-port',
        '51999',
        'peer',
        t.keys.b.publicKey,
        'allowed-ips',
        '10.9.0.2/33',
      ]),
    ).rejects.toThrow();
    expect(await wgDump(t.nsA, t.burrowd.iface)).toEqual(before);
  });
});

describe.skipIf(!isRoot())('burrowd state on the host', () => {
  const ours = async (ns: Netns) => {
    const rules =
      (await ns.exec('ip', ['rule', 'show'])).stdout + (await ns.exec('ip', ['-6', 'rule', 'show'])).stdout;
    const table =
      (await ns.exec('ip', ['route', 'show', 'table', '52'])).stdout +
      (await ns.exec('ip', ['-6', 'route', 'show', 'table', '52'])).stdout;
    const links = (await ns.exec('ip', ['-o', 'link', 'show'])).stdout;
    return { rules: rules.split('\n').filter((l) => /^52[1-7]0:/.test(l)), table: table.trim(), links };
  };

  it('kill -9, then a start and a clean stop, leaves no rules, routes or interfaces', async () => {
    const t = await topology({ peer: 'wireguard-go' });
    await ping(t.nsA, '10.9.0.2');
    expect((await ours(t.nsA)).rules).toHaveLength(8); // four per family
    await t.burrowd.stop('SIGKILL');
    const left = await ours(t.nsA);
    expect(left.rules).toHaveLength(8); // what a crash leaves behind
    const again = await startBurrowd(t.nsA, t.specA, { iface: t.burrowd.iface });
    await ping(t.nsA, '10.9.0.2');
    expect(await again.stop('SIGTERM')).toBe(0);
    const after = await ours(t.nsA);
    expect(after.rules).toEqual([]);
    expect(after.table).toBe('');
    expect(after.links).not.toContain(t.burrowd.iface);
  });

  it('under a flood of handshake initiations it sends cookie replies and established traffic keeps flowing', async () => {
    const t = await topology({ peer: 'wireguard-go' });
    await ping(t.nsA, '10.9.0.2');
    const flood = t.nsB.spawn(
      'node',
      [
        '--import',
        'tsx',
        `${REPO}/test/support/handshake-flood.ts`,
        '192.0.2.1',
        '51820',
        t.keys.a.publicKey,
        '6',
      ],
      {
        cwd: REPO,
      },
    );
    let out = '';
    flood.stdout?.on('data', (d) => {
      out += d;
    });
    const done = new Promise((r) => flood.once('exit', r));
    await new Promise((r) => setTimeout(r, 1000));
    const { stdout } = await t.nsA.exec('ping', ['-c', '100', '-i', '0.03', '-W', '2', '-q', '10.9.0.2'], {
      timeout: 30_000,
    });
    await done;
    const result = JSON.parse(out.trim()) as { sent: number; cookieReplies: number };
    expect(result.cookieReplies).toBeGreaterThan(0);
    const received = Number(/(\d+) received/.exec(stdout)?.[1]);
    expect(received).toBeGreaterThanOrEqual(95);
  });
});
