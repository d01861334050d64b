/**
 * bench:datapath — the same two-namespace topology (test/support/wg-pair.ts, MTU 1420) for four
 * pairs in one run: the modern wireguard-go (2025, TUN TSO/USO and UDP GSO/GRO; test/peers) on
 * both ends, which is the reference every ratio is taken against; burrowd against it; burrowd on
 * both ends; Debian's wireguard-go (2022) on both ends, the old reference; and two burrowd in mesh
 * mode, with burrow-server and the packet filter, on a direct path (bench/mesh-pair.ts). Needs root.
 *
 * For each pair, A -> B: iperf3 TCP with 1 and with 4 streams, 64-byte UDP packets/s delivered,
 * ping RTT, each side's CPU seconds per GB moved during the TCP runs (from /proc: every thread and
 * child of the daemon), each side's peak RSS, and the average packet on A's TUN, A's UDP socket
 * and B's TUN in the 1-stream TCP run (which of the offloads are at work). The pairs are measured BENCH_RUNS times (default
 * 3), interleaved so that a slow spell of this shared machine falls on all of them; each figure is
 * the median of its runs (peak RSS: the highest), printed with the runs' values. BENCH_SECONDS sets
 * each TCP run's length (UDP runs: at most 5 s). BENCH_PAIRS (e.g. "burrowd-burrowd") measures
 * only those pairs besides the reference.
 */
import { loadavg } from 'node:os';
import { cleanupAll, type Netns } from '../test/support/netns.js';
import { wgPair } from '../test/support/wg-pair.js';
import type { PeerKind } from '../test/support/wg-peers.js';
import { meshPair, type Topology } from './mesh-pair.js';
import { cpuSeconds, peakRssMb } from './process-usage.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

interface Pair {
  id: string;
  name: string;
  a: PeerKind;
  b: PeerKind;
  /** Both ends burrowd in mesh mode (then a and b say only that). */
  mesh?: boolean;
}

const PAIRS: Pair[] = [
  { id: 'modern-modern', name: 'modern <-> modern', a: 'wireguard-go-modern', b: 'wireguard-go-modern' },
  { id: 'burrowd-modern', name: 'burrowd <-> modern', a: 'burrowd', b: 'wireguard-go-modern' },
  { id: 'burrowd-burrowd', name: 'burrowd <-> burrowd', a: 'burrowd', b: 'burrowd' },
  { id: 'debian-debian', name: 'debian <-> debian', a: 'wireguard-go', b: 'wireguard-go' },
  { id: 'burrowd-mesh', name: 'burrowd mesh <-> mesh', a: 'burrowd', b: 'burrowd', mesh: true },
];
const wanted = process.env.BENCH_PAIRS?.split(',').map((s) => s.trim());
for (const id of wanted ?? []) {
  if (!PAIRS.some((p) => p.id === id))
    throw new Error(`BENCH_PAIRS: no pair "${id}" (${PAIRS.map((p) => p.id)})`);
}
const pairs = PAIRS.filter((p, i) => i === 0 || !wanted || wanted.includes(p.id));

/** A TCP run's throughput and what it cost each side. */
interface Tcp {
  gbps: number;
  /** CPU seconds per GB received, for A and for B. */
  cpuPerGb: [number, number];
  /**
   * Average bytes per packet, as the kernel counts them: what A's daemon read from its TUN, what it
   * sent on its UDP socket (the veth, which counts Ethernet frames), what B's daemon wrote to its
   * TUN. Over 1420 (the MTU; 1514 on the veth) only with offloads: TSO/USO on the TUN, UDP GSO,
   * and GRO into the TUN.
   */
  packetBytes: { tunRead: number; udpSend: number; tunWrite: number };
}

interface Figures {
  tcp: Tcp;
  tcp4: Tcp;
  udpPps: number;
  rttMs: number;
  /** Peak RSS in MB of A and of B. */
  rssMb: [number, number];
}

/** tx and rx bytes and packets of `dev` in `ns`. */
async function counters(ns: Netns, dev: string) {
  const names = ['tx_bytes', 'tx_packets', 'rx_bytes', 'rx_packets'];
  const { stdout } = await ns.exec(
    'cat',
    names.map((n) => `/sys/class/net/${dev}/statistics/${n}`),
  );
  const [txBytes, txPackets, rxBytes, rxPackets] = stdout.trim().split('\n').map(Number) as number[];
  return { txBytes: txBytes!, txPackets: txPackets!, rxBytes: rxBytes!, rxPackets: rxPackets! };
}

async function tcpRun(pair: Topology, streams: number): Promise<Tcp> {
  const { nsA, nsB, a, b } = pair;
  const devices = () =>
    Promise.all([counters(nsA, a.iface), counters(nsA, pair.veth.a), counters(nsB, b.iface)]);
  const pids = [a.process.pid!, b.process.pid!];
  const before = pids.map(cpuSeconds);
  const [tunA0, vethA0, tunB0] = await devices();
  const { stdout } = await nsA.exec(
    'iperf3',
    ['-c', pair.target, '-t', String(SECONDS), '-P', String(streams), '-J'],
    { timeout: 120_000 },
  );
  const after = pids.map(cpuSeconds);
  const [tunA1, vethA1, tunB1] = await devices();
  const received = JSON.parse(stdout).end.sum_received;
  const gb = received.bytes / 1e9;
  return {
    gbps: received.bits_per_second / 1e9,
    cpuPerGb: [(after[0]! - before[0]!) / gb, (after[1]! - before[1]!) / gb],
    packetBytes: {
      // The kernel transmits on the TUN what the daemon reads, and receives what it writes.
      tunRead: (tunA1.txBytes - tunA0.txBytes) / (tunA1.txPackets - tunA0.txPackets),
      udpSend: (vethA1.txBytes - vethA0.txBytes) / (vethA1.txPackets - vethA0.txPackets),
      tunWrite: (tunB1.rxBytes - tunB0.rxBytes) / (tunB1.rxPackets - tunB0.rxPackets),
    },
  };
}

async function measure(pair: Pair): Promise<Figures> {
  const topology: Topology = pair.mesh
    ? await meshPair()
    : { ...(await wgPair({ a: pair.a, b: pair.b, mtu: 1420 })), target: '10.9.0.2', close: async () => {} };
  const { nsA, nsB, a, b, target } = topology;
  try {
    await nsA.exec('ping', ['-c', '3', '-i', '0.2', '-W', '5', target]);
    nsB.spawn('iperf3', ['-s', '-B', target]);
    await new Promise((r) => setTimeout(r, 500));
    const tcp = await tcpRun(topology, 1);
    const tcp4 = await tcpRun(topology, 4);
    const udp = JSON.parse(
      (
        await nsA.exec(
          'iperf3',
          ['-c', target, '-u', '-l', '64', '-b', '0', '-t', String(Math.min(SECONDS, 5)), '-J'],
          { timeout: 120_000 },
        )
      ).stdout,
    ).end.sum;
    const ping = (await nsA.exec('ping', ['-c', '50', '-i', '0.02', '-q', target])).stdout;
    return {
      tcp,
      tcp4,
      udpPps: (udp.packets - udp.lost_packets) / udp.seconds,
      rttMs: Number(/= [\d.]+\/([\d.]+)\//.exec(ping)?.[1]),
      rssMb: [peakRssMb(a.process.pid!), peakRssMb(b.process.pid!)],
    };
  } finally {
    await topology.close();
    await cleanupAll();
  }
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)]!;
const fmt = (x: number, d = 2) => x.toFixed(d);
const ratio = (x: number, base: number) => `${fmt(x / base)}x`;
const load = () =>
  loadavg()
    .map((l) => fmt(l))
    .join(' ');

console.log(
  `bench:datapath  ${SECONDS} s iperf3 runs, MTU 1420, A -> B; medians of ${RUNS} interleaved runs; every ratio against modern <-> modern`,
);
console.log(
  "modern = wireguard-go f333402 (2025, TUN and UDP offloads on; test/peers), debian = Debian's wireguard-go 0.0.20220316",
);
console.log(`load average at start: ${load()}`);
const runs: Figures[][] = pairs.map(() => []);
for (let r = 0; r < RUNS; r++) {
  for (const [i, pair] of pairs.entries()) runs[i]!.push(await measure(pair));
}

/** The median of each figure over the runs; for peak RSS, the highest. */
function summary(fs: Figures[]): Figures {
  const tcp = (pick: (f: Figures) => Tcp): Tcp => ({
    gbps: median(fs.map((f) => pick(f).gbps)),
    cpuPerGb: [median(fs.map((f) => pick(f).cpuPerGb[0])), median(fs.map((f) => pick(f).cpuPerGb[1]))],
    packetBytes: {
      tunRead: median(fs.map((f) => pick(f).packetBytes.tunRead)),
      udpSend: median(fs.map((f) => pick(f).packetBytes.udpSend)),
      tunWrite: median(fs.map((f) => pick(f).packetBytes.tunWrite)),
    },
  });
  return {
    tcp: tcp((f) => f.tcp),
    tcp4: tcp((f) => f.tcp4),
    udpPps: median(fs.map((f) => f.udpPps)),
    rttMs: median(fs.map((f) => f.rttMs)),
    rssMb: [Math.max(...fs.map((f) => f.rssMb[0])), Math.max(...fs.map((f) => f.rssMb[1]))],
  };
}

const summaries = runs.map(summary);
const base = summaries[0]!;
const baseRss = Math.max(...base.rssMb);
const pad = ''.padEnd(22);
for (const [i, pair] of pairs.entries()) {
  const f = summaries[i]!;
  const each = runs[i]!;
  const cpu = (t: Tcp, bt: Tcp) =>
    `A ${fmt(t.cpuPerGb[0], 1)} (${ratio(t.cpuPerGb[0], bt.cpuPerGb[0])}) B ${fmt(t.cpuPerGb[1], 1)} (${ratio(t.cpuPerGb[1], bt.cpuPerGb[1])})`;
  console.log(
    `${pair.name.padEnd(22)}TCP ${fmt(f.tcp.gbps)} Gbit/s (${ratio(f.tcp.gbps, base.tcp.gbps)})  TCP x4 ${fmt(f.tcp4.gbps)} Gbit/s (${ratio(f.tcp4.gbps, base.tcp4.gbps)})  UDP-64 ${Math.round(f.udpPps)} pkt/s (${ratio(f.udpPps, base.udpPps)})  RTT ${fmt(f.rttMs, 3)} ms (${ratio(f.rttMs, base.rttMs)})`,
  );
  console.log(
    `${pad}CPU s/GB: TCP ${cpu(f.tcp, base.tcp)}  TCP x4 ${cpu(f.tcp4, base.tcp4)}  peak RSS: A ${fmt(f.rssMb[0], 0)} MB (${ratio(f.rssMb[0], baseRss)}) B ${fmt(f.rssMb[1], 0)} MB (${ratio(f.rssMb[1], baseRss)})`,
  );
  const bytes = f.tcp.packetBytes;
  console.log(
    `${pad}bytes per packet (TCP): A reads from its TUN ${Math.round(bytes.tunRead)}, sends on UDP ${Math.round(bytes.udpSend)}; B writes to its TUN ${Math.round(bytes.tunWrite)}`,
  );
  console.log(
    `${pad}runs: TCP ${each.map((x) => fmt(x.tcp.gbps)).join(', ')}  TCP x4 ${each.map((x) => fmt(x.tcp4.gbps)).join(', ')}  UDP-64 ${each.map((x) => Math.round(x.udpPps)).join(', ')}  RTT ${each.map((x) => fmt(x.rttMs, 3)).join(', ')}`,
  );
}
console.log(`load average at end: ${load()}`);

// The summary line: burrowd <-> burrowd against modern <-> modern; burrowd's RSS is its highest
// peak in any pair it ran in.
const ours = summaries[pairs.findIndex((p) => p.id === 'burrowd-burrowd')];
const burrowdRss = pairs.flatMap((p, i) => [
  ...(p.a === 'burrowd' ? [summaries[i]!.rssMb[0]] : []),
  ...(p.b === 'burrowd' ? [summaries[i]!.rssMb[1]] : []),
]);
if (ours) {
  console.log(
    `datapath: tcp_gbps=${fmt(ours.tcp.gbps)} modern_gbps=${fmt(base.tcp.gbps)} ratio=${fmt(ours.tcp.gbps / base.tcp.gbps)} tcp4_ratio=${fmt(ours.tcp4.gbps / base.tcp4.gbps)} udp64_ratio=${fmt(ours.udpPps / base.udpPps)} rss_mb=${fmt(Math.max(...burrowdRss), 0)}`,
  );
}
// The same for mesh mode (its own line, so that the one above keeps its meaning).
const mesh = summaries[pairs.findIndex((p) => p.id === 'burrowd-mesh')];
if (mesh) {
  console.log(
    `datapath-mesh: tcp_gbps=${fmt(mesh.tcp.gbps)} modern_gbps=${fmt(base.tcp.gbps)} ratio=${fmt(mesh.tcp.gbps / base.tcp.gbps)} tcp4_ratio=${fmt(mesh.tcp4.gbps / base.tcp4.gbps)} udp64_ratio=${fmt(mesh.udpPps / base.udpPps)} rss_mb=${fmt(Math.max(...mesh.rssMb), 0)}`,
  );
}
