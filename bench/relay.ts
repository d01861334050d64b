/**
 * bench:relay — the relay against the direct path, in the NAT lab (router namespaces with real
 * masquerade, the real burrow-server with its relay and STUN, one real burrowd per device). Needs
 * root and nft.
 *
 * - Throughput (iperf3 TCP, BENCH_SECONDS each): E1 -> H through the relay (H's outbound UDP is
 *   blocked), next to E1 -> E2 directly (both behind easy NATs), in the same run. The relay is
 *   measured with its per-device limits raised (its own capacity), then with the defaults (what a
 *   device gets from a stock server). With the relay's packets per frame (relay protocol version 2
 *   carries several WireGuard packets per sealed frame), from the server's metrics, and the CPU
 *   seconds each process spent per GB carried: on a shared machine these say more than the rates.
 * - Time to direct: BENCH_ROUNDS fresh pairs for each router kind; from the first packet one sends
 *   the other until the path is direct, as burrowd itself measures and logs it. The easy-NAT pair
 *   first, then a pair of bare masquerade routers (no inbound filter, issue 20), then a device behind a fully-random router whose miniupnpd maps its port by NAT-PMP, by
 *   PCP, and by UPnP (test/support/portmap-router.ts), each next to an easy-NAT peer, printed as a
 *   ratio to the easy-NAT median (BENCH_PORTMAP=0 leaves them out; they need miniupnpd).
 */
import { MeshLab, type NatDevice } from '../test/support/mesh-lab.js';
import { cleanupAll, waitFor } from '../test/support/netns.js';
import { hasMiniupnpd, type PortmapRouter, portmapRouter } from '../test/support/portmap-router.js';
import { cpuSeconds } from './process-usage.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const STUN_PORT = 3478;
const RAISED = {
  bytesPerSecond: 2 ** 34,
  byteBurst: 2 ** 30,
  packetsPerSecond: 10_000_000,
  packetBurst: 1_000_000,
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ipOf = async (d: NatDevice) => (await d.status()).self!.ips[0]!;

/** Gbit/s from `from` to `to`, and the CPU seconds per GB carried of each process in `watch`. */
async function iperf(
  from: NatDevice,
  to: NatDevice,
  watch: Record<string, number | undefined> = {},
): Promise<{ gbps: number; cpuPerGb: Record<string, number> }> {
  const ip = await ipOf(to);
  await from.ns.exec('ping', ['-c', '3', '-i', '0.2', '-W', '5', ip]);
  const server = to.ns.spawn('iperf3', ['-s', '-1', '-B', ip]);
  try {
    await new Promise((r) => setTimeout(r, 500));
    const pids = Object.entries(watch).filter((e): e is [string, number] => e[1] !== undefined);
    const before = pids.map(([, pid]) => cpuSeconds(pid));
    const { stdout } = await from.ns.exec('iperf3', ['-c', ip, '-t', String(SECONDS), '-J'], {
      timeout: 120_000,
    });
    const received = JSON.parse(stdout).end.sum_received;
    const gb = received.bytes / 1e9;
    const cpuPerGb = Object.fromEntries(
      pids.map(([name, pid], i) => [name, (cpuSeconds(pid) - before[i]!) / gb]),
    );
    return { gbps: received.bits_per_second / 1e9, cpuPerGb };
  } finally {
    server.kill();
  }
}

const perGb = (cpu: Record<string, number>) =>
  Object.entries(cpu)
    .map(([name, s]) => `${name} ${s.toFixed(2)}`)
    .join(', ');

async function pathOf(from: NatDevice, name: string): Promise<string> {
  const peer = (await from.status()).peers.find((p) => p.hostName === name) as unknown as { path: string };
  return peer.path;
}

async function main(): Promise<void> {
  const lab = await MeshLab.create();
  // The port-mapping rounds' miniupnpd instances: stopped (their temp dirs removed) after each round,
  // and in `finally` if a round throws midway.
  const routers: PortmapRouter[] = [];
  try {
    await lab.admin('users', 'create', 'alice');
    await lab.startServer({ stunPort: STUN_PORT, relayLimits: RAISED });
    const E1 = await lab.natDevice('e1', 'easy');
    const E2 = await lab.natDevice('e2', 'easy');
    const H = await lab.natDevice('h', 'udp-blocked');
    for (const d of [E1, E2, H]) await lab.join(d, 'alice');
    await waitFor(
      'the devices to see each other',
      async () => (await E1.status()).peers.length === 2,
      30_000,
    );

    const pid = (d: NatDevice) => d.process.pid;
    const { gbps: direct, cpuPerGb: directCpu } = await iperf(E1, E2, { sender: pid(E1), receiver: pid(E2) });
    if ((await pathOf(E1, 'e2')) !== 'direct') throw new Error('E1 -> E2 was not direct');
    const before = await lab.metrics();
    const { gbps: relay, cpuPerGb: relayCpu } = await iperf(E1, H, {
      sender: pid(E1),
      relay: lab.serverPid,
      receiver: pid(H),
    });
    if ((await pathOf(E1, 'h')) !== 'relay') throw new Error('E1 -> H was not relayed');
    const after = await lab.metrics();
    const counted = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    const perFrame = counted('burrow_relay_forwarded_packets') / counted('burrow_relay_forwarded_frames');
    await lab.stopServer();
    await lab.startServer({ stunPort: STUN_PORT });
    await waitFor(
      'relayed pings to work again',
      async () =>
        E1.ns.exec('ping', ['-c', '1', '-W', '1', await ipOf(H)]).then(
          () => true,
          () => false,
        ),
      30_000,
    );
    const { gbps: relayDefault } = await iperf(E1, H);

    /** Median ms from the first packet to a direct path over ROUNDS fresh pairs, `a` made by `make`. */
    const timeToDirect = async (
      kind: string,
      make: (name: string) => Promise<NatDevice>,
      makePeer: (name: string) => Promise<NatDevice> = (name) => lab.natDevice(name, 'easy'),
    ) => {
      const times: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const a = await make(`${kind.slice(0, 2)}a${r}`);
        const b = await makePeer(`${kind.slice(0, 2)}b${r}`);
        await lab.join(a, 'alice');
        await lab.join(b, 'alice');
        await waitFor(
          'the pair to see each other',
          async () => (await a.status()).peers.some((p) => p.hostName === b.name),
          30_000,
        );
        const target = await ipOf(b);
        void a.ns.exec('ping', ['-c', '50', '-i', '0.2', target]).catch(() => {});
        // Either side may be the first to see the path direct and log how long after its own first
        // packet: a toward b's router, or b toward a's (its mapped address, behind a port mapper).
        const escapeDots = (ip: string) => ip.replace(/\./g, '\\.');
        const aAddress = routers[0]?.externalIp() ?? a.publicIp;
        const afterFirst = (ip: string) => new RegExp(`direct via ${escapeDots(ip)}:\\d+ \\((\\d+) ms after`);
        const line = await waitFor(
          'the path to turn direct',
          async () =>
            afterFirst(b.publicIp).exec(a.output()) ??
            afterFirst(aAddress).exec(b.output()) ??
            // Direct before that side's first packet (the other side's probing found it): 0 ms.
            (new RegExp(`direct via ${escapeDots(b.publicIp)}:\\d+\\n`).test(a.output()) ? ['', '0'] : false),
          20_000,
          20,
        ).catch(() => null);
        // A pair that stays relayed is a figure too (the bar is missed), not the end of the run.
        times.push(line === null ? Number.POSITIVE_INFINITY : Number(line[1]));
        console.log(
          `  ${kind} round ${r + 1}: ${line === null ? 'not direct within 20 s' : `direct ${line[1]} ms after the first packet`}`,
        );
        if (line === null && process.env.BENCH_VERBOSE) console.log(a.output(), b.output());
        await a.burrow('down');
        await b.burrow('down');
        await a.stop();
        await b.stop();
        for (const router of routers.splice(0)) await router.stop();
      }
      return { ms: median(times), times };
    };
    const easy = await timeToDirect('easy', (name) => lab.natDevice(name, 'easy'));
    const toDirect = easy.times;
    // Bare masquerade (no inbound filter) on both sides: issue 20's first finding.
    const bare = await timeToDirect(
      'bare',
      (name) => lab.natDevice(name, 'bare'),
      (name) => lab.natDevice(name, 'bare'),
    );
    const mapped: Array<[string, { ms: number; times: number[] }]> = [];
    if (process.env.BENCH_PORTMAP !== '0' && hasMiniupnpd()) {
      const kinds: Array<[string, string, { natpmp: boolean; upnp: boolean }]> = [
        ['nat-pmp', 'nat-pmp', { natpmp: true, upnp: false }],
        ['pcp', 'pcp', { natpmp: true, upnp: false }],
        ['upnp', 'upnp', { natpmp: false, upnp: true }],
      ];
      for (const [kind, methods, services] of kinds)
        mapped.push([
          kind,
          await timeToDirect(kind, (name) =>
            lab.natDevice(name, 'symmetric', {
              env: { BURROW_PORTMAP: methods },
              router: portmapRouter(services, (router) => routers.push(router)),
            }),
          ),
        ]);
    }

    const fmt = (x: number) => x.toFixed(3);
    const ms = easy.ms;
    console.log(
      `bench:relay  iperf3 TCP ${SECONDS} s, NAT lab; relay through burrow-server vs the direct path, same run`,
    );
    console.log(`  direct (easy NAT <-> easy NAT):        ${fmt(direct)} Gbit/s`);
    console.log(`    CPU s per GB: ${perGb(directCpu)}`);
    console.log(
      `  relay, limits raised (its capacity):   ${fmt(relay)} Gbit/s  (${(relay / direct).toFixed(2)}x direct; bar 0.7x; ${perFrame.toFixed(1)} packets per relay frame)`,
    );
    console.log(`    CPU s per GB: ${perGb(relayCpu)}`);
    console.log(
      `  relay, default per-device limits:      ${fmt(relayDefault)} Gbit/s  (${(relayDefault / direct).toFixed(2)}x direct; limit 8 MiB/s = 0.067 Gbit/s)`,
    );
    console.log(
      `  first packet -> direct path: median ${ms} ms of ${ROUNDS} (${toDirect.join(', ')}); bar 5000 ms: ${(ms / 5000).toFixed(3)}x`,
    );
    // A median of Infinity is a pair that stayed relayed in most rounds: said in words.
    const bareMedian = Number.isFinite(bare.ms)
      ? `median ${bare.ms} ms of ${ROUNDS} (${bare.times.join(', ')}); ${(bare.ms / ms).toFixed(2)}x`
      : `not within 20 s in ${bare.times.filter((t) => !Number.isFinite(t)).length} of ${ROUNDS} rounds; vs`;
    console.log(`  bare masquerade on both sides -> direct: ${bareMedian} easy NAT's ${ms} ms`);
    for (const [kind, m] of mapped)
      console.log(
        `  fully-random router, ${kind} mapping -> direct: median ${m.ms} ms of ${ROUNDS} (${m.times.join(', ')}); ${(m.ms / ms).toFixed(2)}x easy NAT's ${ms} ms`,
      );
    console.log(
      `relay: direct_gbps=${fmt(direct)} relay_gbps=${fmt(relay)} relay_default_gbps=${fmt(relayDefault)} ratio=${(relay / direct).toFixed(2)} packets_per_frame=${perFrame.toFixed(1)} relay_cpu_s_per_gb=${(relayCpu.relay ?? 0).toFixed(2)} to_direct_ms=${ms} to_direct_bare_ms=${bare.ms}${mapped.map(([k, m]) => ` to_direct_${k.replace('-', '')}_ms=${m.ms}`).join('')}`,
    );
  } finally {
    for (const router of routers.splice(0)) await router.stop().catch(() => {});
    await lab.destroy();
    await cleanupAll();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
