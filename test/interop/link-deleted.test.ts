/**
 * `ip link del IFACE` under a running burrowd, as a WireGuard user tears an interface down: burrowd
 * must notice, remove everything it added (policy rules, table 52, the UAPI socket) and exit 0, as
 * wireguard-go does, also while traffic flows through the native fast path.
 */
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, type Netns, waitFor } from '../support/netns.js';
import { wgPair } from '../support/wg-pair.js';
import type { RunningPeer } from '../support/wg-peers.js';

afterEach(cleanupAll, 60_000);

/** What is left in `ns` of burrowd's routing: its rules (priorities 5210-5270) and table 52. */
async function leftovers(ns: Netns): Promise<string[]> {
  const left: string[] = [];
  for (const family of ['-4', '-6']) {
    const rules = (await ns.exec('ip', [family, 'rule', 'show'])).stdout;
    left.push(...rules.split('\n').filter((line) => /^52[0-9]{2}:/.test(line)));
    const table = (await ns.exec('ip', [family, 'route', 'show', 'table', '52'])).stdout.trim();
    if (table !== '') left.push(`table 52 (${family}): ${table}`);
  }
  return left;
}

function exitOf(peer: RunningPeer): Promise<number | null> {
  const child = peer.process;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe.each([
  ['with the native fast path', {}],
  ['without the fast path', { BURROW_FAST_PATH: '0' }],
])('ip link del under burrowd %s', (_, env: Record<string, string>) => {
  it('exits 0 within seconds and leaves no rule, route or socket behind', async () => {
    const t = await wgPair({ a: 'burrowd', b: 'wireguard-go', envA: env });
    const iface = t.a.iface;
    expect(await leftovers(t.nsA)).not.toEqual([]);
    // Traffic both ways through the tunnel while the link goes.
    const ping = t.nsB.spawn('ping', ['-i', '0.01', '-s', '1000', '10.9.0.1']);
    let replies = 0;
    ping.stdout?.on('data', (chunk: Buffer) => {
      replies += chunk.toString().split('bytes from').length - 1;
    });
    await waitFor('pings through the tunnel', async () => replies >= 20, 15_000);

    const exited = exitOf(t.a);
    await t.nsA.exec('ip', ['link', 'del', iface]);
    const code = await Promise.race([
      exited,
      new Promise<string>((resolve) => setTimeout(() => resolve('still running after 5 s'), 5000)),
    ]);
    expect(code, t.a.output()).toBe(0);
    expect(t.a.output()).not.toMatch(/EBADFD|Error:/);
    expect(await leftovers(t.nsA)).toEqual([]);
    expect(existsSync(`/var/run/wireguard/${iface}.sock`)).toBe(false);
    ping.kill();
  }, 60_000);
});
