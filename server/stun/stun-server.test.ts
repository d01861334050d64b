import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { buildBindingRequest, buildBindingSuccess, readBindingResponse } from '../../src/stun/binding.js';
import { encodeStunMessage } from '../../src/stun/message.js';
import { Rng } from '../../test/support/rng.js';
import { type StunServer, type StunServerStats, startStunServer } from './stun-server.js';

interface Client {
  readonly socket: Socket;
  readonly port: number;
  readonly received: Uint8Array[];
  send(datagram: Uint8Array, port: number, host: string): void;
}

const rng = new Rng(3478);
const cleanup: (() => unknown)[] = [];

afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function openClient(type: 'udp4' | 'udp6', address: string): Promise<Client> {
  const socket = createSocket(type);
  const received: Uint8Array[] = [];
  socket.on('message', (message) => received.push(new Uint8Array(message)));
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  cleanup.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return {
    socket,
    port: socket.address().port,
    received,
    send: (datagram, port, host) => socket.send(datagram, port, host),
  };
}

async function start(options: Parameters<typeof startStunServer>[0]): Promise<StunServer> {
  const server = await startStunServer(options);
  cleanup.push(() => server.close());
  return server;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Sends a Binding Request and returns the mapped endpoint from the answer. */
async function bindingFor(client: Client, serverHost: string, serverPort: number) {
  const transactionId = rng.bytes(12);
  const before = client.received.length;
  client.send(buildBindingRequest(transactionId), serverPort, serverHost);
  await until(() => client.received.length > before, 'an answer');
  const response = readBindingResponse(client.received[before]!);
  if (response.kind !== 'success') throw new Error(`expected success, got ${JSON.stringify(response)}`);
  expect(response.transactionId).toEqual(transactionId);
  return response.mapped;
}

function refusedTotal(stats: StunServerStats): number {
  return Object.values(stats.refused).reduce((a, b) => a + b, 0);
}

async function ipv6Loopback(): Promise<boolean> {
  const socket = createSocket('udp6');
  return new Promise((resolve) => {
    socket.once('error', () => resolve(false));
    socket.bind(0, '::1', () => socket.close(() => resolve(true)));
  });
}
const hasIpv6 = await ipv6Loopback();

describe('STUN server over real UDP', () => {
  it('tells an IPv4 client its own address and port', async () => {
    const server = await start({ host: '127.0.0.1', port: 0 });
    const client = await openClient('udp4', '127.0.0.1');
    expect(await bindingFor(client, '127.0.0.1', server.port)).toEqual({
      host: '127.0.0.1',
      port: client.port,
    });
    expect(server.stats()).toMatchObject({ received: 1, requests: 1, answered: 1, errors: 0 });
  });

  it.skipIf(!hasIpv6)(
    'on the dual-stack default, reports IPv4 sources as IPv4 and IPv6 as IPv6',
    async () => {
      const server = await start({ port: 0 });
      const v4 = await openClient('udp4', '127.0.0.1');
      const v6 = await openClient('udp6', '::1');
      expect(await bindingFor(v4, '127.0.0.1', server.port)).toEqual({ host: '127.0.0.1', port: v4.port });
      expect(await bindingFor(v6, '::1', server.port)).toEqual({ host: '::1', port: v6.port });
      expect(server.stats().answered).toBe(2);
    },
  );

  it.skipIf(!hasIpv6)('serves IPv6 alone when bound to ::1', async () => {
    const server = await start({ host: '::1', port: 0 });
    const client = await openClient('udp6', '::1');
    expect(await bindingFor(client, '::1', server.port)).toEqual({ host: '::1', port: client.port });
  });

  it('ignores garbage and non-requests, counting each by reason, and answers 420 for unknown attributes', async () => {
    const server = await start({ host: '127.0.0.1', port: 0, software: 'burrow-server' });
    const client = await openClient('udp4', '127.0.0.1');
    const txid = rng.bytes(12);
    const ignored = [
      new Uint8Array(0),
      new TextEncoder().encode('GET / HTTP/1.1\r\nHost: stun\r\n\r\n'),
      new Uint8Array([1, 0, 0, 0, ...rng.bytes(144)]), // a WireGuard initiation's shape
      buildBindingSuccess(txid, { host: '192.0.2.1', port: 1 }),
      encodeStunMessage({ method: 1, class: 'indication', transactionId: txid, attributes: [] }),
      encodeStunMessage({ method: 3, class: 'request', transactionId: txid, attributes: [] }),
    ];
    const noCookie = buildBindingRequest(txid);
    noCookie[4] = 0;
    ignored.push(noCookie);
    for (const datagram of ignored) client.send(datagram, server.port, '127.0.0.1');
    const changeRequest = encodeStunMessage({
      method: 1,
      class: 'request',
      transactionId: txid,
      attributes: [{ type: 0x0003, value: new Uint8Array(4) }],
    });
    client.send(changeRequest, server.port, '127.0.0.1');
    await until(() => server.stats().received === ignored.length + 1, 'every datagram');
    // The 420 must be in before the next request, or its answer could be taken for that one's.
    await until(() => client.received.length === 1, 'the 420 answer');
    // Answered last, so once it is in, any answer to the others would be too.
    expect(await bindingFor(client, '127.0.0.1', server.port)).toEqual({
      host: '127.0.0.1',
      port: client.port,
    });

    const stats = server.stats();
    expect(stats).toMatchObject({ received: 9, requests: 2, answered: 1, errors: 1, sendFailures: 0 });
    expect(stats.refused).toMatchObject({
      'too-short': 1,
      'leading-bits-set': 1,
      'bad-magic-cookie': 2,
      'unexpected-class': 2,
      'not-binding': 1,
      'rate-limited': 0,
    });
    expect(stats.received).toBe(stats.answered + stats.errors + refusedTotal(stats));
    expect(client.received.map((m) => readBindingResponse(m).kind)).toEqual(['error', 'success']);
  });

  it('rate-limits answers per source address, not per port', async () => {
    let now = 0;
    const server = await start({ host: '127.0.0.1', port: 0, now: () => now });
    const flooder = await openClient('udp4', '127.0.0.1');
    const samehost = await openClient('udp4', '127.0.0.1');
    for (let i = 0; i < 100; i++) flooder.send(buildBindingRequest(rng.bytes(12)), server.port, '127.0.0.1');
    await until(() => server.stats().received === 100, 'the flood');
    // The clock stands still: exactly the burst of 40 is answered.
    expect(server.stats()).toMatchObject({ requests: 100, answered: 40, refused: { 'rate-limited': 60 } });
    await until(() => flooder.received.length === 40, 'the answers');

    // Another port on the same host shares the bucket; another host does not.
    samehost.send(buildBindingRequest(rng.bytes(12)), server.port, '127.0.0.1');
    await until(() => server.stats().received === 101, 'the same-host request');
    expect(server.stats().refused['rate-limited']).toBe(61);
    const other = await openClient('udp4', '127.0.0.2');
    expect(await bindingFor(other, '127.0.0.1', server.port)).toEqual({
      host: '127.0.0.2',
      port: other.port,
    });

    // A second later, 20 more tokens.
    now += 1000;
    for (let i = 0; i < 30; i++) flooder.send(buildBindingRequest(rng.bytes(12)), server.port, '127.0.0.1');
    await until(() => server.stats().received === 132, 'the second flood');
    expect(server.stats()).toMatchObject({ answered: 61, refused: { 'rate-limited': 71 } });
  });

  it('rejects when the port is taken, and closes idempotently', async () => {
    const server = await start({ host: '127.0.0.1', port: 0 });
    await expect(startStunServer({ host: '127.0.0.1', port: server.port })).rejects.toThrow(/EADDRINUSE/);
    await Promise.all([server.close(), server.close()]);
  });
});
