/**
 * The NAT routers of the mesh lab, checked with real sockets (no burrowd): a "what is my address"
 * server in the server's namespace answers with the source ip:port it saw, and hosts behind each
 * kind of NAT ask it, and punch holes toward each other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshLab, type NatHost } from '../support/mesh-lab.js';
import { punch, startAddressEcho, tcpWhoami, whoami } from '../support/nat-probe.js';
import { hasNft } from '../support/nat-router.js';
import { cleanupAll, isRoot, type Netns, run } from '../support/netns.js';

const T = 60_000;
const UDP_A = 4001;
const UDP_B = 4002;
const TCP = 4003;

const skipReason = !isRoot() ? 'needs root' : !hasNft() ? 'needs nft (nftables)' : '';

describe.skipIf(skipReason !== '')(`NAT lab${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let lab: MeshLab;
  let E1: NatHost;
  let E2: NatHost;
  let S: NatHost;
  let U: NatHost;
  let B1: NatHost;
  let B2: NatHost;
  let srv: string;

  beforeAll(async () => {
    lab = await MeshLab.create();
    [E1, E2, S, U, B1, B2] = await Promise.all([
      lab.natHost('e1', 'easy'),
      lab.natHost('e2', 'easy'),
      lab.natHost('s', 'symmetric'),
      lab.natHost('u', 'udp-blocked'),
      lab.natHost('b1', 'bare'),
      lab.natHost('b2', 'bare'),
    ]);
    srv = lab.serverIp;
    await startAddressEcho(lab.serverNs, [UDP_A, UDP_B], TCP);
  }, T);

  afterAll(async () => {
    await lab?.destroy();
    await cleanupAll();
  }, T);

  it('each host sits on a private subnet behind its own router, on the LAN or (bare) a routed hop away', () => {
    const hosts = [E1, E2, S, U, B1, B2];
    expect(new Set(hosts.map((h) => h.publicIp)).size).toBe(6);
    expect(new Set(hosts.map((h) => h.lanIp)).size).toBe(6);
    for (const h of hosts) {
      expect(h.publicIp).toMatch(h.nat === 'bare' ? /^10\.98\.\d+\.2$/ : /^10\.99\.0\.\d+$/);
      expect(h.lanIp).toMatch(/^192\.168\.\d+\.2$/);
    }
  });

  it(
    'easy: one socket keeps one public port (its own) toward every destination',
    async () => {
      const r = await whoami(E1.ns, [`${srv}:${UDP_A}`, `${srv}:${UDP_B}`]);
      expect(r.answers).toEqual([`${E1.publicIp}:${r.localPort}`, `${E1.publicIp}:${r.localPort}`]);
    },
    T,
  );

  it(
    'symmetric: one socket gets a new public port per destination, kept for that destination',
    async () => {
      const r = await whoami(S.ns, [`${srv}:${UDP_A}`, `${srv}:${UDP_B}`, `${srv}:${UDP_A}`]);
      const [a, b, again] = r.answers;
      for (const answer of r.answers)
        expect(answer).toMatch(new RegExp(`^${S.publicIp.replace(/\./g, '\\.')}:\\d+$`));
      expect(a).not.toBe(b);
      expect(again).toBe(a);
      // And not the local port: the mapping does not even start from it.
      const ports = [a, b].map((x) => Number(x!.split(':')[1]));
      expect(ports).not.toContain(r.localPort);
    },
    T,
  );

  it(
    'udp-blocked: UDP gets no answer, while TCP still goes out (through the NAT)',
    async () => {
      const r = await whoami(U.ns, [`${srv}:${UDP_A}`, `${srv}:${UDP_B}`], { waitMs: 900 });
      expect(r.answers).toEqual([null, null]);
      expect(await tcpWhoami(U.ns, srv, TCP)).toMatch(
        new RegExp(`^${U.publicIp.replace(/\./g, '\\.')}:\\d+$`),
      );
    },
    T,
  );

  it(
    'the private subnets are unreachable from outside; the hosts reach the server',
    async () => {
      const ping = (ns: Netns, to: string) =>
        ns.exec('ping', ['-c', '1', '-W', '1', to]).then(
          () => true,
          () => false,
        );
      expect(await ping(E1.ns, srv)).toBe(true);
      expect(await ping(lab.serverNs, E1.lanIp)).toBe(false);
      expect(await ping(lab.hub, E1.lanIp)).toBe(false);
      expect(await ping(E2.ns, E1.lanIp)).toBe(false);
      expect(await tcpWhoami(E2.ns, srv, TCP)).toMatch(/^10\.99\.0\.\d+:\d+$/);
    },
    T,
  );

  it(
    'hole punching works between two easy NATs, and not when one side is symmetric',
    async () => {
      // Easy NATs keep the port, so each side's public address is its router's IP and its own port.
      const [e1, e2] = await punch(
        { ns: E1.ns, localPort: 41001, peer: `${E2.publicIp}:42001` },
        { ns: E2.ns, localPort: 42001, peer: `${E1.publicIp}:41001` },
      );
      expect(e1.from).toEqual([`${E2.publicIp}:42001`]);
      expect(e2.from).toEqual([`${E1.publicIp}:41001`]);

      // S learns its public address from the server, as from STUN; toward E1 it gets another one.
      const seen = await whoami(S.ns, [`${srv}:${UDP_A}`], { localPort: 43001 });
      const [e, s] = await punch(
        { ns: E1.ns, localPort: 41002, peer: seen.answers[0]! },
        { ns: S.ns, localPort: 43001, peer: `${E1.publicIp}:41002` },
      );
      expect(e.received).toBe(0);
      expect(s.received).toBe(0);
    },
    T,
  );

  it(
    'bare: a packet that reaches the router first claims the port; the pair then never meets',
    async () => {
      // Like easy, the router keeps a socket's port toward every destination...
      const r = await whoami(B1.ns, [`${srv}:${UDP_A}`, `${srv}:${UDP_B}`], { localPort: 44001 });
      expect(r.answers).toEqual([`${B1.publicIp}:44001`, `${B1.publicIp}:44001`]);
      // ...but nothing filters what comes in: B1's packets reach B2's router before B2 has sent
      // anything toward B1, and conntrack keeps an entry for them (to the router itself).
      await whoami(B1.ns, [`${B2.publicIp}:45001`], { localPort: 44001, waitMs: 300 });
      const [b1, b2] = await punch(
        { ns: B1.ns, localPort: 44001, peer: `${B2.publicIp}:45001` },
        { ns: B2.ns, localPort: 45001, peer: `${B1.publicIp}:44001` },
      );
      // That entry holds B2's public port 45001 toward B1:44001, so B2's packets leave from another
      // port, where B1's router has no flow of B1's: they reach B1's router only, and so do B1's.
      expect(b1.received).toBe(0);
      expect(b2.received).toBe(0);
      const flows = (await B2.router.exec('cat', ['/proc/net/nf_conntrack'])).stdout;
      const own = flows
        .split('\n')
        .find((l) => l.includes(`src=${B2.lanIp} dst=${B1.publicIp} sport=45001 dport=44001 `));
      expect(own).toBeDefined();
      const mapped = Number(
        / src=\S+ dst=\S+ sport=\d+ dport=(\d+) .*$/.exec(own!.split('[UNREPLIED]')[1] ?? '')?.[1],
      );
      expect(mapped).not.toBe(45001);
      expect(mapped).toBeGreaterThan(0);
    },
    T,
  );

  it(
    'bare: a first packet with TTL 2 opens our router and dies before theirs; then the pair meets',
    async () => {
      // Each side's opening packet leaves its router (a flow toward the peer) and dies at the hub.
      await whoami(B1.ns, [`${B2.publicIp}:45011`], { localPort: 44011, waitMs: 300, ttl: 2 });
      await whoami(B2.ns, [`${B1.publicIp}:44011`], { localPort: 45011, waitMs: 300, ttl: 2 });
      const flows = async (h: NatHost) => (await h.router.exec('cat', ['/proc/net/nf_conntrack'])).stdout;
      // Each router has its own side's flow, and none to itself (a first tuple from outside).
      const first = (src: string, dst: string, sport: number) =>
        new RegExp(`udp +17 \\d+ src=${src} dst=${dst} sport=${sport} `);
      expect(await flows(B2)).not.toMatch(first(B1.publicIp, B2.publicIp, 44011));
      expect(await flows(B1)).not.toMatch(first(B2.publicIp, B1.publicIp, 45011));
      expect(await flows(B1)).toMatch(first(B1.lanIp, B2.publicIp, 44011));
      expect(await flows(B2)).toMatch(first(B2.lanIp, B1.publicIp, 45011));
      const [b1, b2] = await punch(
        { ns: B1.ns, localPort: 44011, peer: `${B2.publicIp}:45011` },
        { ns: B2.ns, localPort: 45011, peer: `${B1.publicIp}:44011` },
      );
      expect(b1.from).toEqual([`${B2.publicIp}:45011`]);
      expect(b2.from).toEqual([`${B1.publicIp}:44011`]);
    },
    T,
  );

  it(
    'blockUdp stops UDP both ways, established flows too; unblockUdp restores it; both idempotent',
    async () => {
      const sides = () =>
        punch(
          { ns: E1.ns, localPort: 41003, peer: `${E2.publicIp}:42003` },
          { ns: E2.ns, localPort: 42003, peer: `${E1.publicIp}:41003` },
          1000,
        );
      const [a0, b0] = await sides();
      expect(a0.received).toBeGreaterThan(0);
      expect(b0.received).toBeGreaterThan(0);

      await E2.blockUdp();
      await E2.blockUdp();
      // The flow's conntrack entries are still there (and E1's router still forwards E1's packets):
      // E1 receiving nothing shows E2's outbound is dropped, E2 receiving nothing its inbound.
      const [a1, b1] = await sides();
      expect(a1.received).toBe(0);
      expect(b1.received).toBe(0);
      expect((await whoami(E2.ns, [`${srv}:${UDP_A}`], { waitMs: 900 })).answers).toEqual([null]);
      expect(await tcpWhoami(E2.ns, srv, TCP)).toMatch(/^10\.99\.0\.\d+:\d+$/);

      await E2.unblockUdp();
      await E2.unblockUdp();
      const [a2, b2] = await sides();
      expect(a2.from).toEqual([`${E2.publicIp}:42003`]);
      expect(b2.from).toEqual([`${E1.publicIp}:41003`]);
    },
    T,
  );

  it(
    'destroying the lab leaves nothing behind in the root namespace',
    async () => {
      const namespaces = [
        lab.hub,
        lab.internet,
        lab.serverNs,
        ...[E1, E2, S, U, B1, B2].flatMap((h) => [h.router, h.ns]),
      ];
      const links = new Set<string>();
      for (const ns of namespaces) {
        const { stdout } = await ns.exec('ip', ['-o', 'link', 'show']);
        for (const m of stdout.matchAll(/^\d+: ([^:@]+)/gm))
          if (m[1] !== 'lo' && m[1] !== 'br0') links.add(m[1]!);
      }
      expect(links.size).toBeGreaterThan(8);
      await lab.destroy();
      await cleanupAll();
      const listed = (await run('ip', ['netns', 'list'])).stdout;
      for (const ns of namespaces) expect(listed).not.toContain(ns.name);
      const rootLinks = (await run('ip', ['-o', 'link', 'show'])).stdout;
      for (const name of links) expect(rootLinks).not.toContain(`: ${name}`);
    },
    T,
  );
});
