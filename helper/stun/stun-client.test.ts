import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { buildBindingError, buildBindingSuccess } from '../../src/stun/binding.js';
import { isStunPacket } from '../../src/stun/detect.js';
import { parseStunMessage } from '../../src/stun/message.js';
import { Rng } from '../../test/support/rng.js';
import { type StunServer, startStunServer } from '../../test/support/stun-responder.js';
import { type Schedule, StunClient } from './stun-client.js';

/** Timers on a clock that moves only when told to. */
class FakeClock {
  now = 0;
  private timers: { at: number; callback: () => void }[] = [];

  readonly schedule: Schedule = (callback, ms) => {
    const timer = { at: this.now + ms, callback };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  };

  get pending(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const next = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (next === undefined) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.now = next.at;
      next.callback();
    }
    this.now = until;
  }
}

const SERVER = { host: '192.0.2.1', port: 3478 };
const MAPPED = { host: '198.51.100.4', port: 61000 };

/** A client on a fake clock whose requests are recorded, not sent. */
function fakeClient(seed = 1) {
  const clock = new FakeClock();
  const rng = new Rng(seed);
  const sent: { at: number; datagram: Uint8Array; host: string; port: number }[] = [];
  const client = new StunClient({
    send: (datagram, host, port) => sent.push({ at: clock.now, datagram, host, port }),
    schedule: clock.schedule,
    randomBytes: (n) => rng.bytes(n),
  });
  const transactionOf = (i: number) => sent[i]!.datagram.subarray(8, 20);
  return { clock, client, sent, transactionOf };
}

async function settled<T>(promise: Promise<T>): Promise<{ value: T } | 'pending'> {
  return Promise.race([
    promise.then((value) => ({ value })),
    new Promise<'pending'>((r) => setImmediate(() => r('pending'))),
  ]);
}

describe('StunClient on a fake clock', () => {
  it('retransmits at 0, 250, 750, 1750 and 3750 ms, then gives up at the timeout', async () => {
    const { clock, client, sent } = fakeClient();
    const result = client.requestBinding(SERVER);
    clock.advance(4999);
    expect(sent.map((s) => s.at)).toEqual([0, 250, 750, 1750, 3750]);
    expect(new Set(sent.map((s) => Buffer.from(s.datagram).toString('hex'))).size).toBe(1);
    expect(sent[0]).toMatchObject(SERVER);
    expect(await settled(result)).toBe('pending');
    clock.advance(1);
    expect(await result).toBeNull();
    expect(clock.pending).toBe(0);
  });

  it('sends a well-formed Binding Request with FINGERPRINT', () => {
    const { client, sent } = fakeClient();
    void client.requestBinding(SERVER);
    const parsed = parseStunMessage(sent[0]!.datagram);
    expect(parsed).toMatchObject({ ok: true, message: { method: 1, class: 'request', fingerprint: true } });
    client.close();
  });

  it('resolves with the mapped endpoint of the answer whose transaction id matches, and stops', async () => {
    const { clock, client, sent, transactionOf } = fakeClient();
    const result = client.requestBinding(SERVER);
    clock.advance(300);
    expect(client.receive(buildBindingSuccess(new Uint8Array(12), MAPPED))).toBe(false);
    expect(client.receive(new Uint8Array([1, 0, 0, 0]))).toBe(false);
    expect(client.receive(buildBindingSuccess(transactionOf(0), MAPPED))).toBe(true);
    expect(await result).toEqual(MAPPED);
    expect(clock.pending).toBe(0);
    // A late duplicate of the answer settles nothing.
    expect(client.receive(buildBindingSuccess(transactionOf(0), MAPPED))).toBe(false);
    clock.advance(10_000);
    expect(sent).toHaveLength(2);
  });

  it('keeps concurrent bindings apart', async () => {
    const { client, transactionOf } = fakeClient();
    const first = client.requestBinding(SERVER);
    const second = client.requestBinding({ host: '2001:db8::1', port: 3478 });
    const other = { host: '2001:db8::99', port: 1 };
    client.receive(buildBindingSuccess(transactionOf(1), other));
    client.receive(buildBindingSuccess(transactionOf(0), MAPPED));
    expect(await Promise.all([first, second])).toEqual([MAPPED, other]);
  });

  it('gives up at once on an error response, and on close', async () => {
    const { client, transactionOf } = fakeClient();
    const refused = client.requestBinding(SERVER);
    expect(client.receive(buildBindingError(transactionOf(0), 420, 'Unknown Attribute'))).toBe(true);
    expect(await refused).toBeNull();
    const closed = client.requestBinding(SERVER);
    client.close();
    expect(await closed).toBeNull();
  });

  it('leaves no timer behind when the answer arrives within the send, and survives a throwing send', async () => {
    const clock = new FakeClock();
    let client: StunClient;
    let sends = 0;
    client = new StunClient({
      send: (datagram) => {
        sends++;
        if (sends === 1) throw new Error('EHOSTUNREACH');
        client.receive(buildBindingSuccess(datagram.subarray(8, 20), MAPPED));
      },
      schedule: clock.schedule,
    });
    const result = client.requestBinding(SERVER, { rtoMs: 100 });
    clock.advance(100);
    expect(await result).toEqual(MAPPED);
    expect(sends).toBe(2);
    expect(clock.pending).toBe(0);
  });

  it('refuses nonsensical options', () => {
    const { client } = fakeClient();
    expect(() => client.requestBinding(SERVER, { rtoMs: 0 })).toThrow(RangeError);
    expect(() => client.requestBinding(SERVER, { timeoutMs: Number.NaN })).toThrow(RangeError);
    expect(() => client.requestBinding(SERVER, { maxTransmissions: -1 })).toThrow(RangeError);
  });
});

async function ipv6Loopback(): Promise<boolean> {
  const socket = createSocket('udp6');
  return new Promise((resolve) => {
    socket.once('error', () => resolve(false));
    socket.bind(0, '::1', () => socket.close(() => resolve(true)));
  });
}
const hasIpv6 = await ipv6Loopback();

describe('StunClient against the real server', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const close of cleanup.splice(0).reverse()) await close();
  });

  async function udp(type: 'udp4' | 'udp6', address: string): Promise<Socket> {
    const socket = createSocket(type);
    await new Promise<void>((resolve) => socket.bind(0, address, resolve));
    cleanup.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
    return socket;
  }

  async function server(host: string): Promise<StunServer> {
    const started = await startStunServer({ host, port: 0 });
    cleanup.push(() => started.close());
    return started;
  }

  /** A client on `socket`, as burrowd will run it on its WireGuard socket: STUN is picked out. */
  function clientOn(socket: Socket, drop: (sendIndex: number) => boolean = () => false) {
    let sends = 0;
    const client = new StunClient({
      send: (datagram, host, port) => {
        if (!drop(sends++)) socket.send(datagram, port, host);
      },
    });
    socket.on('message', (message) => {
      if (isStunPacket(message)) client.receive(message);
    });
    cleanup.push(() => client.close());
    return { client, sends: () => sends };
  }

  it('learns the socket’s own address and port over IPv4', async () => {
    const stun = await server('127.0.0.1');
    const socket = await udp('udp4', '127.0.0.1');
    const { client } = clientOn(socket);
    expect(await client.requestBinding({ host: '127.0.0.1', port: stun.port })).toEqual({
      host: '127.0.0.1',
      port: socket.address().port,
    });
  });

  it.skipIf(!hasIpv6)('learns it over IPv6', async () => {
    const stun = await server('::');
    const socket = await udp('udp6', '::1');
    const { client } = clientOn(socket);
    expect(await client.requestBinding({ host: '::1', port: stun.port })).toEqual({
      host: '::1',
      port: socket.address().port,
    });
  });

  it('recovers from a lost first request by retransmitting', async () => {
    const stun = await server('127.0.0.1');
    const socket = await udp('udp4', '127.0.0.1');
    const { client, sends } = clientOn(socket, (i) => i === 0);
    const started = performance.now();
    expect(await client.requestBinding({ host: '127.0.0.1', port: stun.port })).toEqual({
      host: '127.0.0.1',
      port: socket.address().port,
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
    expect(sends()).toBe(2);
    expect(stun.stats()).toMatchObject({ received: 1, answered: 1 });
  });

  it('resolves null at the timeout when nothing answers', async () => {
    const silent = await udp('udp4', '127.0.0.1');
    let requests = 0;
    silent.on('message', () => requests++);
    const socket = await udp('udp4', '127.0.0.1');
    const { client } = clientOn(socket);
    const started = performance.now();
    const result = await client.requestBinding(
      { host: '127.0.0.1', port: silent.address().port },
      { rtoMs: 100, timeoutMs: 600 },
    );
    expect(result).toBeNull();
    expect(performance.now() - started).toBeGreaterThanOrEqual(590);
    // Sent at 0, 100 and 300 ms; the next would be at 700.
    expect(requests).toBe(3);
  });
});
