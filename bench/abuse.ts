/**
 * bench:abuse — burrow-server under attack. The real `burrow-server serve` runs with its default
 * limits; BENCH_STREAMS registered devices (default 500) stream their maps, each from its own
 * loopback address; then one attacker, from one address, runs each flood of test/support/floods.ts
 * for BENCH_FLOOD_SECONDS (default 10), again and again until the time is up.
 *
 * Measured while idle and during each flood: /health latency (p50 and p99, a probe every 50 ms)
 * and the fan-out p99 (a device reports a new endpoint every 500 ms; the time until every other
 * device has it), each printed with its ratio to the idle figure, and the server's peak RSS.
 */
import { afterTest, runCleanups } from '../test/support/control-lab.js';
import {
  type FloodResult,
  handshakeFlood,
  idleChannels,
  keylessRegistrations,
  loginLink,
  percentile,
  Streams,
  type Target,
  type Watched,
  watch,
  wrongPasswords,
} from '../test/support/floods.js';
import { controlKey } from '../test/support/raw-control.js';
import { serverProcess } from '../test/support/server-process.js';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 500);
const FLOOD_SECONDS = Number(process.env.BENCH_FLOOD_SECONDS ?? 10);

/** One login link for every run of the password flood: each would otherwise leave a device waiting at its own. */
let link: string | undefined;
async function oneLink(t: Target): Promise<string> {
  link ??= await loginLink(t);
  return link;
}

const floods: [string, (t: Target) => Promise<FloodResult>][] = [
  ['key-less registrations, 100,000 per channel', (t) => keylessRegistrations(t, 100_000)],
  ['idle anonymous channels, 1,000 at once', (t) => idleChannels(t, 1000, 2000)],
  ['handshakes, 5,000/s', (t) => handshakeFlood(t, 5000, FLOOD_SECONDS)],
  ['wrong passwords, 1,000 from 1,000 addresses', async (t) => wrongPasswords(await oneLink(t), 1000)],
];

interface Figures {
  p50: number;
  p99: number;
  fanoutP99: number;
  rssMb: number;
}

const figures = (w: Watched): Figures => ({
  p50: percentile(w.healthMs, 50),
  p99: percentile(w.healthMs, 99),
  fanoutP99: percentile(w.fanoutMs, 99),
  rssMb: w.peakRssMb,
});

async function main(): Promise<void> {
  // serverProcess registers its clean-ups with the test support's afterTest; run them at the end.
  afterTest(() => undefined);
  const server = await serverProcess();
  const target = { url: server.url, serverKey: await controlKey(server.url) };
  let t = performance.now();
  const streams = await Streams.connect(target, server.store, STREAMS);
  console.log(`${STREAMS} devices streaming in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const idleWatch = watch(target, server.pid, server.db, streams);
  await new Promise((r) => setTimeout(r, FLOOD_SECONDS * 1000));
  const idle = figures(await idleWatch.stop());
  const line = (name: string, f: Figures, extra = '') =>
    console.log(
      `${name.padEnd(46)} /health p50 ${f.p50.toFixed(1)} ms (${(f.p50 / idle.p50).toFixed(2)}x), p99 ${f.p99.toFixed(1)} ms (${(f.p99 / idle.p99).toFixed(2)}x); fan-out p99 ${f.fanoutP99.toFixed(0)} ms (${(f.fanoutP99 / idle.fanoutP99).toFixed(2)}x); RSS ${f.rssMb.toFixed(0)} MB${extra}`,
    );
  line('idle', idle);

  const results: [string, Figures][] = [];
  for (const [name, flood] of floods) {
    const w = watch(target, server.pid, server.db, streams);
    t = performance.now();
    let runs = 0;
    let last = '';
    while (performance.now() - t < FLOOD_SECONDS * 1000) {
      last = (await flood(target)).text;
      runs++;
    }
    const f = figures(await w.stop());
    results.push([name, f]);
    line(name, f, `; ${runs} run(s), the last: ${last}`);
  }
  streams.close();
  const key = (name: string) => name.split(',')[0]!.replaceAll(' ', '_').replaceAll('-', '');
  console.log(
    `abuse: streams=${STREAMS} idle_health_p50_ms=${idle.p50.toFixed(1)} idle_health_p99_ms=${idle.p99.toFixed(1)} idle_fanout_p99_ms=${idle.fanoutP99.toFixed(0)} ${results
      .map(
        ([name, f]) =>
          `${key(name)}_health_p99_x=${(f.p99 / idle.p99).toFixed(2)} ${key(name)}_fanout_p99_x=${(f.fanoutP99 / idle.fanoutP99).toFixed(2)}`,
      )
      .join(' ')}`,
  );
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(runCleanups);
