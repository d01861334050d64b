/**
 * The resolver on real sockets over loopback: device names answered over UDP and TCP, other names
 * forwarded to a real upstream (UDP, and TCP for a query that came over TCP), a big answer
 * truncated over UDP and whole over TCP, and queries from an address that is not this host's
 * dropped and counted. (The mesh test runs it on the Burrow interface, asked from namespaces.)
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from '../../src/crypto/index.js';
import { RCODE, TYPE } from '../../src/dns/constants.js';
import { type DnsMessage, encodeMessage, parseMessage } from '../../src/dns/message.js';
import { DnsResolver } from '../../src/dns/resolver.js';
import type { DnsTable } from '../../src/dns/table.js';
import { frameForTcp, TcpFramer } from '../../src/dns/tcp-framing.js';
import { queryBytes } from '../../src/dns/testing.js';
import { freePort } from '../../test/support/ports.js';
import { type Asker, localAddresses, ResolverService } from './resolver-service.js';
import { QUERIES_PER_PORT } from './upstream-sockets.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** An upstream name server on 127.0.0.1: `big.example` has 100 addresses, anything else one. */
async function upstream(): Promise<{ port: number; asked: string[]; ports: Set<number> }> {
  const asked: string[] = [];
  const ports = new Set<number>();
  const answer = (bytes: Uint8Array, transport: string): Uint8Array => {
    const q = parseMessage(bytes);
    const name = q.questions[0]!.name;
    asked.push(`${transport} ${name}`);
    const count = name === 'big.example' ? 100 : 1;
    const reply: DnsMessage = {
      ...q,
      header: { ...q.header, qr: true, ra: true },
      answers: Array.from({ length: count }, (_, i) => ({
        name,
        type: TYPE.A,
        class: 1,
        ttl: 60,
        data: { kind: 'a' as const, address: new Uint8Array([192, 0, 2, i]) },
      })),
      opt: null,
    };
    return encodeMessage(reply);
  };
  const port = await freePort();
  const udp = createSocket('udp4');
  udp.on('message', (bytes, from) => {
    ports.add(from.port);
    udp.send(answer(bytes, 'udp'), from.port, from.address);
  });
  await new Promise<void>((r) => udp.bind(port, '127.0.0.1', r));
  const tcp: Server = createServer((socket) => {
    const framer = new TcpFramer();
    socket.on('data', (chunk) => {
      for (const m of framer.push(chunk)) socket.write(frameForTcp(answer(m, 'tcp')));
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', r));
  cleanups.push(() => {
    udp.close();
    tcp.close();
  });
  return { port, asked, ports };
}

async function serviceOn(upstreamPort: number, dgram: boolean, attemptTimeoutMs?: number) {
  const table: DnsTable = {
    baseDomain: 'burrow.internal',
    devices: [{ fqdn: 'webcam.family.burrow.internal', shortNames: ['webcam'], ips: ['100.64.0.2'] }],
    routes: [],
    fallback: [{ host: '127.0.0.1', port: upstreamPort }],
    overrideAll: [],
    reverseZones: [],
  };
  const resolver = new DnsResolver<Asker>(table, { random: randomBytes, attemptTimeoutMs });
  const port = await freePort();
  const s = new ResolverService(resolver, {
    now: () => performance.now(),
    log: () => {},
    port,
    // 127.0.0.2 plays a LAN host.
    isLocal: (a) => a !== '127.0.0.2',
    dgram,
  });
  await s.listen(['127.0.0.1']);
  cleanups.push(() => s.close());
  return { s, port, resolver };
}

function udpAsk(
  port: number,
  query: Uint8Array,
  from = '127.0.0.1',
  wait = 2000,
): Promise<DnsMessage | null> {
  return new Promise((resolve) => {
    const socket: UdpSocket = createSocket('udp4');
    const timer = setTimeout(() => done(null), wait);
    const done = (m: DnsMessage | null) => {
      clearTimeout(timer);
      socket.close();
      resolve(m);
    };
    socket.on('message', (bytes) => done(parseMessage(bytes)));
    socket.bind(0, from, () => socket.send(query, port, '127.0.0.1'));
  });
}

function tcpAsk(port: number, query: Uint8Array): Promise<DnsMessage> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(frameForTcp(query)));
    const framer = new TcpFramer();
    socket.on('data', (chunk) => {
      const [m] = framer.push(chunk);
      if (m) {
        socket.destroy();
        resolve(parseMessage(m));
      }
    });
    socket.on('error', reject);
  });
}

const addresses = (m: DnsMessage | null) =>
  m?.answers.map((r) => (r.data.kind === 'a' ? r.data.address.join('.') : r.data.kind)) ?? null;

describe.each([
  ['the addon’s batched sockets', false],
  ['node:dgram', true],
])('the resolver on its sockets (UDP through %s)', (_, dgram) => {
  const service = (upstreamPort: number) => serviceOn(upstreamPort, dgram);

  it('answers device names over UDP and TCP, and forwards other names to the upstream the same way', async () => {
    const up = await upstream();
    const { port } = await service(up.port);
    expect(addresses(await udpAsk(port, queryBytes('webcam')))).toEqual(['100.64.0.2']);
    expect(addresses(await tcpAsk(port, queryBytes('WebCam.family.burrow.internal')))).toEqual([
      '100.64.0.2',
    ]);
    const forwarded = await udpAsk(port, queryBytes('www.example', TYPE.A, { id: 0x5151 }));
    expect(forwarded?.header.id).toBe(0x5151);
    expect(addresses(forwarded)).toEqual(['192.0.2.0']);
    expect(addresses(await tcpAsk(port, queryBytes('tcp.example')))).toEqual(['192.0.2.0']);
    expect(up.asked).toEqual(['udp www.example', 'tcp tcp.example']);
  });

  it('forwards from ports that keep changing, and every answer still arrives', async () => {
    const up = await upstream();
    const { port } = await service(up.port);
    const count = QUERIES_PER_PORT * 3 + 1;
    const answers = await Promise.all(
      Array.from({ length: count }, (_, i) => udpAsk(port, queryBytes(`n${i}.example`, TYPE.A, { id: i }))),
    );
    expect(answers.map(addresses)).toEqual(Array(count).fill(['192.0.2.0']));
    expect(up.ports.size).toBe(4);
  });

  it('answers a burst of queries, each asker under its own id', async () => {
    const up = await upstream();
    const { port } = await service(up.port);
    // 200 at once: several receive batches, within the socket's default buffer (about 256 queries).
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => udpAsk(port, queryBytes('webcam', TYPE.A, { id: i }))),
    );
    expect(answers.map((m) => [m?.header.id, addresses(m)])).toEqual(
      Array.from({ length: 200 }, (_, i) => [i, ['100.64.0.2']]),
    );
  });

  it('takes the port on its own address only: another program may listen on it elsewhere', async () => {
    const up = await upstream();
    const { port } = await service(up.port);
    const other = createSocket('udp4');
    cleanups.push(() => other.close());
    await new Promise<void>((resolve, reject) => {
      other.once('error', reject);
      other.bind(port, '127.0.0.53', resolve);
    });
  });

  it('an upstream that never answers: each query gets SERVFAIL once its time is up, in order', async () => {
    const silent = await freePort();
    const { port } = await serviceOn(silent, dgram, 150);
    const asked = performance.now();
    const answers: [number, number, number][] = [];
    await Promise.all(
      [0, 1, 2].map(async (i) => {
        await new Promise((r) => setTimeout(r, i * 100));
        const m = await udpAsk(port, queryBytes(`n${i}.example`, TYPE.A, { id: i }), '127.0.0.1', 3000);
        answers.push([m?.header.id ?? -1, m?.header.rcode ?? -1, performance.now() - asked]);
      }),
    );
    expect(answers.map(([id, rcode]) => [id, rcode])).toEqual([
      [0, RCODE.SERVFAIL],
      [1, RCODE.SERVFAIL],
      [2, RCODE.SERVFAIL],
    ]);
    // Near its own deadline (sent at 0, 100 and 200 ms, given 150 ms), well before the client gives up.
    for (const [, , at] of answers) expect(at).toBeLessThan(1500);
  });

  it('a big answer is truncated over UDP (TC) and whole over TCP', async () => {
    const up = await upstream();
    const { port } = await service(up.port);
    const overUdp = await udpAsk(port, queryBytes('big.example', TYPE.A, { opt: null }));
    expect(overUdp?.header.tc).toBe(true);
    const overTcp = await tcpAsk(port, queryBytes('big.example'));
    expect(overTcp.header.tc).toBe(false);
    expect(overTcp.answers).toHaveLength(100);
  });

  it('drops, and counts, queries from an address that is not this host’s, and malformed ones', async () => {
    const up = await upstream();
    const { s, port, resolver } = await service(up.port);
    expect(await udpAsk(port, queryBytes('webcam'), '127.0.0.2', 300)).toBeNull();
    expect(s.counters.notLocal).toBe(1);
    expect(await udpAsk(port, new Uint8Array([1, 2, 3]), '127.0.0.1', 300)).toBeNull();
    expect(await udpAsk(port, new Uint8Array(2000), '127.0.0.1', 300)).toBeNull();
    expect(resolver.refusals()).toEqual({ 'too-short': 1, 'oversize-query': 1 });
    // Still answering.
    expect(addresses(await udpAsk(port, queryBytes('webcam')))).toEqual(['100.64.0.2']);
  });

  it('closes a TCP client that keeps asking without reading its answers', async () => {
    const up = await upstream();
    const { port } = await service(up.port);
    const one = frameForTcp(queryBytes('webcam'));
    const many = Buffer.concat(Array.from({ length: 200_000 }, () => one));
    const closed = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.pause(); // never reads
        socket.write(many, () => {});
      });
      socket.on('error', () => {});
      socket.on('close', () => resolve(true));
      setTimeout(() => {
        socket.destroy();
        resolve(false);
      }, 8000).unref();
    });
    expect(closed).toBe(true);
  });

  it('answers burrowd’s own questions (burrow dns query) as a program’s', async () => {
    const up = await upstream();
    const { s } = await service(up.port);
    expect(addresses(parseMessage(await s.ask(queryBytes('webcam'))))).toEqual(['100.64.0.2']);
    expect(addresses(parseMessage(await s.ask(queryBytes('big.example'))))).toHaveLength(100);
  });
});

describe('which addresses are this host’s', () => {
  it('loopback always; interface addresses, read again at most once a second when one is not known', () => {
    let reads = 0;
    let now = 0;
    const list = [['10.0.0.1'], ['10.0.0.1', '10.0.0.2']];
    const isLocal = localAddresses(
      () => list[Math.min(reads++, 1)]!,
      () => now,
    );
    expect(isLocal('127.0.0.53')).toBe(true);
    expect(isLocal('::1')).toBe(true);
    expect(isLocal('10.0.0.1')).toBe(true);
    expect(isLocal('10.0.0.2')).toBe(false);
    expect(reads).toBe(1);
    now = 1500;
    expect(isLocal('10.0.0.2')).toBe(true);
    expect(isLocal('10.0.0.3')).toBe(false);
    expect(isLocal('10.0.0.3')).toBe(false);
    expect(reads).toBe(2);
  });
});
