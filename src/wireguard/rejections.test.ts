import { describe, expect, it } from 'vitest';
import { Sim, type SimNode } from '../../test/support/wg-sim.js';
import { selectCrypto } from '../crypto/index.js';
import type { DropReason } from './drops.js';

const crypto = selectCrypto();
const A_END = { host: '192.0.2.1', port: 51820 };
const B_END = { host: '198.51.100.2', port: 51821 };
const STRANGER = { host: '203.0.113.50', port: 999 };

function setup(seed = 11) {
  const sim = new Sim(crypto, seed);
  const a = sim.addNode('a', '10.0.0.1/32', A_END);
  const b = sim.addNode('b', '10.0.0.2/32', B_END);
  const [pa, pb] = sim.connect(a, b);
  return { sim, a, b, pa, pb };
}

/** Captures the datagrams of one full exchange: initiation, response, first transport message. */
function capture(seed = 11) {
  const s = setup(seed);
  s.sim.sendData(s.a, s.b, 1);
  s.sim.runFor(100);
  const of = (node: SimNode, type: number) => node.sent.find((x) => x.data[0] === type)!.data;
  return { ...s, initiation: of(s.a, 1), response: of(s.b, 2), transport: of(s.a, 4) };
}

function expectOnly(node: SimNode, reason: DropReason, count = 1) {
  const nonzero = Object.entries(node.device.drops).filter(([, n]) => n > 0);
  expect(Object.fromEntries(nonzero)).toEqual({ [reason]: count });
}

describe('Device: every malformed message is refused with a counted reason', () => {
  it('a replayed initiation', () => {
    const { sim, b, initiation } = capture();
    sim.inject(b, A_END, initiation);
    expectOnly(b, 'replayed-initiation');
  });

  it('an initiation older than the last one accepted', () => {
    const s = setup(12);
    s.sim.sendData(s.a, s.b, 1);
    const older = s.a.sent[0]!.data;
    s.sim.runFor(6000); // a second initiation with a newer timestamp is accepted later
    s.sim.apply(s.a, s.a.device.initiate(s.pa, s.sim.now));
    s.sim.runFor(100);
    s.sim.inject(s.b, A_END, older);
    expect(s.b.device.drops['replayed-initiation']).toBe(1);
  });

  it('tampered handshake messages and transport messages', () => {
    const { sim, a, b, initiation, response, transport } = capture();
    for (const [node, msg] of [
      [b, initiation],
      [a, response],
    ] as const) {
      const bad = msg.slice();
      bad[40]! ^= 1;
      sim.inject(node, STRANGER, bad);
    }
    expect(b.device.drops['bad-mac1']).toBe(1);
    expect(a.device.drops['bad-mac1']).toBe(1);
    const bad = transport.slice();
    bad[bad.length - 1]! ^= 1;
    sim.inject(b, A_END, bad);
    expect(b.device.drops['decrypt-failed']).toBe(1);
  });

  it('a transport message whose ciphertext was altered', () => {
    const { sim, b, transport } = capture();
    const bad = transport.slice();
    bad[20]! ^= 0x80;
    sim.inject(b, A_END, bad);
    expectOnly(b, 'decrypt-failed');
  });

  it('a replayed transport message', () => {
    const { sim, b, transport } = capture();
    sim.inject(b, A_END, transport);
    expectOnly(b, 'replayed');
  });

  it('truncated messages of every type', () => {
    const { sim, b, initiation, response, transport } = capture();
    sim.inject(b, A_END, initiation.subarray(0, 147));
    sim.inject(b, A_END, response.subarray(0, 91));
    sim.inject(b, A_END, new Uint8Array([3, 0, 0, 0, 1, 2]));
    sim.inject(b, A_END, transport.subarray(0, 31));
    sim.inject(b, A_END, new Uint8Array([4, 0]));
    expectOnly(b, 'bad-length', 5);
  });

  it('wrong or unknown types, including non-zero reserved bytes', () => {
    const { sim, b, transport } = capture();
    for (const type of [0, 5, 255]) sim.inject(b, A_END, new Uint8Array(148).fill(type, 0, 1));
    const reserved = transport.slice();
    reserved[1] = 1;
    sim.inject(b, A_END, reserved);
    expectOnly(b, 'unknown-type', 4);
  });

  it('oversize datagrams', () => {
    const { sim, b } = capture();
    const big = new Uint8Array(70_000);
    big[0] = 4;
    sim.inject(b, A_END, big);
    expectOnly(b, 'oversize');
  });

  it('an unknown receiver index', () => {
    const { sim, b, transport } = capture();
    const bad = transport.slice();
    bad[4]! ^= 0xff;
    sim.inject(b, A_END, bad);
    expectOnly(b, 'unknown-receiver-index');
  });

  it('a response to no initiation of ours', () => {
    const { sim, a, response } = capture();
    sim.inject(a, B_END, response); // the handshake it answered is finished
    expectOnly(a, 'unexpected-response');
  });

  it('an initiation from a key that is not a peer', () => {
    const sim = new Sim(crypto, 21);
    const a = sim.addNode('a', '10.0.0.1/32', A_END);
    const b = sim.addNode('b', '10.0.0.2/32', B_END);
    const [, pb] = sim.connect(a, b);
    b.device.removePeer(pb);
    sim.sendData(a, b, 1);
    sim.runFor(100);
    expectOnly(b, 'unknown-peer');
  });

  it('counters at the reject limit, and sessions past REJECT_AFTER_TIME', () => {
    const { sim, a, b, transport } = capture();
    const far = transport.slice();
    far.fill(0xff, 8, 16);
    sim.inject(b, A_END, far);
    expectOnly(b, 'counter-limit');
    sim.runFor(180_001);
    sim.inject(b, A_END, a.sent[a.sent.length - 1]!.data);
    expect(b.device.drops['expired-keypair']).toBe(1);
  });
});

describe('Device: cookies under load', () => {
  it('answers initiations with a valid mac1 but no mac2 with a cookie reply, and completes with the cookie', () => {
    const sim = new Sim(crypto, 31);
    const a = sim.addNode('a', '10.0.0.1/32', A_END);
    const b = sim.addNode('b', '10.0.0.2/32', B_END, { underLoadThreshold: 0 });
    const [pa, pb] = sim.connect(a, b);
    sim.sendData(a, b, 1);
    sim.runFor(100);
    expect(b.sent.map((s) => s.data[0])).toEqual([3]);
    expect(b.device.drops['cookie-sent']).toBe(1);
    expect(b.delivered).toHaveLength(0);
    // The retransmission carries mac2 made with the cookie, and succeeds.
    sim.runFor(6000);
    expect(b.seqsFrom(pb)).toEqual([1]);
    expect(pa.current).not.toBeNull();
  });

  it('rate-limits each source to a burst of 5 even when mac2 is valid', () => {
    const sim = new Sim(crypto, 32);
    const b = sim.addNode('b', '10.0.0.2/32', B_END, { underLoadThreshold: 0 });
    const clients = Array.from({ length: 8 }, (_, i) =>
      sim.addNode(`c${i}`, `10.0.1.${i}/32`, { host: '192.0.2.7', port: 1000 + i }),
    );
    for (const c of clients) sim.connect(c, b);
    // Every client first collects a cookie, then all retry at the same instant from the same host.
    const start = sim.now;
    const peers = clients.map((c) => c.device.getPeer(b.device.publicKey)!);
    for (const c of clients) sim.sendData(c, b, 1);
    sim.runFor(100);
    expect(b.device.drops['cookie-sent']).toBe(8);
    sim.runUntil(start + 5000);
    clients.forEach((c, i) => {
      sim.apply(c, c.device.initiate(peers[i]!, sim.now));
    });
    sim.runFor(100);
    expect(b.device.drops['rate-limited']).toBe(3);
    expect(b.delivered).toHaveLength(5);
    // The refused ones get through on later retries, as tokens refill.
    sim.runFor(30_000);
    expect(b.delivered).toHaveLength(8);
  });

  it('processes at most its handshake budget per second and keeps carrying transport packets', () => {
    const sim = new Sim(crypto, 34);
    const a = sim.addNode('a', '10.0.0.1/32', A_END);
    const b = sim.addNode('b', '10.0.0.2/32', B_END, { handshakesPerSecond: 10 });
    const [, pb] = sim.connect(a, b);
    sim.sendData(a, b, 1);
    sim.runFor(100);
    const initiation = a.sent.find((s) => s.data[0] === 1)!.data;
    for (let i = 0; i < 50; i++) sim.inject(b, STRANGER, initiation);
    // A burst of a fifth of a second's budget gets through to be refused on its merits; the rest is
    // dropped before any expensive work.
    expect(b.device.drops['replayed-initiation']).toBe(1);
    expect(b.device.drops['handshake-overload']).toBe(49);
    sim.sendData(a, b, 2);
    sim.runFor(100);
    expect(b.seqsFrom(pb)).toEqual([1, 2]);
  });

  it('ignores cookie replies that do not answer our last mac1', () => {
    const { sim, a, pa } = (() => {
      const s = setup(33);
      return s;
    })();
    const forged = new Uint8Array(64);
    forged[0] = 3;
    sim.apply(a, a.device.initiate(pa, sim.now));
    forged.set(a.sent[0]!.data.subarray(4, 8), 4); // our sender index, so it reaches the peer
    sim.inject(a, B_END, forged);
    expect(a.device.drops['bad-cookie-reply']).toBe(1);
  });
});
