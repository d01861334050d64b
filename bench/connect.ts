/**
 * bench:connect — how long from `burrow up` until a peer answers, in the end-to-end topology
 * (namespaces on one LAN, the real burrow-server, real burrowd processes, the burrow CLI). Needs root.
 *
 * Measured BENCH_ROUNDS times each (medians printed):
 * - first up: a new device runs `burrow up --auth-key` (registration, full map, routes, handshake)
 *   until its first ping to a peer comes back;
 * - up again: the same device after `burrow down` (known to the server, no login);
 * - the peer's figure: wireguard-go with a static configuration, from `wg setconf` until the first
 *   reply (a bare WireGuard handshake, nothing to learn from a server), in the same namespaces.
 */
import { performance } from 'node:perf_hooks';
import { MeshLab } from '../test/support/mesh-lab.js';
import { cleanupAll, link, Netns } from '../test/support/netns.js';
import { genKeyPair, startWireguardGo } from '../test/support/wg-peers.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Pings `ip` from `ns` until a reply, returning when it came (ms, performance clock). */
async function firstReply(ns: Netns, ip: string, deadlineMs = 30_000): Promise<number> {
  const deadline = performance.now() + deadlineMs;
  while (performance.now() < deadline) {
    const ok = await ns.exec('ping', ['-c', '1', '-W', '0.05', ip]).then(
      () => true,
      () => false,
    );
    if (ok) return performance.now();
  }
  throw new Error(`no reply from ${ip} within ${deadlineMs} ms`);
}

async function burrowFigures(): Promise<{ first: number[]; again: number[] }> {
  const lab = await MeshLab.create();
  const first: number[] = [];
  const again: number[] = [];
  try {
    await lab.admin('users', 'create', 'alice');
    await lab.startServer();
    const peer = await lab.device('peer');
    const key = () => lab.admin('authkeys', 'create', '--user', 'alice');
    await peer.burrow('up', '--login-server', lab.serverUrl, '--auth-key', await key(), '--hostname', 'peer');
    const peerIp = (await peer.status()).self!.ips[0]!;
    for (let r = 0; r < ROUNDS; r++) {
      const device = await lab.device(`n${r}`);
      const authKey = await key();
      const t0 = performance.now();
      const up = device.burrow(
        'up',
        '--login-server',
        lab.serverUrl,
        '--auth-key',
        authKey,
        '--hostname',
        `n${r}`,
      );
      first.push((await firstReply(device.ns, peerIp)) - t0);
      if ((await up).code !== 0) throw new Error(`burrow up failed: ${(await up).stderr}`);
      await device.burrow('down');
      const t1 = performance.now();
      await device.burrow('up');
      again.push((await firstReply(device.ns, peerIp)) - t1);
      console.log(
        `  round ${r + 1}: first up ${first.at(-1)!.toFixed(0)} ms, up again ${again.at(-1)!.toFixed(0)} ms`,
      );
    }
  } finally {
    await lab.destroy();
    await cleanupAll();
  }
  return { first, again };
}

async function wireguardGoFigures(): Promise<number[]> {
  const out: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const nsA = await Netns.create('bca');
    const nsB = await Netns.create('bcb');
    try {
      await link(nsA, ['192.0.2.1/24'], nsB, ['192.0.2.2/24']);
      const a = await genKeyPair();
      const b = await genKeyPair();
      await startWireguardGo(nsB, {
        privateKey: b.privateKey,
        listenPort: 51822,
        addresses: ['10.9.0.2/24'],
        peers: [{ publicKey: a.publicKey, allowedIps: ['10.9.0.1/32'] }],
      });
      const t0 = performance.now();
      await startWireguardGo(nsA, {
        privateKey: a.privateKey,
        listenPort: 51821,
        addresses: ['10.9.0.1/24'],
        peers: [{ publicKey: b.publicKey, endpoint: '192.0.2.2:51822', allowedIps: ['10.9.0.2/32'] }],
      });
      out.push((await firstReply(nsA, '10.9.0.2')) - t0);
    } finally {
      await cleanupAll();
    }
  }
  return out;
}

async function main(): Promise<void> {
  const burrow = await burrowFigures();
  const wg = await wireguardGoFigures();
  const [first, again, bare] = [median(burrow.first), median(burrow.again), median(wg)];
  console.log(
    `burrow up -> first reply (new device, registration + map + handshake): median ${first.toFixed(0)} ms`,
  );
  console.log(`burrow up -> first reply (known device, after down): median ${again.toFixed(0)} ms`);
  console.log(`wireguard-go, static config -> first reply: median ${bare.toFixed(0)} ms`);
  console.log(
    `connect: first_up_ms=${first.toFixed(0)} up_again_ms=${again.toFixed(0)} wireguard_go_ms=${bare.toFixed(0)} ratio_first=${(first / bare).toFixed(2)} ratio_again=${(again / bare).toFixed(2)}`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
