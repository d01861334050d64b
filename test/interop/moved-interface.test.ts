/**
 * burrowd's standalone interface used as WireGuard's container pattern documents it: created in
 * one namespace (where burrowd and its UDP socket stay), then moved with `ip link set IFACE netns`
 * into another, where it is given its addresses and carries that namespace's traffic; `wg` keeps
 * configuring it through the UAPI socket. And a `wg set` is all or nothing: one that burrowd cannot
 * carry out in full changes nothing, and says so. Peers: Debian's wireguard-go and the modern one
 * (support/wg-pair.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, isRoot, Netns } from '../support/netns.js';
import { wgPair } from '../support/wg-pair.js';
import { genKeyPair, wgDump } from '../support/wg-peers.js';

afterEach(cleanupAll, 60_000);

/** `wg` run from `ns` (the UAPI socket is a file: any namespace reaches it); never rejects. */
async function wg(ns: Netns, args: string[]): Promise<{ ok: boolean; stderr: string }> {
  try {
    const { stderr } = await ns.exec('wg', args);
    return { ok: true, stderr };
  } catch (error) {
    return { ok: false, stderr: (error as Error).message };
  }
}

async function ping(ns: Netns, target: string): Promise<void> {
  const v6 = target.includes(':') ? ['-6'] : [];
  await ns.exec('ping', [...v6, '-c', '3', '-i', '0.2', '-W', '5', target], { timeout: 30_000 });
}

/** What burrowd added to a namespace's routing: its rules (5210-5270) and table 52. */
async function routingOf(ns: Netns) {
  const show = async (args: string[]) =>
    (await ns.exec('ip', ['-4', ...args])).stdout + (await ns.exec('ip', ['-6', ...args])).stdout;
  const rules = (await show(['rule', 'show'])).split('\n').filter((l) => /^52[1-7]0:/.test(l));
  return { rules, table: (await show(['route', 'show', 'table', '52'])).trim() };
}

/** The configuration `wg show dump` reports, without what traffic changes (handshake, counters). */
async function config(ns: Netns, iface: string) {
  const dump = await wgDump(ns, iface);
  return {
    ...dump,
    peers: dump.peers.map(({ latestHandshake: _h, rx: _r, tx: _t, ...rest }) => rest),
  };
}

describe.skipIf(!isRoot()).each(['wireguard-go', 'wireguard-go-modern'] as const)(
  'burrowd standalone: an interface moved to another namespace (peer: %s)',
  (peer) => {
    it('is reconfigured with wg set after the move, carries the new namespace’s traffic, and stops cleanly', async () => {
      const t = await wgPair({ a: 'burrowd', b: peer });
      const iface = t.a.iface;
      const container = await Netns.create('wpc');
      await t.nsA.exec('ip', ['link', 'set', iface, 'netns', container.name]);
      // The container configures its end, as after `ip link set ... netns` with the kernel's module.
      await container.exec('ip', ['address', 'add', '10.9.0.1/24', 'dev', iface]);
      await container.exec('ip', ['link', 'set', iface, 'up']);

      // Each answer is the truth: success, and the change is there.
      const add = await wg(t.nsA, [
        'set',
        iface,
        'peer',
        t.keys.b.publicKey,
        'allowed-ips',
        '10.9.0.2/32,fd09::2/128,10.77.0.0/24',
      ]);
      expect(add, t.a.output()).toEqual({ ok: true, stderr: '' });
      expect((await wgDump(t.nsA, iface)).peers[0]!.allowedIps).toContain('10.77.0.0/24');
      const other = await genKeyPair();
      expect(await wg(t.nsA, ['set', iface, 'peer', other.publicKey, 'allowed-ips', '10.78.0.0/24'])).toEqual(
        {
          ok: true,
          stderr: '',
        },
      );
      expect(await wg(t.nsA, ['set', iface, 'peer', other.publicKey, 'remove'])).toEqual({
        ok: true,
        stderr: '',
      });
      expect((await wgDump(t.nsA, iface)).peers.map((p) => p.publicKey)).toEqual([t.keys.b.publicKey]);
      // burrowd says why it no longer routes for the interface, and touches nothing it cannot see.
      expect(t.a.output()).toMatch(new RegExp(`${iface} .*another network namespace`));
      expect((await routingOf(t.nsA)).table).toBe('');

      // Traffic from the container, through burrowd's socket in A, to the peer and back.
      await ping(container, '10.9.0.2');
      await ping(t.nsB, '10.9.0.1');

      expect(await t.a.stop()).toBe(0);
      expect(await routingOf(t.nsA)).toEqual({ rules: [], table: '' });
    });
  },
);

describe.skipIf(!isRoot())('burrowd standalone: a wg set it cannot carry out in full', () => {
  it('is refused and changes nothing (IPv6 disabled on the interface: no route for an IPv6 prefix)', async () => {
    const t = await wgPair({ a: 'burrowd', b: 'wireguard-go' });
    const iface = t.a.iface;
    await t.nsA.exec('sysctl', ['-qw', `net.ipv6.conf.${iface}.disable_ipv6=1`]);
    const before = await config(t.nsA, iface);
    const routesBefore = await routingOf(t.nsA);

    // An existing peer: new endpoint, keepalive and prefixes, one of which cannot be routed.
    const changed = await wg(t.nsA, [
      'set',
      iface,
      'listen-port',
      '51900',
      'peer',
      t.keys.b.publicKey,
      'endpoint',
      '192.0.2.2:9999',
      'persistent-keepalive',
      '25',
      'allowed-ips',
      '10.9.0.2/32,10.77.0.0/24,fd10::/64',
    ]);
    expect(changed.ok).toBe(false);
    // A new peer with such a prefix.
    const other = await genKeyPair();
    const added = await wg(t.nsA, ['set', iface, 'peer', other.publicKey, 'allowed-ips', 'fd11::/64']);
    expect(added.ok).toBe(false);

    expect(await config(t.nsA, iface)).toEqual(before);
    expect(await routingOf(t.nsA)).toEqual(routesBefore);
    expect(t.a.output()).toContain('IPv6 is disabled');
    // The interface works as before, and a set it can carry out still succeeds.
    await ping(t.nsA, '10.9.0.2');
    expect(await wg(t.nsA, ['set', iface, 'peer', other.publicKey, 'allowed-ips', '10.78.0.0/24'])).toEqual({
      ok: true,
      stderr: '',
    });
    expect((await routingOf(t.nsA)).table).toContain('10.78.0.0/24');
  });
});
