/**
 * dnsperf (Debian's package, DNS-OARC's load generator) run inside a namespace, and what bench:dns
 * reads from it: the rate it got answers at, and each answer's latency (its `-v` lines).
 */
import { spawnSync } from 'node:child_process';
import type { Netns } from '../test/support/netns.js';

/** Throws, saying how to install it, if dnsperf is not on this machine. */
export function requireDnsperf(): string {
  const r = spawnSync('dnsperf', ['-h'], { encoding: 'utf8' });
  if (r.error) {
    throw new Error(
      'bench:dns needs dnsperf, the DNS load generator: run ./scripts/setup as root, or apt-get install dnsperf',
    );
  }
  return /Version (\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown version';
}

export interface PerfRun {
  /** Queries answered per second over the run. */
  qps: number;
  sent: number;
  lost: number;
  /** Answers by response code (NOERROR, NXDOMAIN, ...). */
  rcodes: Record<string, number>;
  /** Seconds, one per answer; only with `verbose`. */
  latencies: number[];
}

export interface PerfOptions {
  server: string;
  /** The query file: one `NAME TYPE` a line, sent in turn, round and round. */
  file: string;
  seconds: number;
  /** Queries per second at most (dnsperf -Q); none: as fast as answers come (saturation). */
  rate?: number;
  /** Queries outstanding at most (dnsperf -q). */
  outstanding: number;
  /** Report each answer's latency (dnsperf -v): costs dnsperf time, so only for rate-limited runs. */
  verbose?: boolean;
}

export async function dnsperf(ns: Netns, o: PerfOptions): Promise<PerfRun> {
  const args = ['-s', o.server, '-d', o.file, '-l', String(o.seconds), '-q', String(o.outstanding)];
  // A lost query holds its slot until this passes; the servers here lose none unless overwhelmed.
  args.push('-t', '2');
  if (o.rate !== undefined) args.push('-Q', String(o.rate));
  if (o.verbose) args.push('-v');
  const { stdout, stderr } = await ns.exec('dnsperf', args, { timeout: (o.seconds + 30) * 1000 });
  return parse(`${stdout}\n${stderr}`);
}

function parse(out: string): PerfRun {
  const field = (label: string) => {
    const m = new RegExp(`${label}:\\s+([\\d.]+)`).exec(out);
    if (!m) throw new Error(`dnsperf printed no "${label}":\n${out.slice(-2000)}`);
    return Number(m[1]);
  };
  const rcodes: Record<string, number> = {};
  const codes = /Response codes:\s+(.*)/.exec(out)?.[1] ?? '';
  for (const m of codes.matchAll(/([A-Z]+) (\d+)/g)) rcodes[m[1]!] = Number(m[2]);
  const latencies: number[] = [];
  // -v: "> NOERROR webcam A 0.000253", one line per answer.
  for (const m of out.matchAll(/^> \S+ \S+ \S+ ([\d.]+)$/gm)) latencies.push(Number(m[1]));
  return {
    qps: field('Queries per second'),
    sent: field('Queries sent'),
    lost: field('Queries lost'),
    rcodes,
    latencies,
  };
}

/** The `q` quantile (0..1) of `xs`, which it sorts. */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  xs.sort((a, b) => a - b);
  return xs[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;
}
