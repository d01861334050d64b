import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, isRoot, Netns } from '../../test/support/netns.js';
import { IpCommandError, type IpRunner, runIp } from './ip-command.js';
import { burrowLayout, LinuxRouting, removeStaleRouting } from './linux-routing.js';

afterEach(cleanupAll);

async function setup() {
  const ns = await Netns.create('rt');
  const ip: IpRunner = (args, input) => runIp(['-n', ns.name, ...args], input);
  // A persistent TUN stands in for burrowd's (this kernel has no dummy driver); it dies with the namespace.
  await ip(['tuntap', 'add', 'dev', 'bw0', 'mode', 'tun']);
  return { ns, ip, routing: new LinuxRouting('bw0', ip) };
}

const rules = async (ip: IpRunner, fam: '-4' | '-6') =>
  (await ip([fam, 'rule', 'show'])).split('\n').filter((l) => /^52[1-7]0:/.test(l));
const table = async (ip: IpRunner, fam: '-4' | '-6') =>
  // A table that never had a route does not exist: empty.
  (await ip([fam, 'route', 'show', 'table', '52']).catch(() => ''))
    .split('\n')
    // No process holds the stand-in TUN open, so the kernel marks its routes linkdown.
    .map((l) => l.replace(' linkdown', '').trim())
    .filter(Boolean);

describe.skipIf(!isRoot())('Linux routing (table 52 and policy rules)', () => {
  it('installs addresses, table-52 routes and the four rules per family, and removes them all', async () => {
    const { ip, routing } = await setup();
    await routing.up({ name: 'bw0', mtu: 1420, addresses: ['100.64.0.1/32', 'fd7a:115c:a1e0::1/128'] });
    await routing.setRoutes(['100.64.0.2/32', '10.10.0.0/16', 'fd7a:115c:a1e0::2/128']);
    const link = await ip(['address', 'show', 'dev', 'bw0']);
    expect(link).toContain('mtu 1420');
    expect(link).toContain('100.64.0.1/32');
    expect(link).toContain('fd7a:115c:a1e0::1/128');
    for (const fam of ['-4', '-6'] as const) {
      const r = await rules(ip, fam);
      expect(r).toHaveLength(4);
      expect(r[0]).toMatch(/^5210:.*fwmark 0x80000\/0xff0000 lookup main/);
      expect(r[1]).toMatch(/^5230:.*fwmark 0x80000\/0xff0000 lookup default/);
      expect(r[2]).toMatch(/^5250:.*fwmark 0x80000\/0xff0000 unreachable/);
      expect(r[3]).toMatch(/^5270:.*lookup 52/);
    }
    expect(await table(ip, '-4')).toEqual([
      '10.10.0.0/16 dev bw0 scope link',
      '100.64.0.2 dev bw0 scope link',
    ]);
    expect((await table(ip, '-6')).join('\n')).toContain('fd7a:115c:a1e0::2 dev bw0');
    // Main stays untouched by peer routes.
    expect(await ip(['-4', 'route', 'show'])).not.toContain('10.10.0.0/16');

    await routing.setRoutes(['100.64.0.2/32']);
    expect(await table(ip, '-4')).toEqual(['100.64.0.2 dev bw0 scope link']);
    expect(await table(ip, '-6')).toEqual([]);

    await routing.down();
    expect(await rules(ip, '-4')).toEqual([]);
    expect(await rules(ip, '-6')).toEqual([]);
    expect(await table(ip, '-4')).toEqual([]);
  });

  it('a failed route change takes back what it added and keeps the old routes', async () => {
    const { routing, ip } = await setup();
    await routing.up({ name: 'bw0', mtu: 1420, addresses: ['100.64.0.1/32'] });
    await routing.setRoutes(['100.64.0.2/32']);
    await expect(routing.setRoutes(['100.64.0.2/32', '100.64.0.3/32', '300.1.1.1/32'])).rejects.toThrow(
      /300\.1\.1\.1/,
    );
    expect(await table(ip, '-4')).toEqual(['100.64.0.2 dev bw0 scope link']);
  });

  it('a prefix that is not one word is refused whole: it cannot smuggle another ip command in', async () => {
    const { routing, ip } = await setup();
    await routing.up({ name: 'bw0', mtu: 1420, addresses: ['100.64.0.1/32'] });
    // ip -batch reads lines of blank-separated words: either would add a second command.
    for (const route of ['10.1.0.0/16\nrule del priority 5270 table 52', '10.2.0.0/16 table 1'])
      await expect(routing.setRoutes(['100.64.0.2/32', route])).rejects.toThrow(/refused the word/);
    expect(await ip(['-4', 'route', 'show', 'table', 'all'])).not.toMatch(/10\.[12]\.0\.0|100\.64\.0\.2/);
    expect(await rules(ip, '-4')).toHaveLength(4);
  });

  it('up gives table 52 its first routes at once; a failed up leaves nothing behind', async () => {
    const { routing, ip } = await setup();
    const addresses = ['100.64.0.1/32', 'fd7a:115c:a1e0::1/128'];
    await routing.up(
      { name: 'bw0', mtu: 1420, addresses },
      ['100.64.0.2/32', 'fd7a:115c:a1e0::2/128'],
      ['10.0.0.0/8'],
    );
    expect(await table(ip, '-4')).toEqual(['throw 10.0.0.0/8', '100.64.0.2 dev bw0 scope link']);
    expect((await table(ip, '-6')).join('\n')).toContain('fd7a:115c:a1e0::2 dev bw0');
    await routing.down();

    // Another interface, as down leaves addresses (they go with the TUN).
    const other = await setup();
    await expect(
      other.routing.up({ name: 'bw0', mtu: 1420, addresses: ['100.64.0.1/32', 'not-an-address'] }, [
        '100.64.0.2/32',
      ]),
    ).rejects.toThrow(/not-an-address/);
    expect(await rules(other.ip, '-4')).toEqual([]);
    expect(await rules(other.ip, '-6')).toEqual([]);
    expect(await table(other.ip, '-4')).toEqual([]);
  });

  it('stops managing routes once the interface has moved to another namespace, and says so', async () => {
    const { ip } = await setup();
    const said: string[] = [];
    const routing = new LinuxRouting('bw0', ip, (message) => said.push(message));
    await routing.up({ name: 'bw0', mtu: 1420, addresses: ['100.64.0.1/32'] }, ['100.64.0.2/32']);
    const elsewhere = await Netns.create('rt');
    await ip(['link', 'set', 'bw0', 'netns', elsewhere.name]);
    // An interface of the same name made here afterwards is not ours to route to.
    await ip(['tuntap', 'add', 'dev', 'bw0', 'mode', 'tun']);
    await ip(['link', 'set', 'bw0', 'up']);

    await routing.setRoutes(['100.64.0.2/32', '10.10.0.0/16']);
    await routing.addRoutes(['10.11.0.0/16']);
    expect(said).toEqual([expect.stringMatching(/^bw0 is no longer in this network namespace/)]);
    expect(await table(ip, '-4')).toEqual([]);
    expect(await elsewhere.exec('ip', ['-4', 'route', 'show', 'table', 'all', 'dev', 'bw0'])).toMatchObject({
      stdout: expect.not.stringMatching(/10\.1[01]\.0\.0/),
    });
    await routing.down();
    expect(await rules(ip, '-4')).toEqual([]);
    expect(await rules(ip, '-6')).toEqual([]);
  });

  it('renames the interface once it is up, with its addresses, rules and routes', async () => {
    const { ip } = await setup();
    // Kernels before 6.2 refuse to rename a link that is up; this one does not, so the refusal is
    // played once, as ip reports it, to take the way around it.
    let refused = 0;
    const oldKernelIp: IpRunner = async (args, input) => {
      if (args.includes('name') && refused++ === 0) {
        throw new IpCommandError(args, 'RTNETLINK answers: Device or resource busy');
      }
      return ip(args, input);
    };
    for (const [runner, name] of [
      [ip, 'bwfinal'],
      [oldKernelIp, 'bwolder'],
    ] as const) {
      const before = name === 'bwfinal' ? 'bw0' : 'bwfinal';
      const routing = new LinuxRouting(before, runner);
      await routing.up({ name: before, mtu: 1420, addresses: ['100.64.0.1/32', 'fd7a::1/128'] }, [
        '100.64.0.2/32',
        'fd7a::2/128',
      ]);
      await routing.rename(name);
      const link = await ip(['address', 'show', 'dev', name]);
      expect(link).toMatch(/<[^>]*\bUP\b/);
      expect(link).toContain('100.64.0.1/32');
      expect(link).toContain('fd7a::1/128');
      expect(await table(ip, '-4')).toEqual([`100.64.0.2 dev ${name} scope link`]);
      expect((await table(ip, '-6')).join('\n')).toContain(`fd7a::2 dev ${name}`);
      expect(await rules(ip, '-4')).toHaveLength(4);
      // What comes after the rename names the new interface.
      await routing.setRoutes(['100.64.0.3/32']);
      expect(await table(ip, '-4')).toEqual([`100.64.0.3 dev ${name} scope link`]);
      await routing.down();
      expect(await rules(ip, '-4')).toEqual([]);
      await ip(['address', 'flush', 'dev', name]); // down leaves them: they go with the TUN
    }
    expect(refused).toBeGreaterThan(0);
  });

  it('a table of the user’s gets the routes and no rule; without a table, nothing is routed', async () => {
    const { ip } = await setup();
    const routing = new LinuxRouting('bw0', ip, () => {}, { table: '1234', rules: null });
    await routing.up({ name: 'bw0', mtu: 1420, addresses: ['100.64.0.1/32'] }, ['100.64.0.2/32']);
    await routing.setRoutes(['100.64.0.2/32', '10.10.0.0/16']);
    expect(await rules(ip, '-4')).toEqual([]);
    expect(await table(ip, '-4')).toEqual([]);
    const user = async () =>
      (await ip(['-4', 'route', 'show', 'table', '1234']))
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
    expect(await user()).toEqual([
      '10.10.0.0/16 dev bw0 scope link linkdown',
      '100.64.0.2 dev bw0 scope link linkdown',
    ]);
    // Added, not replaced: a route of the user's for the same prefix is refused, and kept.
    await ip(['-4', 'route', 'add', 'unreachable', '10.20.0.0/16', 'table', '1234']);
    await expect(routing.addRoutes(['10.20.0.0/16'])).rejects.toThrow(/File exists/);
    expect(await user()).toContain('unreachable 10.20.0.0/16');
    await routing.down();
    expect(await user()).toEqual(['unreachable 10.20.0.0/16']);

    const off = new LinuxRouting('bw0', ip, () => {}, { table: null, rules: null });
    await off.up({ name: 'bw0', mtu: 1400, addresses: ['100.64.0.3/32'] }, ['100.64.0.2/32']);
    await off.setRoutes(['10.10.0.0/16']);
    expect(await ip(['-4', 'route', 'show', 'table', 'all', 'dev', 'bw0'])).not.toMatch(/^(10|100)\./m);
    expect(await rules(ip, '-4')).toEqual([]);
    expect(await ip(['link', 'show', 'bw0'])).toContain('mtu 1400');
  });

  it('bypass rules match the mark given, and follow a new one', async () => {
    const { ip } = await setup();
    const routing = new LinuxRouting('bw0', ip, () => {}, burrowLayout({ mark: 0x1234, mask: 0xffffffff }));
    await routing.up({ name: 'bw0', mtu: 1420, addresses: ['100.64.0.1/32'] }, ['0.0.0.0/0']);
    for (const fam of ['-4', '-6'] as const) {
      const r = await rules(ip, fam);
      expect(r.slice(0, 3).every((line) => line.includes('fwmark 0x1234 '))).toBe(true);
      expect(r[3]).toMatch(/^5270:.*lookup 52/);
    }
    await routing.setBypassMark({ mark: 0x99, mask: 0xffffffff });
    const r = await rules(ip, '-4');
    expect(r).toHaveLength(4);
    expect(r.slice(0, 3).every((line) => line.includes('fwmark 0x99 '))).toBe(true);
    await routing.down();
    expect(await rules(ip, '-4')).toEqual([]);
    expect(await rules(ip, '-6')).toEqual([]);
  });

  it('a full tunnel (a default route in table 52) keeps main’s other routes: rules 5260 and 5265 per family, while it lasts', async () => {
    const { ip } = await setup();
    // The LAN: a veth with 192.168.1.1/24, and main's default route through a router on it.
    await ip(['link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1']);
    await ip(['address', 'add', '192.168.1.1/24', 'dev', 'lan0']);
    await ip(['link', 'set', 'lan0', 'up']);
    await ip(['link', 'set', 'lan1', 'up']);
    await ip(['route', 'add', 'default', 'via', '192.168.1.254']);
    const fullTunnelRules = async (fam: '-4' | '-6') =>
      (await ip([fam, 'rule', 'show'])).split('\n').filter((l) => /^526[05]:/.test(l));
    const via = async (...args: string[]) => /dev (\S+)/.exec(await ip(['-4', 'route', 'get', ...args]))?.[1];

    const routing = new LinuxRouting('bw0', ip, () => {}, { ...burrowLayout(), fullTunnel: true });
    await routing.up({ name: 'bw0', mtu: 1420, addresses: ['100.64.0.1/32'] }, ['100.64.0.2/32']);
    expect(await fullTunnelRules('-4')).toEqual([]);
    expect(await via('203.0.113.9')).toBe('lan0');

    // A peer takes 0.0.0.0/0, and a prefix inside the LAN.
    await routing.addRoutes(['0.0.0.0/0', '192.168.1.128/25']);
    expect(await fullTunnelRules('-4')).toEqual([
      '5260:\tfrom all lookup 52 suppress_prefixlength 0',
      '5265:\tfrom all lookup main suppress_prefixlength 0',
    ]);
    expect(await fullTunnelRules('-6')).toEqual([]);
    expect(await via('203.0.113.9')).toBe('bw0'); // what main's default route carried
    expect(await via('192.168.1.7')).toBe('lan0'); // the LAN, directly
    expect(await via('192.168.1.130')).toBe('bw0'); // a peer prefix, as before the default route
    expect(await via('100.64.0.2')).toBe('bw0');
    expect(await via('203.0.113.9', 'mark', '0x80000')).toBe('lan0'); // burrowd's own packets

    await routing.setRoutes(['100.64.0.2/32', '::/0']);
    expect(await fullTunnelRules('-4')).toEqual([]);
    expect(await fullTunnelRules('-6')).toHaveLength(2);
    expect(await via('203.0.113.9')).toBe('lan0');
    await routing.setRoutes(['0.0.0.0/0']);
    expect(await fullTunnelRules('-4')).toHaveLength(2);
    expect(await fullTunnelRules('-6')).toEqual([]);
    await routing.down();
    expect(await fullTunnelRules('-4')).toEqual([]);
    expect(await rules(ip, '-4')).toEqual([]);

    // Up with a default route at once; a killed instance's rules go with the stale cleanup.
    const crashed = new LinuxRouting('bw0', ip, () => {}, { ...burrowLayout(), fullTunnel: true });
    await crashed.up({ name: 'bw0', mtu: 1420, addresses: [] }, ['0.0.0.0/0', '::/0']);
    expect(await fullTunnelRules('-4')).toHaveLength(2);
    expect(await fullTunnelRules('-6')).toHaveLength(2);
    await removeStaleRouting(ip);
    expect(await fullTunnelRules('-4')).toEqual([]);
    expect(await fullTunnelRules('-6')).toEqual([]);

    // Burrow's layout without it (the mesh: its exit nodes have their own way) adds none.
    const mesh = new LinuxRouting('bw0', ip);
    await mesh.up({ name: 'bw0', mtu: 1420, addresses: [] }, ['0.0.0.0/0']);
    expect(await fullTunnelRules('-4')).toEqual([]);
    expect(await via('192.168.1.7')).toBe('bw0');
    await mesh.down();
  });

  it('removeStale clears what a killed instance left, and nothing else', async () => {
    const { ip } = await setup();
    const crashed = new LinuxRouting('bw0', ip);
    await crashed.up({ name: 'bw0', mtu: 1420, addresses: ['100.64.0.1/32'] });
    await crashed.setRoutes(['100.64.0.2/32']);
    await ip(['-4', 'rule', 'add', 'priority', '5300', 'table', 'main']); // someone else's rule
    // A new instance starts without knowing what the old one added.
    await removeStaleRouting(ip);
    expect(await rules(ip, '-4')).toEqual([]);
    expect(await rules(ip, '-6')).toEqual([]);
    expect(await table(ip, '-4')).toEqual([]);
    expect(await ip(['-4', 'rule', 'show'])).toContain('5300:');
  });
});
