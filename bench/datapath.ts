/**
 * bench:datapath — the same two-namespace topology (MTU 1420) three times in one run:
 * wireguard-go ↔ wireguard-go, burrowd ↔ wireguard-go, burrowd ↔ burrowd. For each: iperf3 TCP
 * throughput (A → B), 64-byte UDP packets/s delivered, ping RTT and each daemon's peak RSS, each with
 * its ratio to wireguard-go ↔ wireguard-go (for RSS: to wireguard-go's peak there). Needs root.
 * The three are measured BENCH_RUNS times (default 3), interleaved so that a slow spell of this
 * shared machine falls on all of them; each figure is the median of its runs (peak RSS: the
 * highest), printed with the runs' values. BENCH_SECONDS sets each iperf3 run's length.
 */
import { readFileSync } from 'node:fs';
import { cleanupAll, link, Netns } from '../test/support/netns.js';
import {
  genKeyPair,
  type InterfaceSpec,
  type RunningPeer,
  startBurrowd,
  startWireguardGo,
} from '../test/support/wg-peers.js';

type Kind = 'wireguard-go' | 'burrowd';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

interface Figures {
  tcpGbps: number;
  udpPps: number;
  rttMs: number;
  /** Peak RSS in MB of each kind of daemon in the topology (the larger of two alike). */
  rssMb: Partial<Record<Kind, number>>;
}

async function topology(kindA: Kind, kindB: Kind) {
  const nsA = await Netns.create('bda');
  const nsB = await Netns.create('bdb');
  await link(nsA, ['192.0.2.1/24'], nsB, ['192.0.2.2/24']);
  const a = await genKeyPair();
  const b = await genKeyPair();
  const spec = (self: typeof a, peer: typeof a, me: number, other: number): InterfaceSpec => ({
    privateKey: self.privateKey,
    listenPort: 51820 + me,
    addresses: [`10.9.0.${me}/24`],
    mtu: 1420,
    peers: [
      {
        publicKey: peer.publicKey,
        endpoint: `192.0.2.${other}:${51820 + other}`,
        allowedIps: [`10.9.0.${other}/32`],
      },
    ],
  });
  const start = (ns: Netns, kind: Kind, s: InterfaceSpec) =>
    kind === 'burrowd' ? startBurrowd(ns, s) : startWireguardGo(ns, s);
  const peerA = await start(nsA, kindA, spec(a, b, 1, 2));
  const peerB = await start(nsB, kindB, spec(b, a, 2, 1));
  return { nsA, nsB, peerA, peerB };
}

function peakRssMb(peer: RunningPeer): number {
  const status = readFileSync(`/proc/${peer.process.pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
  return kb / 1024;
}

function peakRssByKind(peers: [Kind, RunningPeer][]): Partial<Record<Kind, number>> {
  const out: Partial<Record<Kind, number>> = {};
  for (const [kind, peer] of peers) out[kind] = Math.max(out[kind] ?? 0, peakRssMb(peer));
  return out;
}

async function measure(kindA: Kind, kindB: Kind): Promise<Figures> {
  const { nsA, nsB, peerA, peerB } = await topology(kindA, kindB);
  try {
    await nsA.exec('ping', ['-c', '3', '-i', '0.2', '-W', '5', '10.9.0.2']);
    const server = nsB.spawn('iperf3', ['-s', '-B', '10.9.0.2']);
    await new Promise((r) => setTimeout(r, 500));
    const tcp = JSON.parse(
      (await nsA.exec('iperf3', ['-c', '10.9.0.2', '-t', String(SECONDS), '-J'], { timeout: 120_000 }))
        .stdout,
    );
    const udp = JSON.parse(
      (
        await nsA.exec(
          'iperf3',
          ['-c', '10.9.0.2', '-u', '-l', '64', '-b', '0', '-t', String(Math.min(SECONDS, 5)), '-J'],
          { timeout: 120_000 },
        )
      ).stdout,
    );
    server.kill();
    const ping = (await nsA.exec('ping', ['-c', '50', '-i', '0.02', '-q', '10.9.0.2'])).stdout;
    const sum = udp.end.sum;
    return {
      tcpGbps: tcp.end.sum_received.bits_per_second / 1e9,
      udpPps: (sum.packets - sum.lost_packets) / sum.seconds,
      rttMs: Number(/= [\d.]+\/([\d.]+)\//.exec(ping)?.[1]),
      rssMb: peakRssByKind([
        [kindA, peerA],
        [kindB, peerB],
      ]),
    };
  } finally {
    await cleanupAll();
  }
}

const fmt = (x: number, d = 2) => x.toFixed(d);
const ratio = (x: number, base: number) => `${fmt(x / base)}x`;

const configurations = [
  ['wireguard-go <-> wireguard-go', 'wireguard-go', 'wireguard-go'],
  ['burrowd <-> wireguard-go', 'burrowd', 'wireguard-go'],
  ['burrowd <-> burrowd', 'burrowd', 'burrowd'],
] as const;
const runs: Figures[][] = configurations.map(() => []);
for (let r = 0; r < RUNS; r++) {
  for (const [i, [, a, b]] of configurations.entries()) runs[i]!.push(await measure(a, b));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
/** The median of each figure over the runs, and the highest peak RSS. */
const summary = (fs: Figures[]): Figures => ({
  tcpGbps: median(fs.map((f) => f.tcpGbps)),
  udpPps: median(fs.map((f) => f.udpPps)),
  rttMs: median(fs.map((f) => f.rttMs)),
  rssMb: Object.fromEntries(
    (['burrowd', 'wireguard-go'] as const)
      .filter((kind) => fs[0]!.rssMb[kind] !== undefined)
      .map((kind) => [kind, Math.max(...fs.map((f) => f.rssMb[kind]!))]),
  ),
});
const [base, mixed, ours] = runs.map(summary) as [Figures, Figures, Figures];
const baseRss = base.rssMb['wireguard-go']!;
const rssText = (f: Figures) =>
  (['burrowd', 'wireguard-go'] as const)
    .filter((kind) => f.rssMb[kind] !== undefined)
    .map((kind) => `${kind} ${fmt(f.rssMb[kind]!, 0)} MB (${ratio(f.rssMb[kind]!, baseRss)})`)
    .join(' ');
console.log(
  `bench:datapath  ${SECONDS} s iperf3 runs, MTU 1420, A -> B; medians of ${RUNS} runs; ratios against wireguard-go <-> wireguard-go`,
);
for (const [i, [name]] of configurations.entries()) {
  const f = [base, mixed, ours][i]!;
  const each = runs[i]!;
  console.log(
    `${name.padEnd(30)} TCP ${fmt(f.tcpGbps)} Gbit/s (${ratio(f.tcpGbps, base.tcpGbps)})  UDP-64 ${Math.round(f.udpPps)} pkt/s (${ratio(f.udpPps, base.udpPps)})  RTT ${fmt(f.rttMs, 3)} ms (${ratio(f.rttMs, base.rttMs)})  peak RSS ${rssText(f)}`,
  );
  console.log(
    `${''.padEnd(30)} runs: TCP ${each.map((x) => fmt(x.tcpGbps)).join(', ')}  UDP-64 ${each.map((x) => Math.round(x.udpPps)).join(', ')}  RTT ${each.map((x) => fmt(x.rttMs, 3)).join(', ')}`,
  );
}
const burrowdRss = Math.max(mixed.rssMb.burrowd!, ours.rssMb.burrowd!);
console.log(
  `datapath: tcp_ratio=${fmt(ours.tcpGbps / base.tcpGbps)} mixed_tcp_ratio=${fmt(mixed.tcpGbps / base.tcpGbps)} burrowd_tcp_gbps=${fmt(ours.tcpGbps)} wggo_tcp_gbps=${fmt(base.tcpGbps)} peak_rss_mb=${fmt(burrowdRss, 0)} wggo_peak_rss_mb=${fmt(baseRss, 0)} rss_ratio=${fmt(burrowdRss / baseRss)}`,
);
