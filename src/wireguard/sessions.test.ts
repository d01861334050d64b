import { describe, expect, it } from 'vitest';
import { type Conditions, Sim } from '../../test/support/wg-sim.js';
import { selectCrypto } from '../crypto/index.js';
import { scaleLimits } from './constants.js';

const crypto = selectCrypto();
const SESSIONS = Number(process.env.BURROW_SIM_SESSIONS ?? 2000);

function randomConditions(sim: Sim): Conditions {
  const r = sim.rng;
  return {
    handshakeLoss: [0, 0, 0.1, 0.3][r.int(4)]!,
    transportLoss: 0,
    duplicate: [0, 0.1, 0.3][r.int(3)]!,
    delayMin: 1,
    delayMax: 1 + r.int(40),
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);

describe('Device: random sessions between two cores', () => {
  it(`${SESSIONS} sessions with loss, duplication, reordering and simultaneous initiation deliver every packet exactly once`, () => {
    let simultaneous = 0;
    let handshakes = 0;
    for (let seed = 0; seed < SESSIONS; seed++) {
      const sim = new Sim(crypto, seed);
      sim.conditions = randomConditions(sim);
      const a = sim.addNode('a', '10.0.0.1/32', { host: '192.0.2.1', port: 1 });
      const b = sim.addNode('b', '10.0.0.2/32', { host: '192.0.2.2', port: 2 });
      const [pa, pb] = sim.connect(a, b);
      const n = 1 + sim.rng.int(20);
      const bothStart = sim.rng.chance(0.3);
      if (bothStart) simultaneous++;
      sim.sendData(a, b, 0);
      if (bothStart) sim.sendData(b, a, 0);
      for (let i = 1; i < n; i++) {
        sim.runFor(sim.rng.int(30));
        if (sim.rng.chance(0.5)) sim.sendData(a, b, i);
        else sim.sendData(b, a, i);
      }
      sim.runFor(120_000);
      const ab = b.seqsFrom(pb);
      const ba = a.seqsFrom(pa);
      const sent = [...ab, ...ba];
      const context = `seed ${seed}, conditions ${JSON.stringify(sim.conditions)}`;
      // Exactly once: no sequence number twice, none missing.
      expect(sorted(sent), context).toEqual(
        range(0, n)
          .concat(bothStart ? [0] : [])
          .sort((x, y) => x - y),
      );
      expect(a.device.drops['internal-error'] + b.device.drops['internal-error'], context).toBe(0);
      handshakes +=
        a.sent.filter((s) => s.data[0] === 1).length + b.sent.filter((s) => s.data[0] === 1).length;
    }
    expect(simultaneous).toBeGreaterThan(SESSIONS / 5);
    expect(handshakes).toBeGreaterThan(SESSIONS);
  });

  it('rekeys repeatedly in the middle of traffic with reordering and loses no packet', () => {
    const limits = scaleLimits(20); // REKEY_AFTER_TIME 6 s, REJECT_AFTER_TIME 9 s
    for (const seed of [1, 2, 3]) {
      const sim = new Sim(
        crypto,
        seed,
        { handshakeLoss: 0, transportLoss: 0, duplicate: 0.05, delayMin: 1, delayMax: 20 },
        limits,
      );
      const a = sim.addNode('a', '10.0.0.1/32', { host: '192.0.2.1', port: 1 });
      const b = sim.addNode('b', '10.0.0.2/32', { host: '192.0.2.2', port: 2 });
      const [pa, pb] = sim.connect(a, b);
      const sessions = new Set<unknown>();
      const total = 6000;
      for (let i = 0; i < total; i++) {
        sim.sendData(a, b, i);
        sim.sendData(b, a, i);
        sim.runFor(10);
        sessions.add(pa.current);
      }
      sim.runFor(1000);
      // 60 s of traffic with a 6 s rekey interval: many sessions, not one packet lost or repeated.
      expect(sessions.size).toBeGreaterThanOrEqual(8);
      expect(sorted(b.seqsFrom(pb))).toEqual(range(0, total));
      expect(sorted(a.seqsFrom(pa))).toEqual(range(0, total));
      expect(a.device.drops['decrypt-failed'] + b.device.drops['decrypt-failed']).toBe(0);
    }
  });
});
