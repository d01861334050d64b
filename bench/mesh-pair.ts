/**
 * bench:datapath's mesh pair: two burrowd in mesh mode (test/support/mesh-lab.ts: a real
 * burrow-server with its relay, both devices on the lab LAN, one user's network, so the server's
 * default policy lets them reach each other) with the packet filter on, measured once their path is
 * direct. Shaped like wgPair's topology, so that bench/datapath.ts measures it the same way; the
 * differences are the mesh's: MTU 1280, 100.x addresses, and a bridge between the two veths.
 */
import type { ChildProcess } from 'node:child_process';
import { MeshLab } from '../test/support/mesh-lab.js';
import { type Netns, waitFor } from '../test/support/netns.js';

export interface Topology {
  nsA: Netns;
  nsB: Netns;
  a: { iface: string; process: ChildProcess };
  b: { iface: string; process: ChildProcess };
  /** The interfaces A and B reach each other on (outside the tunnel). */
  veth: { a: string; b: string };
  /** B's address inside the tunnel: what A's iperf3 connects to. */
  target: string;
  /** Whatever must go besides the namespaces (cleanupAll removes those). */
  close(): Promise<void>;
}

/** The device's interface that holds `ip`. */
async function interfaceOf(ns: Netns, ip: string): Promise<string> {
  const { stdout } = await ns.exec('ip', ['-o', '-4', 'addr', 'show']);
  const line = stdout.split('\n').find((l) => l.includes(` ${ip}/`));
  const name = line?.split(/\s+/)[1];
  if (name === undefined) throw new Error(`no interface holds ${ip}`);
  return name;
}

export async function meshPair(): Promise<Topology> {
  const lab = await MeshLab.create();
  try {
    await lab.admin('users', 'create', 'bench', '--network', 'bench');
    await lab.startServer();
    const A = await lab.device('a');
    const B = await lab.device('b');
    for (const d of [A, B]) await lab.join(d, 'bench');
    await waitFor(
      'A and B to see each other',
      async () => (await Promise.all([A, B].map((d) => d.status()))).every((s) => s.peers.length === 1),
      30_000,
    );
    const target = (await B.status()).self!.ips[0]!;
    const aIp = (await A.status()).self!.ips[0]!;
    await waitFor(
      'a direct path both ways',
      async () => {
        await A.ns.exec('ping', ['-c', '1', '-W', '1', target]).catch(() => null);
        await B.ns.exec('ping', ['-c', '1', '-W', '1', aIp]).catch(() => null);
        const [a, b] = await Promise.all([A.status(), B.status()]);
        return a.peers[0]!.path === 'direct' && b.peers[0]!.path === 'direct';
      },
      30_000,
    );
    return {
      nsA: A.ns,
      nsB: B.ns,
      a: { iface: 'burrow0', process: A.process },
      b: { iface: 'burrow0', process: B.process },
      veth: { a: await interfaceOf(A.ns, A.lanIp), b: await interfaceOf(B.ns, B.lanIp) },
      target,
      close: () => lab.destroy(),
    };
  } catch (error) {
    await lab.destroy();
    throw error;
  }
}
