import { describe, expect, it } from 'vitest';
import { ipv4, ipv6, seqPayload } from '../../test/support/ip-packet.js';
import { Sim, type SimNode } from '../../test/support/wg-sim.js';
import { selectCrypto } from '../crypto/index.js';
import { parseCidr } from '../packet/ip-text.js';
import { DEFAULT_LIMITS, scaleLimits } from './constants.js';

const crypto = selectCrypto();
const A_END = { host: '192.0.2.1', port: 51820 };
const B_END = { host: '198.51.100.2', port: 51821 };

function pair(seed = 1, limits = DEFAULT_LIMITS) {
  const sim = new Sim(crypto, seed, undefined, limits);
  const a = sim.addNode('a', '10.0.0.1/32', A_END);
  const b = sim.addNode('b', '10.0.0.2/32', B_END);
  const [pa, pb] = sim.connect(a, b);
  return { sim, a, b, pa, pb };
}

function established(seed = 1) {
  const p = pair(seed);
  p.sim.sendData(p.a, p.b, 0);
  p.sim.runFor(100);
  expect(p.b.seqsFrom(p.pb)).toEqual([0]);
  return p;
}

const lastSent = (node: SimNode) => node.sent[node.sent.length - 1]!.data;

describe('Device: sessions', () => {
  it('a first packet triggers a handshake, is staged, and arrives once the session exists', () => {
    const { sim, a, b, pa, pb } = pair();
    sim.sendData(a, b, 7);
    expect(a.sent.map((s) => s.data.length)).toEqual([148]);
    sim.runFor(100);
    expect(b.seqsFrom(pb)).toEqual([7]);
    // The initiator's first transport message confirms the session for the responder.
    expect(pb.current).not.toBeNull();
    expect(pa.current?.isInitiator).toBe(true);
    sim.sendData(b, a, 8);
    sim.runFor(100);
    expect(a.seqsFrom(pa)).toEqual([8]);
    expect(pa.lastHandshakeWall).toBeGreaterThan(0);
    expect(a.device.drops['internal-error'] + b.device.drops['internal-error']).toBe(0);
  });

  it('carries IPv6 inside the tunnel', () => {
    const { sim, a, b, pa, pb } = pair();
    const v6a = parseCidr('fd00::1/128');
    const v6b = parseCidr('fd00::2/128');
    a.device.allowedIps.insert(v6b.addr, v6b.cidr, pa);
    b.device.allowedIps.insert(v6a.addr, v6a.cidr, pb);
    sim.apply(a, a.device.send(ipv6('fd00::1', 'fd00::2', seqPayload(42)), sim.now));
    sim.runFor(100);
    expect(b.delivered).toHaveLength(1);
    expect(b.delivered[0]!.packet[0]! >> 4).toBe(6);
  });

  it('works with a preshared key, and fails to connect when the keys differ', () => {
    const sim = new Sim(crypto, 3);
    const a = sim.addNode('a', '10.0.0.1/32', A_END);
    const b = sim.addNode('b', '10.0.0.2/32', B_END);
    const psk = new Uint8Array(32).fill(9);
    const [, pb] = sim.connect(a, b, { psk });
    sim.sendData(a, b, 1);
    sim.runFor(100);
    expect(b.seqsFrom(pb)).toEqual([1]);

    const sim2 = new Sim(crypto, 4);
    const c = sim2.addNode('c', '10.0.0.1/32', A_END);
    const d = sim2.addNode('d', '10.0.0.2/32', B_END);
    const [pc, pd] = sim2.connect(c, d, { psk });
    pd.presharedKey = new Uint8Array(32).fill(8);
    sim2.sendData(c, d, 1);
    sim2.runFor(1000);
    expect(d.delivered).toHaveLength(0);
    expect(pc.current).toBeNull();
    expect(c.device.drops['handshake-failed']).toBeGreaterThan(0);
  });

  it('pads transport payloads to a multiple of 16 but not past the MTU, and strips the padding', () => {
    const { sim, a, b, pb } = established();
    sim.sendData(a, b, 1, 33); // 20 + 33 = 53 bytes of IP
    expect(lastSent(a).length).toBe(16 + 64 + 16);
    sim.sendData(a, b, 2, 1400); // 1420 bytes: exactly the MTU, no padding
    expect(lastSent(a).length).toBe(16 + 1420 + 16);
    sim.runFor(100);
    expect(b.delivered.slice(1).map((d) => d.packet.length)).toEqual([53, 1420]);
    expect(b.seqsFrom(pb)).toEqual([0, 1, 2]);
  });

  it('answers data with a keepalive after KEEPALIVE_TIMEOUT when it has nothing to send', () => {
    const { sim, a, b } = established();
    const before = b.sent.length;
    sim.runFor(DEFAULT_LIMITS.keepaliveTimeout - 100);
    expect(b.sent.length).toBe(before);
    sim.runFor(200);
    expect(b.sent.length).toBe(before + 1);
    expect(lastSent(b).length).toBe(32); // an empty transport message
    expect(a.delivered).toHaveLength(0); // keepalives are not delivered
  });

  it('sends persistent keepalives at the configured interval', () => {
    const { sim, a, pa } = established();
    sim.runFor(15_000); // let the peer's keepalive for our first packet pass
    a.device.setPersistentKeepalive(pa, 25, sim.now);
    const before = a.sent.length;
    sim.runFor(25_000 * 4 + 10);
    expect(a.sent.length - before).toBe(4);
    expect(a.sent.slice(before).every((s) => s.data.length === 32)).toBe(true);
  });

  it('follows a roaming peer to the source of its latest authenticated packet', () => {
    const { sim, a, b, pa, pb } = established();
    const moved = { host: '203.0.113.9', port: 4000 };
    sim.move(a, moved);
    sim.sendData(a, b, 1);
    sim.runFor(100);
    expect(pb.endpoint).toEqual(moved);
    sim.sendData(b, a, 2);
    sim.runFor(100);
    expect(a.seqsFrom(pa)).toEqual([2]);
    // A forged packet from elsewhere does not move the endpoint.
    const forged = lastSent(a).slice();
    forged[20]! ^= 0xff;
    sim.inject(b, { host: '203.0.113.66', port: 1 }, forged);
    expect(pb.endpoint).toEqual(moved);
  });

  it('starts at most one handshake per REKEY_TIMEOUT, unless the driver knows the peer just came back', () => {
    const { sim, a, pa } = pair();
    expect(a.device.initiate(pa, sim.now)).toHaveLength(1);
    expect(a.device.initiate(pa, sim.now + 100)).toHaveLength(0);
    expect(a.device.initiate(pa, sim.now + 200, true)).toHaveLength(1);
  });

  it('keeps the endpoint its driver set when roaming is off, and still answers from where asked', () => {
    const sim = new Sim(crypto, 5);
    const a = sim.addNode('a', '10.0.0.1/32', A_END);
    const b = sim.addNode('b', '10.0.0.2/32', B_END, { roaming: false });
    const [pa, pb] = sim.connect(a, b);
    const moved = { host: '203.0.113.9', port: 4000 };
    sim.move(a, moved);
    sim.sendData(a, b, 1);
    sim.runFor(100);
    // The handshake's response went to where the initiation came from, so the session exists...
    expect(b.seqsFrom(pb)).toEqual([1]);
    // ...but b's endpoint for a stays the one its driver chose.
    expect(pb.endpoint).toEqual(A_END);
    sim.move(a, A_END);
    sim.sendData(b, a, 2);
    sim.runFor(100);
    expect(a.seqsFrom(pa)).toEqual([2]);
  });

  it('drops inner packets whose source the peer is not allowed to use', () => {
    const { sim, a, b } = established();
    sim.apply(a, a.device.send(ipv4('10.9.9.9', '10.0.0.2', seqPayload(1)), sim.now));
    sim.runFor(100);
    expect(b.delivered).toHaveLength(1);
    expect(b.device.drops['disallowed-source']).toBe(1);
  });

  it('counts packets for which no peer is routed', () => {
    const { sim, a } = pair();
    sim.apply(a, a.device.send(ipv4('10.0.0.1', '10.7.7.7', seqPayload(1)), sim.now));
    expect(a.device.drops['no-route']).toBe(1);
    expect(a.sent).toHaveLength(0);
  });

  it('stages at most 128 packets while waiting for a handshake, dropping the oldest', () => {
    const { sim, a, b, pb } = pair();
    for (let i = 0; i < 130; i++) sim.sendData(a, b, i);
    expect(a.device.drops['staged-overflow']).toBe(2);
    sim.runFor(100);
    expect(b.seqsFrom(pb)).toEqual(Array.from({ length: 128 }, (_, i) => i + 2));
  });
});

describe('Device: no private key', () => {
  it('with an all-zero key neither makes nor answers a handshake; a real key brings it back', () => {
    const { sim, a, b, pa, pb } = pair();
    const key = a.device.privateKey;
    a.device.setPrivateKey(new Uint8Array(32));
    expect(a.device.hasPrivateKey).toBe(false);
    sim.sendData(a, b, 1);
    expect(a.sent).toHaveLength(0);
    sim.sendData(b, a, 2);
    sim.runFor(100);
    expect(a.sent).toHaveLength(0);
    expect(a.delivered).toHaveLength(0);

    a.device.setPrivateKey(key);
    expect(a.device.hasPrivateKey).toBe(true);
    sim.sendData(a, b, 3);
    sim.runFor(100);
    // Packet 1 waited in the staging queue, as for any handshake.
    expect(b.seqsFrom(pb)).toEqual([1, 3]);
    expect(pa.current).not.toBeNull();
  });
});

describe('Device: timers and limits', () => {
  it('retransmits an unanswered initiation every REKEY_TIMEOUT (plus jitter) and gives up after REKEY_ATTEMPT_TIME', () => {
    const { sim, a, b } = pair();
    sim.conditions = { ...sim.conditions, handshakeLoss: 1 };
    sim.sendData(a, b, 1);
    sim.runFor(200_000);
    const times: number[] = [];
    let last = 0;
    for (const s of a.sent) if (s.data[0] === 1) times.push(++last);
    // As wireguard-go: retries continue while attempts <= REKEY_ATTEMPT_TIME / REKEY_TIMEOUT (18),
    // so 1 initial + 19 retries, then silence.
    expect(times.length).toBe(1 + 19);
    expect(b.delivered).toHaveLength(0);
  });

  it('starts a new handshake when sent data gets no answer for KEEPALIVE + REKEY_TIMEOUT', () => {
    const { sim, a, b } = established();
    sim.runFor(60_000); // past the keepalive exchange
    sim.conditions = { ...sim.conditions, transportLoss: 1 };
    const initiationsBefore = a.sent.filter((s) => s.data[0] === 1).length;
    sim.sendData(a, b, 1);
    sim.runFor(DEFAULT_LIMITS.keepaliveTimeout + DEFAULT_LIMITS.rekeyTimeout + 10);
    expect(a.sent.filter((s) => s.data[0] === 1).length).toBe(initiationsBefore + 1);
  });

  it('rekeys after REKEY_AFTER_TIME, refuses sessions older than REJECT_AFTER_TIME, and zeroes keys after 3x', () => {
    const limits = scaleLimits(60);
    const { sim, a, b, pa, pb } = pair(5, limits);
    sim.sendData(a, b, 0);
    sim.runFor(50);
    const first = pa.current!;
    sim.runUntil(sim.now + limits.rekeyAfterTime + 10);
    sim.sendData(a, b, 1);
    sim.runFor(50);
    expect(pa.current).not.toBe(first);
    expect(pa.previous).toBe(first);
    expect(b.seqsFrom(pb)).toEqual([0, 1]);
    // Now silence: after 3 x REJECT_AFTER_TIME all key material is gone.
    const second = pa.current!;
    sim.runFor(limits.rejectAfterTime * 3 + 100);
    expect(pa.current).toBeNull();
    expect(pa.previous).toBeNull();
    expect(pb.current).toBeNull();
    // The keys themselves are zeroed: the session now seals exactly as an all-zero key would.
    const zero = crypto.aead(new Uint8Array(32));
    for (const kp of [first, second]) {
      const a1 = new Uint8Array(32);
      const a2 = new Uint8Array(32);
      kp.send.seal(0, new Uint8Array(16), null, a1, 0);
      zero.seal(0, new Uint8Array(16), null, a2, 0);
      expect(a1).toEqual(a2);
    }
  });

  it('rekeys after REKEY_AFTER_MESSAGES and refuses to send at REJECT_AFTER_MESSAGES', () => {
    const limits = { ...DEFAULT_LIMITS, rekeyAfterMessages: 50, rejectAfterMessages: 80 };
    const { sim, a, b, pa, pb } = pair(6, limits);
    sim.sendData(a, b, 0);
    sim.runFor(50);
    const first = pa.current!;
    sim.runFor(6000); // initiations are rate-limited to one per REKEY_TIMEOUT
    for (let i = 1; i <= 60; i++) sim.sendData(a, b, i);
    sim.runFor(50);
    expect(pa.current).not.toBe(first);
    expect(b.seqsFrom(pb)).toEqual(Array.from({ length: 61 }, (_, i) => i));
  });
});
