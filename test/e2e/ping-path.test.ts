/**
 * `burrow ping` reports the way each reply came, between real processes: burrow-server (with its
 * relay) and two burrowd on the lab LAN, A and B, where B's firewall drops every UDP datagram from
 * A. The direct path works one way only: A's packets reach B through the relay, while B's reach A
 * directly as well as through the relay (B never hears back from A directly, so it sends both ways).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabDevice, MeshLab, type StatusJson } from '../support/mesh-lab.js';
import { cleanupAll, isRoot, waitFor } from '../support/netns.js';

const T = 60_000;
const REGION = 'burrow-server';

describe.skipIf(!isRoot())('burrow ping, end to end', () => {
  let lab: MeshLab;
  let A: LabDevice;
  let B: LabDevice;
  const pongLines = async (from: LabDevice, to: string, count: number) => {
    const r = await from.burrow('ping', to, '-c', String(count));
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim().split('\n');
  };

  beforeAll(async () => {
    lab = await MeshLab.create();
    await lab.admin('users', 'create', 'alice', '--network', 'home');
    await lab.startServer();
    A = await lab.device('a');
    B = await lab.device('b');
    // Before any packet: no direct path may be trusted from an earlier exchange.
    await B.ns.exec('nft', ['-f', '-'], {
      input: `table inet oneway {
  chain input {
    type filter hook input priority filter; policy accept;
    ip saddr ${A.lanIp} meta l4proto udp drop
  }
}
`,
    });
    for (const d of [A, B]) await lab.join(d, 'alice');
    await waitFor(
      'A and B to see each other',
      async () => (await Promise.all([A, B].map((d) => d.status()))).every((s) => s.peers.length === 1),
      20_000,
    );
  }, 120_000);

  afterAll(async () => {
    await lab?.destroy();
    await cleanupAll();
  }, 60_000);

  it(
    'says which way each reply came, not which way our packets go',
    async () => {
      const bDirect = new RegExp(`via ${B.lanIp.replace(/\./g, '\\.')}:\\d+ in \\d+ ms$`);
      const relayed = new RegExp(`via relay "${REGION}" in \\d+ ms$`);
      // B's replies come straight from B's address (the relay's copy comes later and is dropped
      // as a replay), though A's own packets to B go through the relay.
      const fromB = await pongLines(A, 'b', 3);
      expect(fromB).toHaveLength(3);
      for (const line of fromB) expect(line).toMatch(new RegExp(`${bDirect.source}|${relayed.source}`));
      expect(fromB.filter((l) => bDirect.test(l)).length).toBeGreaterThan(0);
      const peer = (await A.status()).peers[0] as StatusJson['peers'][number] & { path: string };
      expect(peer.path).toBe('relay');
      const json = JSON.parse((await A.burrow('ping', 'b', '--json')).stdout);
      expect(json).toHaveLength(1);
      expect(json[0].path === 'relay' || json[0].endpoint.startsWith(`${B.lanIp}:`)).toBe(true);
      // A's replies to B cannot come directly: B hears them through the relay only.
      for (const line of await pongLines(B, 'a', 2)) expect(line).toMatch(relayed);
    },
    T,
  );
});
