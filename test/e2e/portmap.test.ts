/**
 * Port mapping, end to end (issue 20): devices behind a router that randomises every outbound port
 * (where hole punching cannot work) get a direct path because burrowd asks the router's miniupnpd
 * to map its WireGuard port, by PCP, NAT-PMP or UPnP, and offers the mapped endpoint to peers.
 * Each with the real burrow-server, its relay and STUN on; the peer is behind an easy NAT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshLab, type NatDevice, type StatusJson } from '../support/mesh-lab.js';
import { hasNft } from '../support/nat-router.js';
import { cleanupAll, isRoot, waitFor } from '../support/netns.js';
import { hasMiniupnpd, type PortmapRouter, portmapRouter } from '../support/portmap-router.js';

const T = 120_000;
const STUN_PORT = 3478;
/** Seconds burrowd asks for in this lab, so that renewals and expiry happen within a test. */
const LIFETIME = 6;

type PeerJson = StatusJson['peers'][number] & { path: string; endpoint: string | null };

const skipReason = !isRoot()
  ? 'needs root'
  : !hasNft()
    ? 'needs nft (nftables)'
    : !hasMiniupnpd()
      ? 'needs miniupnpd (miniupnpd-nftables)'
      : '';

describe.skipIf(skipReason !== '')(
  `port mapping behind fully-random routers${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let lab: MeshLab;
    let E: NatDevice;
    const routers = new Map<string, PortmapRouter>();

    const peerOf = async (from: NatDevice, name: string) =>
      (await from.status()).peers.find((p) => p.hostName === name) as PeerJson;
    const ping = (from: NatDevice, to: string) =>
      from.ns.exec('ping', ['-c', '1', '-W', '1', to]).then(
        () => true,
        () => false,
      );

    /** A device behind a fully-random router with miniupnpd as told, burrowd mapping with `methods`. */
    async function device(
      name: string,
      router: { natpmp: boolean; upnp: boolean; fake?: boolean },
      methods?: string,
    ) {
      const env: Record<string, string> = { BURROW_PORTMAP_LIFETIME: String(LIFETIME) };
      if (methods !== undefined) env.BURROW_PORTMAP = methods;
      const d = await lab.natDevice(name, 'symmetric', {
        env,
        router: portmapRouter({ ...router, minLifetime: 1 }, (r) => routers.set(name, r)),
      });
      await lab.join(d, 'alice');
      return d;
    }

    /** Pings E from `d` until the path is direct; the time that took, in ms. */
    async function timeToDirect(d: NatDevice): Promise<number> {
      const eIp = (await E.status()).self!.ips[0]!;
      const started = Date.now();
      await waitFor(
        `${d.name} to go direct to e`,
        async () => {
          await ping(d, eIp);
          return (await peerOf(d, 'e'))?.path === 'direct';
        },
        10_000,
        200,
      );
      return Date.now() - started;
    }

    /**
     * E, the peer, sees `d` direct at its mapped endpoint and says it was found by port mapping (d's
     * call-me-maybe told it what that endpoint is): in `burrow status`, --json and so the UI row.
     */
    async function foundByPortMapping(d: NatDevice): Promise<void> {
      const endpoint = (await d.status()).portMapping?.mapping?.endpoint;
      expect(endpoint).toBeTruthy();
      await waitFor(
        `e to see ${d.name} direct at ${endpoint}`,
        async () => (await peerOf(E, d.name))?.endpoint === endpoint,
        10_000,
        200,
      );
      expect(await peerOf(E, d.name)).toMatchObject({ path: 'direct', endpoint, found: 'port-mapping' });
      expect((await E.burrow('status')).stdout).toMatch(
        new RegExp(`direct ${endpoint}; [^\\n]*found by port mapping`),
      );
    }

    /** Stays direct while pings run for `ms`. */
    async function staysDirect(d: NatDevice, ms: number): Promise<void> {
      const eIp = (await E.status()).self!.ips[0]!;
      const until = Date.now() + ms;
      while (Date.now() < until) {
        expect(await ping(d, eIp)).toBe(true);
        expect((await peerOf(d, 'e')).path).toBe('direct');
        await new Promise((r) => setTimeout(r, 300));
      }
    }

    beforeAll(async () => {
      lab = await MeshLab.create();
      await lab.admin('users', 'create', 'alice', '--network', 'team');
      await lab.startServer({ stunPort: STUN_PORT });
      E = await lab.natDevice('e', 'easy');
      await lab.join(E, 'alice');
    }, T);

    afterAll(async () => {
      for (const r of routers.values()) await r.stop();
      await lab?.destroy();
      await cleanupAll();
    }, T);

    it(
      'NAT-PMP: the mapped endpoint goes direct within 10 s and stays; the mapping is renewed, and removed on burrow down',
      async () => {
        const d = await device('pmp', { natpmp: true, upnp: false }, 'nat-pmp');
        const router = routers.get('pmp')!;
        await waitFor('a NAT-PMP lease', async () => router.leases().length === 1, 10_000);
        const [lease] = router.leases();
        expect(lease).toMatch(/^UDP:\d+:192\.168\.\d+\.2:\d+:\d+:/);
        expect(d.output()).toMatch(/portmap: nat-pmp maps 11\.99\.0\.\d+:\d+ to port \d+/);
        expect(await timeToDirect(d)).toBeLessThan(10_000);
        // The direct path is to E's endpoint; ours, as E was offered it, is the mapped one.
        const mapping = (await d.status()).portMapping?.mapping;
        expect(mapping).toMatchObject({ method: 'nat-pmp', lifetimeSeconds: LIFETIME });
        expect(mapping?.endpoint).toMatch(new RegExp(`^${router.externalIp().replace(/\./g, '\\.')}:\\d+$`));
        expect((await d.burrow('status')).stdout).toContain(`# Port mapping: nat-pmp ${mapping!.endpoint}`);
        await foundByPortMapping(d);
        await staysDirect(d, LIFETIME * 1000);
        // Renewed at half its lifetime: the lease's expiry moved on, the mapping itself did not.
        const expiry = (l: string) => Number(l.split(':')[4]);
        await waitFor(
          'the lease to be renewed',
          async () => expiry(router.leases()[0] ?? '') > expiry(lease!),
          10_000,
        );
        expect(router.leases()[0]!.split(':').slice(0, 4)).toEqual(lease!.split(':').slice(0, 4));
        expect((await d.burrow('down')).code).toBe(0);
        await waitFor(
          'the lease to be removed on burrow down',
          async () => router.leases().length === 0,
          5_000,
        );
        expect(await router.redirects()).not.toMatch(/dnat/);
      },
      T,
    );
    it(
      'PCP: direct within 10 s and stays; the mapping is removed when burrowd exits',
      async () => {
        const d = await device('pcp', { natpmp: true, upnp: false }, 'pcp');
        const router = routers.get('pcp')!;
        expect(await timeToDirect(d)).toBeLessThan(10_000);
        expect(d.output()).toMatch(/portmap: pcp maps 11\.99\.0\.\d+:\d+/);
        expect(router.leases()).toHaveLength(1);
        await foundByPortMapping(d);
        await staysDirect(d, 3000);
        await d.stop('SIGTERM');
        expect(router.leases()).toEqual([]);
        expect(d.output()).toMatch(/portmap: removed the pcp mapping/);
      },
      T,
    );

    it(
      'UPnP only: direct within 10 s and stays; after kill -9 the mapping expires by its lease',
      async () => {
        const d = await device('upnp', { natpmp: false, upnp: true });
        const router = routers.get('upnp')!;
        expect(await timeToDirect(d)).toBeLessThan(10_000);
        expect(d.output()).toMatch(/portmap: upnp maps 11\.99\.0\.\d+:\d+/);
        await foundByPortMapping(d);
        await staysDirect(d, 3000);
        await d.stop('SIGKILL');
        expect(router.leases()).toHaveLength(1);
        await waitFor(
          'the stale lease to expire',
          async () => router.leases().length === 0,
          (LIFETIME + 30) * 1000,
          500,
        );
        expect(await router.redirects()).not.toMatch(/dnat/);
      },
      T,
    );

    it(
      'without port mapping the fully-random side stays on the relay, and says so',
      async () => {
        const d = await device('none', { natpmp: false, upnp: false });
        const eIp = (await E.status()).self!.ips[0]!;
        const until = Date.now() + 10_000;
        while (Date.now() < until) {
          expect(await ping(d, eIp)).toBe(true);
          await new Promise((r) => setTimeout(r, 300));
        }
        const peer = await peerOf(d, 'e');
        expect(peer.path).toBe('relay');
        expect((await d.status()).portMapping).toEqual({ mapping: null, refused: [] });
        expect((await d.burrow('status')).stdout).toMatch(/e .*relay "burrow-server"/);
        expect(d.output()).toMatch(/portmap: none \(no PCP, NAT-PMP or UPnP mapping from 192\.168\.\d+\.1\)/);
      },
      T,
    );

    it(
      'a gateway that answers malformed, or from another address, is refused and counted; burrowd carries on over the relay',
      async () => {
        const d = await device('fake', { natpmp: false, upnp: false, fake: true });
        const eIp = (await E.status()).self!.ips[0]!;
        const refused = async () =>
          new Map((await d.status()).portMapping?.refused.map((r) => [r.reason, r.count] as const) ?? []);
        await waitFor('the answers to be refused', async () => (await refused()).size >= 5, 10_000, 200);
        const counts = await refused();
        for (const reason of ['bad-length', 'unknown-result', 'bad-location', 'bad-http', 'wrong-source'])
          expect(counts.get(reason), reason).toBeGreaterThan(0);
        expect((await d.status()).portMapping?.mapping).toBeNull();
        expect(await ping(d, eIp)).toBe(true);
        expect(d.process.exitCode).toBeNull();
        // Logged once the round is over: every service probed, and none of them usable.
        await waitFor(
          'burrowd to give up on the gateway',
          async () => /portmap: none/.test(d.output()),
          5_000,
        );
      },
      T,
    );
  },
);
