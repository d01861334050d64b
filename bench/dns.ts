/**
 * bench:dns — MagicDNS as users get it (issue 17): a real burrowd mesh node in a namespace of the
 * mesh lab (real burrow-server, two real peers), its resolver on 100.100.100.100 asked from inside
 * that namespace, next to dnsmasq (Debian) in the same namespace answering the same device names
 * from a hosts file (addn-hosts), in the same run. Forwarded names go, from both, to the same lab
 * upstream: dnsmasq on the lab's "internet" host answering a fixed zone, the resolver the node had
 * before Burrow. dnsmasq runs with no cache (cache-size 0) so that it forwards every query as
 * burrowd does, which keeps none.
 *
 * dnsperf (Debian) drives each server with the same query file: queries/s at saturation
 * (BENCH_SECONDS, 100 queries outstanding), then latency as users feel it: p50 and p99 of every
 * answer in a run at a fixed 10,000 queries/s (BENCH_LATENCY_SECONDS, dnsperf -v). Medians of
 * BENCH_ROUNDS runs, the two servers taking turns. Issue 17's targets: device names at 50,000
 * queries/s or more, p99 at most 2 ms. Needs root, dnsperf and dnsmasq.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { INTERNET_IP, type LabDevice, MeshLab } from '../test/support/mesh-lab.js';
import { cleanupAll, type Netns, waitFor } from '../test/support/netns.js';
import { dnsperf, type PerfRun, quantile, requireDnsperf } from './dnsperf.js';
import { cpuSeconds } from './process-usage.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LATENCY_RATE = 10_000;
const OUTSTANDING = 100;
const TARGET_QPS = 50_000;
const TARGET_P99_MS = 2;
const QUAD_100 = '100.100.100.100';
/** dnsmasq's address, on the node namespace's loopback (where the kernel carries local traffic to 100.100.100.100 too). */
const DNSMASQ_IP = '10.53.0.53';
const DNSMASQ = '/usr/sbin/dnsmasq';
/** The upstream's fixed zone: the names asked for forwarded queries. */
const FORWARDED = Array.from({ length: 500 }, (_, i) => `host-${i}.example`);
const DNS_ASK = join(import.meta.dirname, '../test/support/dns-ask.ts');

type Kind = 'device' | 'forwarded';
type Server = 'burrowd' | 'dnsmasq';

interface Figures {
  qps: number;
  p50: number;
  p99: number;
  /** CPU microseconds the server spent per query answered at saturation. */
  cpuUs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The node's view: every device it may see, by short name and full name, with its addresses. */
async function deviceNames(node: LabDevice): Promise<{ names: string[]; hosts: string }> {
  const status = await node.status();
  const devices = [status.self!, ...status.peers];
  const bare = (name: string) => name.replace(/\.$/, '');
  const names = devices.flatMap((d) => [d.shortName, bare(d.dnsName)]);
  const hosts = devices.flatMap((d) => d.ips.map((ip) => `${ip} ${d.shortName} ${bare(d.dnsName)}\n`));
  return { names, hosts: hosts.join('') };
}

/** What a server answers to `name` (sorted record texts), as a program in `ns` would be told. */
async function answers(ns: Netns, server: string, name: string, type: string): Promise<string> {
  const { stdout } = await ns.exec(process.execPath, ['--import', 'tsx', DNS_ASK, server, name, type]);
  const r = JSON.parse(stdout) as { rcode?: string; answers?: string[] };
  return `${r.rcode} ${[...(r.answers ?? [])].sort().join(', ')}`;
}

/** Both servers must give the same answers to every query of the files, and real ones. */
async function checkSameAnswers(ns: Netns, queries: [string, string][]): Promise<void> {
  for (const [name, type] of queries) {
    const [ours, theirs] = await Promise.all([
      answers(ns, QUAD_100, name, type),
      answers(ns, DNSMASQ_IP, name, type),
    ]);
    if (ours !== theirs || !ours.startsWith('NOERROR ') || ours === 'NOERROR ') {
      throw new Error(`${name} ${type}: burrowd answers "${ours}", dnsmasq "${theirs}"`);
    }
  }
}

async function startDnsmasq(ns: Netns, hostsFile: string): Promise<number> {
  await ns.exec('ip', ['addr', 'add', `${DNSMASQ_IP}/32`, 'dev', 'lo']);
  const proc = ns.spawn(DNSMASQ, [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    `--addn-hosts=${hostsFile}`,
    `--server=${INTERNET_IP}`,
    '--cache-size=0',
    '--bind-interfaces',
    `--listen-address=${DNSMASQ_IP}`,
    '--pid-file=',
    '--user=root',
  ]);
  let log = '';
  proc.stderr?.on('data', (d) => (log += d));
  await waitFor(
    'dnsmasq to listen',
    async () => {
      if (proc.exitCode !== null) throw new Error(`dnsmasq exited: ${log}`);
      return (await ns.exec('ss', ['-Hlun', 'sport', '53'])).stdout.includes(DNSMASQ_IP);
    },
    10_000,
  );
  return proc.pid!;
}

/** One saturation run and one latency run of `server` on `file`. */
async function measure(ns: Netns, address: string, pid: number, file: string): Promise<Figures> {
  const cpuBefore = cpuSeconds(pid);
  const load = await dnsperf(ns, { server: address, file, seconds: SECONDS, outstanding: OUTSTANDING });
  const cpu = cpuSeconds(pid) - cpuBefore;
  checkRun(address, load);
  const timed = await dnsperf(ns, {
    server: address,
    file,
    seconds: LATENCY_SECONDS,
    rate: LATENCY_RATE,
    outstanding: OUTSTANDING,
    verbose: true,
  });
  checkRun(address, timed);
  return {
    qps: load.qps,
    p50: quantile(timed.latencies, 0.5) * 1000,
    p99: quantile(timed.latencies, 0.99) * 1000,
    cpuUs: (cpu / (load.qps * SECONDS)) * 1e6,
  };
}

/** A run whose answers were not NOERROR, or that lost queries, measured something else. */
function checkRun(address: string, run: PerfRun): void {
  const answered = Object.values(run.rcodes).reduce((a, b) => a + b, 0);
  const ok = run.rcodes.NOERROR ?? 0;
  if (answered === 0 || ok < answered * 0.999 || run.lost > run.sent * 0.001) {
    throw new Error(`${address}: ${run.lost} of ${run.sent} lost, answers ${JSON.stringify(run.rcodes)}`);
  }
}

async function main(): Promise<void> {
  const dnsperfVersion = requireDnsperf();
  const lab = await MeshLab.create();
  try {
    await lab.admin('users', 'create', 'bench', '--network', 'bench');
    await lab.startServer();
    // The resolver the node had before Burrow: it answers the forwarded names and nothing else.
    await lab.startDns(Object.fromEntries(FORWARDED.map((n, i) => [n, `198.51.100.${100 + (i % 100)}`])));
    const [node, ...peers] = await Promise.all(['node', 'webcam', 'laptop'].map((n) => lab.device(n)));
    for (const d of [node!, ...peers]) await lab.join(d, 'bench');
    await waitFor('the node to see its peers', async () => (await node!.status()).peers.length === 2, 30_000);
    const ns = node!.ns;

    const { names, hosts } = await deviceNames(node!);
    const files = {
      device: join(lab.dir, 'device.queries'),
      forwarded: join(lab.dir, 'forwarded.queries'),
    };
    const deviceQueries = names.flatMap((n): [string, string][] => [
      [n, 'A'],
      [n, 'AAAA'],
    ]);
    writeFileSync(files.device, deviceQueries.map((q) => `${q.join(' ')}\n`).join(''));
    writeFileSync(files.forwarded, FORWARDED.map((n) => `${n} A\n`).join(''));
    const hostsFile = join(lab.dir, 'devices.hosts');
    writeFileSync(hostsFile, hosts);
    const pids: Record<Server, number> = {
      burrowd: node!.process.pid!,
      dnsmasq: await startDnsmasq(ns, hostsFile),
    };
    const address: Record<Server, string> = { burrowd: QUAD_100, dnsmasq: DNSMASQ_IP };
    let last = '';
    const answered = async () => {
      last = await answers(ns, QUAD_100, names[0]!, 'A');
      return last.startsWith('NOERROR A ');
    };
    await waitFor(`the resolver to answer ${names[0]}`, answered, 20_000, 200).catch((e) => {
      throw new Error(`${(e as Error).message}; last answer: ${last}`);
    });
    await checkSameAnswers(ns, [...deviceQueries, [FORWARDED[0]!, 'A']]);

    // Warm up both (burrowd's JIT, both servers' paths to the upstream) before anything counts.
    for (const server of ['burrowd', 'dnsmasq'] as const) {
      for (const file of Object.values(files)) {
        await dnsperf(ns, { server: address[server], file, seconds: 2, outstanding: OUTSTANDING });
      }
    }

    const runs = new Map<string, Figures[]>();
    for (let round = 0; round < ROUNDS; round++) {
      const order: Server[] = round % 2 === 0 ? ['burrowd', 'dnsmasq'] : ['dnsmasq', 'burrowd'];
      for (const kind of ['device', 'forwarded'] as const) {
        for (const server of order) {
          const f = await measure(ns, address[server], pids[server], files[kind]);
          runs.set(`${kind} ${server}`, [...(runs.get(`${kind} ${server}`) ?? []), f]);
          console.log(
            `  round ${round + 1} ${kind.padEnd(9)} ${server.padEnd(7)} ${fmt(f.qps)} q/s  p50 ${f.p50.toFixed(3)} ms  p99 ${f.p99.toFixed(3)} ms`,
          );
        }
      }
    }
    const result = (kind: Kind, server: Server): Figures => {
      const fs = runs.get(`${kind} ${server}`)!;
      return {
        qps: median(fs.map((f) => f.qps)),
        p50: median(fs.map((f) => f.p50)),
        p99: median(fs.map((f) => f.p99)),
        cpuUs: median(fs.map((f) => f.cpuUs)),
      };
    };
    report(dnsperfVersion, names.length, result);
  } finally {
    await lab.destroy();
    await cleanupAll();
  }
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US').padStart(7);

function report(version: string, names: number, result: (kind: Kind, server: Server) => Figures): void {
  const [load1] = loadavg();
  console.log(
    `bench:dns  dnsperf ${version}, UDP; queries/s at saturation (${SECONDS} s, ${OUTSTANDING} outstanding), p50/p99 of every answer at a fixed ${fmt(LATENCY_RATE).trim()} q/s (${LATENCY_SECONDS} s); medians of ${ROUNDS} runs; load ${load1!.toFixed(2)}`,
  );
  console.log(
    `  burrowd: its resolver on ${QUAD_100}; dnsmasq: ${DNSMASQ_IP} in the same namespace, addn-hosts, cache-size 0; both forward to dnsmasq at ${INTERNET_IP}`,
  );
  for (const kind of ['device', 'forwarded'] as const) {
    const ours = result(kind, 'burrowd');
    const theirs = result(kind, 'dnsmasq');
    const what =
      kind === 'device'
        ? `device names (${names} names, A and AAAA)`
        : `forwarded names (${FORWARDED.length}, A)`;
    console.log(`  ${what}`);
    for (const [server, f] of [
      ['burrowd', ours],
      ['dnsmasq', theirs],
    ] as const) {
      console.log(
        `    ${server.padEnd(7)} ${fmt(f.qps)} q/s   p50 ${f.p50.toFixed(3)} ms   p99 ${f.p99.toFixed(3)} ms   ${f.cpuUs.toFixed(1)} CPU µs/query`,
      );
    }
    console.log(
      `    burrowd/dnsmasq: ${(ours.qps / theirs.qps).toFixed(2)}x queries/s, p99 ${(ours.p99 / theirs.p99).toFixed(2)}x`,
    );
  }
  const device = result('device', 'burrowd');
  const forwarded = result('forwarded', 'burrowd');
  const met = (ok: boolean) => (ok ? 'met' : 'missed');
  console.log(
    `  targets (issue 17): device names ≥ ${fmt(TARGET_QPS).trim()} q/s ${met(device.qps >= TARGET_QPS)} (${(device.qps / TARGET_QPS).toFixed(2)}x), p99 ≤ ${TARGET_P99_MS} ms ${met(device.p99 <= TARGET_P99_MS)}`,
  );
  const dm = result('device', 'dnsmasq');
  const fm = result('forwarded', 'dnsmasq');
  console.log(
    `dns: device_qps=${Math.round(device.qps)} dnsmasq_qps=${Math.round(dm.qps)} ratio=${(device.qps / dm.qps).toFixed(2)} p99_ms=${device.p99.toFixed(3)} dnsmasq_p99_ms=${dm.p99.toFixed(3)} forwarded_qps=${Math.round(forwarded.qps)} dnsmasq_forwarded_qps=${Math.round(fm.qps)} forwarded_ratio=${(forwarded.qps / fm.qps).toFixed(2)} forwarded_p99_ms=${forwarded.p99.toFixed(3)}`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
