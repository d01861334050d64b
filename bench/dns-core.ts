/**
 * bench:dns-core — the resolver's core on one core, no sockets: queries answered per second and
 * the latency of one query (p50, p99) for a device name, a reverse name, a name that does not
 * exist, and a forwarded name (query in, forward out, reply in, answer out), next to the bare
 * codec measured in the same run: parsing the query and encoding the same answer, the floor any
 * answer path has. Issue 17's bar (50,000 queries/s, p99 ≤ 2 ms) is for the whole resolver with
 * its sockets (bench:dns, against dnsmasq); this shows how much of that budget the core takes.
 */
import { performance } from 'node:perf_hooks';
import { randomBytes } from '../src/crypto/index.js';
import { TYPE } from '../src/dns/constants.js';
import { encodeMessage, parseMessage } from '../src/dns/message.js';
import { DnsResolver } from '../src/dns/resolver.js';
import type { DnsTable } from '../src/dns/table.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 100_000);
const DEVICES = 500;
const UPSTREAM = { host: '192.168.1.1', port: 53 };

const TABLE: DnsTable = {
  baseDomain: 'burrow.internal',
  devices: Array.from({ length: DEVICES }, (_, i) => ({
    fqdn: `device-${i}.family.burrow.internal`,
    shortNames: [`device-${i}`],
    ips: [`100.64.${i >> 8}.${i & 0xff}`, `fd7a:115c:a1e0::${i.toString(16)}`],
  })),
  routes: [{ suffix: 'corp.example', servers: [{ host: '10.1.0.53', port: 53 }] }],
  fallback: [UPSTREAM],
  overrideAll: [],
  reverseZones: ['fd7a:115c:a1e0::/48'],
};

function query(name: string, type: number, id: number): Uint8Array {
  return encodeMessage({
    header: {
      id,
      qr: false,
      opcode: 0,
      aa: false,
      tc: false,
      rd: true,
      ra: false,
      z: false,
      ad: false,
      cd: false,
      rcode: 0,
    },
    questions: [{ name, type, class: 1 }],
    answers: [],
    authority: [],
    additional: [],
    opt: { udpSize: 1232, extendedRcode: 0, version: 0, flags: 0, options: [] },
  });
}

/** A spread of queries of one kind, as a stub sends them (ids and names vary). */
function queries(kind: string): Uint8Array[] {
  return Array.from({ length: 1024 }, (_, i) => {
    const d = (i * 7) % DEVICES;
    switch (kind) {
      case 'device':
        return query(
          i & 1 ? `device-${d}` : `device-${d}.family.burrow.internal`,
          i & 2 ? TYPE.AAAA : TYPE.A,
          i,
        );
      case 'reverse':
        return query(`${d & 0xff}.${d >> 8}.64.100.in-addr.arpa`, TYPE.PTR, i);
      case 'nxdomain':
        return query(`missing-${d}.family.burrow.internal`, TYPE.A, i);
      default:
        return query(`host-${d}.example.com`, TYPE.A, i);
    }
  });
}

interface Figures {
  perSecond: number;
  p50: number;
  p99: number;
}

/** Times `QUERIES` calls one by one: the rate from the total, the latencies from each call. */
function time(step: (i: number) => void): Figures {
  const lat = new Float64Array(QUERIES);
  for (let i = 0; i < 2000; i++) step(i); // warm up
  const t0 = performance.now();
  for (let i = 0; i < QUERIES; i++) {
    const s = performance.now();
    step(i);
    lat[i] = performance.now() - s;
  }
  const total = performance.now() - t0;
  lat.sort();
  return {
    perSecond: (QUERIES / total) * 1000,
    p50: lat[QUERIES >> 1]! * 1000,
    p99: lat[Math.floor(QUERIES * 0.99)]! * 1000,
  };
}

function answered(kind: string): Figures {
  const r = new DnsResolver<number>(TABLE, { random: randomBytes });
  const qs = queries(kind);
  return time((i) => {
    const action = r.query(qs[i & 1023]!, i, 'udp', 0);
    if (action.kind !== 'answer') throw new Error(`${kind}: ${action.kind}`);
  });
}

function forwarded(): Figures {
  const r = new DnsResolver<number>(TABLE, { random: randomBytes });
  const qs = queries('forwarded');
  // The upstream's reply: the forwarded query turned into an answer with one A record.
  const replyTo = (sent: Uint8Array) => {
    const m = parseMessage(sent);
    return encodeMessage({
      ...m,
      header: { ...m.header, qr: true, ra: true },
      answers: [
        {
          name: m.questions[0]!.name,
          type: TYPE.A,
          class: 1,
          ttl: 60,
          data: { kind: 'a', address: new Uint8Array([93, 184, 216, 34]) },
        },
      ],
    });
  };
  const replies = qs.map((q) => replyTo(q));
  return time((i) => {
    const action = r.query(qs[i & 1023]!, i, 'udp', 0);
    if (action.kind !== 'forward') throw new Error(`forwarded: ${action.kind}`);
    // The upstream's reply is the prepared one under the id the forwarder chose.
    const reply = replies[i & 1023]!;
    reply[0] = action.bytes[0]!;
    reply[1] = action.bytes[1]!;
    if (r.reply(reply, UPSTREAM, 0).kind !== 'answer') throw new Error('reply not taken');
  });
}

/** The floor: parse the query, encode the answer it gets (prepared once), nothing else. */
function bareCodec(): Figures {
  const r = new DnsResolver<number>(TABLE, { random: randomBytes });
  const qs = queries('device');
  const answers = qs.map((q, i) => {
    const a = r.query(q, i, 'udp', 0);
    return parseMessage(a.kind === 'answer' ? a.bytes : new Uint8Array(0));
  });
  return time((i) => {
    parseMessage(qs[i & 1023]!);
    encodeMessage(answers[i & 1023]!);
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const KINDS = ['bare codec', 'device', 'reverse', 'nxdomain', 'forwarded'] as const;
const runs = new Map<string, Figures[]>(KINDS.map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const kind of KINDS) {
    const f = kind === 'bare codec' ? bareCodec() : kind === 'forwarded' ? forwarded() : answered(kind);
    runs.get(kind)!.push(f);
  }
}
const fmt = (x: number, digits = 0) =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
console.log(
  `bench:dns-core  node ${process.version}, ${ROUNDS} rounds of ${QUERIES} queries, medians, one core, ${DEVICES} devices`,
);
const floor = median(runs.get('bare codec')!.map((f) => f.perSecond));
const result: Record<string, number> = {};
for (const kind of KINDS) {
  const fs = runs.get(kind)!;
  const rate = median(fs.map((f) => f.perSecond));
  const p50 = median(fs.map((f) => f.p50));
  const p99 = median(fs.map((f) => f.p99));
  result[kind] = rate;
  console.log(
    `  ${kind.padEnd(11)} ${fmt(rate).padStart(9)} queries/s   p50 ${fmt(p50, 1).padStart(5)} µs   p99 ${fmt(p99, 1).padStart(6)} µs   ratio to bare codec ${fmt(rate / floor, 2)}x`,
  );
}
console.log(
  `\ndns-core: device_qps=${Math.round(result.device!)} forwarded_qps=${Math.round(result.forwarded!)} bare_codec_qps=${Math.round(floor)} ratio=${(result.device! / floor).toFixed(2)} (bar for the whole resolver: 50,000 queries/s)`,
);
