/**
 * The floods of the abuse acceptance, end to end against the real burrow-server process with its
 * default limits, each from one attacker: while each runs, /health answers within 1 s, the
 * server's memory and login rows stay bounded, and registered devices keep hearing each other's
 * changes. bench:abuse runs the same floods (test/support/floods.ts) and prints the figures.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCleanups } from '../support/control-lab.js';
import {
  type FloodResult,
  handshakeFlood,
  idleChannels,
  keylessRegistrations,
  loginLink,
  Streams,
  type Target,
  watch,
  wrongPasswords,
} from '../support/floods.js';
import { controlKey } from '../support/raw-control.js';
import { serverProcess } from '../support/server-process.js';

afterEach(runCleanups);

// The first start may compile the server; do it once, outside the timed tests.
beforeAll(async () => {
  await serverProcess();
  await runCleanups();
}, 180_000);

/** Each flood, and how much of it the server may take on (links, open channels, upgrades, password checks). */
const floods: [string, (t: Target) => Promise<FloodResult>, number][] = [
  ['100,000 key-less registrations on one channel', (t) => keylessRegistrations(t, 100_000), 10],
  ['1,000 idle anonymous channels', (t) => idleChannels(t, 1000, 3000), 64],
  ['5,000 handshakes per second from one address', (t) => handshakeFlood(t, 5000, 3), 100],
  ['1,000 wrong passwords', async (t) => wrongPasswords(await loginLink(t), 1000), 60],
];

describe('floods against burrow-server', () => {
  it.each(floods)(
    '%s: /health within 1 s, bounded memory and rows, deltas keep flowing',
    async (_name, flood, mayAccept) => {
      const server = await serverProcess();
      const target = { url: server.url, serverKey: await controlKey(server.url) };
      const streams = await Streams.connect(target, server.store, 10);
      const watching = watch(target, server.pid, server.db, streams);
      const result = await flood(target);
      const seen = await watching.stop();
      streams.close();
      console.log(
        `${result.text}; /health max ${Math.max(...seen.healthMs).toFixed(0)} ms over ${seen.healthMs.length} probes; fan-out max ${Math.max(...seen.fanoutMs).toFixed(0)} ms over ${seen.fanoutMs.length} rounds; RSS ${seen.peakRssMb.toFixed(0)} MB; ${seen.maxLoginRows} login rows`,
      );
      expect(result.accepted).toBeLessThanOrEqual(mayAccept);
      expect(Math.max(...seen.healthMs)).toBeLessThan(1000);
      expect(seen.fanoutMs.length).toBeGreaterThan(0);
      expect(Math.max(...seen.fanoutMs)).toBeLessThan(2000);
      expect(seen.peakRssMb).toBeLessThan(300);
      expect(seen.maxLoginRows).toBeLessThanOrEqual(20);
    },
    180_000,
  );
});
