/**
 * `burrowd --wg-config FILE` routes as wg-quick's `Table` says: `auto` (or none) with Burrow's own
 * layout (table 52, rules 5210-5270), `off` with no route and no rule at all, and a table number
 * with the peer's routes in that table and no rule (the user's own rule decides what looks it up).
 * `FwMark` marks burrowd's UDP socket, and with `Table = auto` Burrow's bypass rules match that
 * mark, so a full tunnel (AllowedIPs = 0.0.0.0/0) still gets its encrypted packets out. A full
 * tunnel with `Table = auto` keeps the LAN, as wg-quick's does: the tunnel's default route takes only
 * what main's default route carried. Peers: Debian's wireguard-go and the modern one
 * (support/standalone-lab.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isRoot, type Netns } from '../support/netns.js';
import { cleanupLabs, standaloneLab } from '../support/standalone-lab.js';
import { wgDump } from '../support/wg-peers.js';

afterEach(cleanupLabs, 60_000);

/** The namespace's policy rules of both families, without the kernel's own three. */
async function rules(ns: Netns): Promise<string[]> {
  const show = async (family: string) => (await ns.exec('ip', [family, 'rule', 'show'])).stdout;
  return `${await show('-4')}${await show('-6')}`
    .split('\n')
    .filter((line) => line !== '' && !/^(0|32766|32767):/.test(line));
}

/** Every route of both families that names `iface`, in any table. */
async function routesVia(ns: Netns, iface: string): Promise<string[]> {
  const show = async (family: string) =>
    (await ns.exec('ip', [family, 'route', 'show', 'table', 'all', 'dev', iface])).stdout;
  return (
    `${await show('-4')}${await show('-6')}`
      .split('\n')
      .map((line) => line.trim())
      // The kernel's own: the local table's address route, and IPv6 link-local and multicast.
      .filter((line) => line !== '' && !/^(local |fe80::|multicast )/.test(line))
  );
}

describe.skipIf(!isRoot())('burrowd --wg-config: Table', () => {
  it('Table = auto: table 52 and rules 5210-5270, and the peer is reached', async () => {
    const lab = await standaloneLab({ interfaceLines: ['Table = auto'] });
    const burrowd = await lab.start();
    expect((await rules(lab.nsA)).map((r) => r.split(':')[0])).toEqual([
      ...['5210', '5230', '5250', '5270'],
      ...['5210', '5230', '5250', '5270'],
    ]);
    expect(await routesVia(lab.nsA, lab.iface)).toEqual(['10.9.0.2 table 52 scope link']);
    expect(await lab.pings()).toBe(true);
    expect(await burrowd.stop()).toBe(0);
    expect(await rules(lab.nsA)).toEqual([]);
  }, 60_000);

  it('Table = off: no route and no rule at all, so the peer is not routed; the interface is up with its address', async () => {
    const lab = await standaloneLab({ interfaceLines: ['Table = off'] });
    const burrowd = await lab.start();
    expect(await rules(lab.nsA)).toEqual([]);
    expect(await routesVia(lab.nsA, lab.iface)).toEqual([]);
    const link = (await lab.nsA.exec('ip', ['address', 'show', 'dev', lab.iface])).stdout;
    expect(link).toMatch(/<[^>]*\bUP\b/);
    expect(link).toContain('10.9.0.1/32');
    expect(link).toContain('mtu 1420');
    expect(await lab.pings()).toBe(false);
    expect(await burrowd.stop()).toBe(0);
  }, 60_000);

  it('Table = 1234: the peer’s routes in table 1234 and no rule; traffic flows once a rule of the user’s looks it up', async () => {
    const lab = await standaloneLab({
      interfaceLines: ['Table = 1234'],
      allowedIps: ['10.9.0.2/32', '10.77.0.0/16'],
    });
    const burrowd = await lab.start();
    expect(await rules(lab.nsA)).toEqual([]);
    expect((await routesVia(lab.nsA, lab.iface)).sort()).toEqual([
      '10.77.0.0/16 table 1234 scope link',
      '10.9.0.2 table 1234 scope link',
    ]);
    expect(await lab.pings()).toBe(false);
    await lab.nsA.exec('ip', ['rule', 'add', 'priority', '100', 'table', '1234']);
    expect(await lab.pings()).toBe(true);

    // Routes follow `wg set` into that table.
    await lab.nsA.exec('wg', ['set', lab.iface, 'peer', lab.keys.b.publicKey, 'allowed-ips', '10.9.0.2/32']);
    expect(await routesVia(lab.nsA, lab.iface)).toEqual(['10.9.0.2 table 1234 scope link']);
    expect(await burrowd.stop()).toBe(0);
    expect(await routesVia(lab.nsA, lab.iface).catch(() => [])).toEqual([]);
    expect(await rules(lab.nsA)).toEqual(['100:\tfrom all lookup 1234']);
  }, 60_000);

  it('Table = main (a name from rt_tables): the route in main, no rule, and the peer is reached at once', async () => {
    const lab = await standaloneLab({ interfaceLines: ['Table = main'] });
    const burrowd = await lab.start();
    expect(await rules(lab.nsA)).toEqual([]);
    expect(await routesVia(lab.nsA, lab.iface)).toEqual(['10.9.0.2 scope link']);
    expect(await lab.pings()).toBe(true);
    expect(await burrowd.stop()).toBe(0);
  }, 60_000);
});

describe.skipIf(!isRoot())('burrowd --wg-config: FwMark', () => {
  it('a full tunnel with FwMark = 0x1234: Burrow’s bypass rules match it, so the tunnel carries traffic and the encrypted packets leave outside it', async () => {
    // The peer's endpoint is off-link, reached by main's default route, so the encrypted packets get
    // out only by the bypass rules: unmarked, they would follow table 52's 0.0.0.0/0 into the tunnel.
    const lab = await standaloneLab({
      interfaceLines: ['FwMark = 0x1234'],
      allowedIps: ['0.0.0.0/0'],
      endpoint: '198.51.100.2:51821',
    });
    await lab.nsB.exec('ip', ['address', 'add', '198.51.100.2/32', 'dev', 'lo']);
    await lab.nsA.exec('ip', ['route', 'add', 'default', 'via', '192.0.2.2']);
    const burrowd = await lab.start();
    expect((await lab.nsA.exec('wg', ['show', lab.iface, 'fwmark'])).stdout.trim()).toBe('0x1234');
    const v4 = (await lab.nsA.exec('ip', ['-4', 'rule', 'show'])).stdout;
    expect(v4).toMatch(/^5210:\s+from all fwmark 0x1234 lookup main/m);
    expect(v4).not.toContain('0x80000');
    const routeGet = async (args: string[]) =>
      (await lab.nsA.exec('ip', ['-4', 'route', 'get', ...args])).stdout;
    // What the socket sends leaves by the veth; everything else goes into the tunnel.
    expect(await routeGet(['198.51.100.2', 'mark', '0x1234'])).toContain(`dev ${lab.aDev}`);
    expect(await routeGet(['203.0.113.9'])).toContain(`dev ${lab.iface}`);

    expect(await lab.pings()).toBe(true);
    // The encrypted packets came to the peer from A's veth address: outside the tunnel.
    const [peer] = (await wgDump(lab.nsB, lab.peer.iface)).peers;
    expect(peer!.endpoint).toBe('192.0.2.1:51820');
    expect(peer!.rx).toBeGreaterThan(0);
    expect(await burrowd.stop()).toBe(0);
    expect(await rules(lab.nsA)).toEqual([]);
  }, 60_000);
});

describe.skipIf(!isRoot())('burrowd --wg-config: a full tunnel keeps the LAN, as wg-quick’s', () => {
  it.each([['debian'], ['modern']] as const)(
    'AllowedIPs = 0.0.0.0/0, ::/0 against %s wireguard-go: a LAN host is reached directly, an address only the default route carried goes through the tunnel; rules 5260/5265 follow wg set',
    async (build) => {
      // A's LAN is the veth (192.0.2.0/24, B at .2); main's default route goes through B, which also
      // has an address beyond it (198.51.100.2) that only that default route leads to.
      const lab = await standaloneLab({ build, allowedIps: ['0.0.0.0/0', '::/0'] });
      await lab.nsB.exec('ip', ['address', 'add', '198.51.100.2/32', 'dev', 'lo']);
      await lab.nsA.exec('ip', ['route', 'add', 'default', 'via', '192.0.2.2']);
      const burrowd = await lab.start();
      const fullTunnelRules = async () =>
        (await rules(lab.nsA)).filter((r) => /^526[05]:/.test(r)).map((r) => r.replace(/\s+/g, ' '));
      const both = [
        '5260: from all lookup 52 suppress_prefixlength 0',
        '5265: from all lookup main suppress_prefixlength 0',
      ];
      expect(await fullTunnelRules()).toEqual([...both, ...both]); // IPv4, then IPv6
      const dev = async (to: string) =>
        /dev (\S+)/.exec((await lab.nsA.exec('ip', ['-4', 'route', 'get', to])).stdout)?.[1];
      /** What B's wireguard-go has received from A through the tunnel, in bytes. */
      const received = async () => (await wgDump(lab.nsB, lab.peer.iface)).peers[0]!.rx;
      const ping = (to: string) =>
        lab.nsA.exec('ping', ['-c', '5', '-i', '0.2', '-W', '3', '-s', '1000', to], { timeout: 20_000 });

      // Beyond the default route: through the tunnel (B sees the pings arrive in it).
      expect(await dev('198.51.100.2')).toBe(lab.iface);
      await ping('198.51.100.2');
      const afterTunnel = await received();
      expect(afterTunnel).toBeGreaterThan(5 * 1000);
      // The LAN: directly, outside the tunnel (nothing more arrives through it).
      expect(await dev('192.0.2.2')).toBe(lab.aDev);
      await ping('192.0.2.2');
      expect(await received()).toBe(afterTunnel);
      expect(await lab.pings()).toBe(true); // and the peer's tunnel address, as before

      // The rules go when `wg set` takes the default routes away, and come back with them.
      const setAllowed = (ips: string) =>
        lab.nsA.exec('wg', ['set', lab.iface, 'peer', lab.keys.b.publicKey, 'allowed-ips', ips]);
      await setAllowed('10.9.0.2/32');
      expect(await fullTunnelRules()).toEqual([]);
      expect(await dev('198.51.100.2')).toBe(lab.aDev);
      await setAllowed('10.9.0.2/32,0.0.0.0/0');
      expect(await fullTunnelRules()).toEqual(both);
      expect(await dev('198.51.100.2')).toBe(lab.iface);
      expect(await dev('192.0.2.2')).toBe(lab.aDev);

      expect(await burrowd.stop()).toBe(0);
      expect(await rules(lab.nsA)).toEqual([]);
    },
    60_000,
  );
});
