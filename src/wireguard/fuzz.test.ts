import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { Sim } from '../../test/support/wg-sim.js';
import { selectCrypto } from '../crypto/index.js';
import { DEFAULT_LIMITS } from './constants.js';
import { CookieGenerator } from './cookie.js';

const crypto = selectCrypto();
const MESSAGES = Number(process.env.BURROW_FUZZ_MESSAGES ?? 100_000);
const MAC1_OFFSET: Record<number, number> = { 1: 116, 2: 60 };

describe('Device: fuzzing a responder', () => {
  it(`survives ${MESSAGES} random and mutated messages, then still completes a handshake`, () => {
    const sim = new Sim(crypto, 77);
    const a = sim.addNode('a', '10.0.0.1/32', { host: '192.0.2.1', port: 1 });
    const b = sim.addNode('b', '10.0.0.2/32', { host: '192.0.2.2', port: 2 });
    const [pa, pb] = sim.connect(a, b);
    // Real messages to mutate: a full exchange in both directions.
    sim.sendData(a, b, 1);
    sim.runFor(100);
    sim.sendData(b, a, 2);
    sim.runFor(100);
    const corpus = [...a.sent, ...b.sent].map((s) => s.data);
    corpus.push(new Uint8Array(64).fill(3, 0, 1));
    // Signs mutated handshake messages with a valid mac1 so they get past the first check.
    const macs = new CookieGenerator(crypto, b.device.publicKey, DEFAULT_LIMITS.cookieRefreshTime);

    const handshakes = corpus.filter((m) => m[0] === 1 || m[0] === 2);
    const rng = new Rng(1234);
    const before = { ...b.device.drops };
    for (let i = 0; i < MESSAGES; i++) {
      let msg: Uint8Array;
      const mode = rng.int(4);
      if (mode === 0) {
        // Random bytes, usually behind a valid type word.
        msg = rng.bytes(rng.int(200));
        if (msg.length >= 4 && rng.chance(0.7)) msg.set([1 + rng.int(4), 0, 0, 0]);
      } else if (mode === 3) {
        // A handshake message altered past mac1 and re-signed, so it reaches the Noise code.
        msg = handshakes[rng.int(handshakes.length)]!.slice();
        const end = MAC1_OFFSET[msg[0]!]!;
        for (let f = 1 + rng.int(3); f > 0; f--) msg[4 + rng.int(end - 4)]! ^= 1 << rng.int(8);
        macs.addMacs(msg, end, sim.now);
      } else {
        // A real message with flipped bits, truncated or extended.
        msg = corpus[rng.int(corpus.length)]!.slice();
        for (let f = 1 + rng.int(4); f > 0; f--) msg[rng.int(msg.length)]! ^= 1 << rng.int(8);
        if (mode === 2) {
          const cut = rng.int(msg.length + 16);
          msg =
            cut <= msg.length
              ? msg.subarray(0, cut)
              : Uint8Array.from([...msg, ...rng.bytes(cut - msg.length)]);
        }
      }
      const from = { host: `203.0.113.${rng.int(256)}`, port: rng.int(65536) };
      sim.apply(b, b.device.receive(msg, from, sim.now));
      // Most of the run stays below the load threshold so messages reach the handshake code;
      // the last tenth arrives all at once and exercises the cookie path.
      if (i < MESSAGES * 0.9) sim.now += 5;
    }
    const drops = b.device.drops;
    const delta = (k: keyof typeof drops) => drops[k] - before[k];
    expect(delta('internal-error')).toBe(0);
    const counted = Object.keys(drops).reduce((n, k) => n + delta(k as keyof typeof drops), 0);
    // Every message is refused with a reason.
    expect(counted).toBe(MESSAGES);
    expect(delta('bad-mac1')).toBeGreaterThan(MESSAGES / 20);
    expect(delta('handshake-failed') + delta('unknown-peer')).toBeGreaterThan(MESSAGES / 20);
    expect(delta('cookie-sent')).toBeGreaterThan(0);
    expect(delta('bad-length') + delta('unknown-type')).toBeGreaterThan(MESSAGES / 10);

    // A good handshake still works afterwards. Timers skipped during the flood run first, then
    // REKEY_TIMEOUT passes so that our initiation is not suppressed.
    sim.runFor(16_000);
    const responses = () => b.sent.filter((x) => x.data[0] === 2).length;
    const before2 = responses();
    const old = pa.current;
    sim.apply(a, a.device.initiate(pa, sim.now));
    sim.runFor(100);
    expect(responses()).toBe(before2 + 1);
    expect(pa.current).not.toBe(old);
    sim.sendData(a, b, 99);
    sim.runFor(100);
    expect(b.seqsFrom(pb)).toContain(99);
    expect(b.device.drops['internal-error']).toBe(0);
  });
});
