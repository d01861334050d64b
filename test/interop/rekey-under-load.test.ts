/**
 * A rekey in the middle of traffic, against each peer: a 10 s TCP stream each way through the
 * tunnel while burrowd replaces the session, with no stall longer than 100 ms at the rekey and
 * every byte delivered (sha256 on both ends). This is where a datapath that holds session keys of
 * its own (a native fast path, worker threads) would drop or stall packets while the keys change:
 * a window of dropped tunnel packets shows as a stall at least as long, often stretched to TCP's
 * retransmission timeout (over 200 ms).
 *
 * A stall counts as the rekey's when it begins from 0.5 s before burrowd's new handshake is seen
 * to 1 s after (the old session is let go within that time too). A machine shared with other
 * work, as 2 cores running other test suites are, also stalls both streams at random moments for
 * 100-400 ms. So a stream with stalls at a rekey and elsewhere too tells nothing, and is made
 * again (up to 3 times); one with stalls at the rekey alone fails at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, isRoot, type Netns } from '../support/netns.js';
import { timedStream } from '../support/timed-stream.js';
import { type Pair, wgPair } from '../support/wg-pair.js';
import type { PeerKind } from '../support/wg-peers.js';

afterEach(cleanupAll, 60_000);

const SECONDS = 10;
/**
 * 10 MB/s (80 Mbit/s) each way: about 7,000 packets/s each way through the tunnel at every
 * moment, well within what every peer carries on a busy machine. At full speed Debian's
 * wireguard-go drops a share of what it receives, and the stalls that follow fall anywhere.
 */
const RATE = 10e6;
/** burrowd's limits divided by 24: it rekeys 120 s / 24 = 5 s after its session began. */
const TIME_SCALE = 24;
const MAX_STALL_MS = 100;
/** Where a stall counts as the rekey's: from this long before the new handshake is seen ... */
const BEFORE_REKEY_MS = 500;
/** ... to this long after. */
const AFTER_REKEY_MS = 1000;
/** Streams that stalled elsewhere too say nothing of the rekey: up to this many are made. */
const ATTEMPTS = 3;

/** Records when `wg show IFACE latest-handshakes` changes (Unix ms of the poll that saw it), until stopped. */
function watchHandshakes(ns: Netns, iface: string) {
  const seen: number[] = [];
  let last = '';
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const { stdout } = await ns
        .exec('wg', ['show', iface, 'latest-handshakes'])
        .catch(() => ({ stdout: last }));
      if (stdout !== last) {
        if (last !== '') seen.push(Date.now());
        last = stdout;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return {
    async stop(): Promise<number[]> {
      stopped = true;
      await done;
      return seen;
    },
  };
}

/**
 * One stream each way while burrowd rekeys. Every byte must arrive; the stalls of 100 ms or more
 * decide the verdict: none at a rekey ('clean'), some at a rekey and none elsewhere ('stalled':
 * the rekey's), or some at a rekey while the machine stalled elsewhere too ('noisy': nothing can
 * be told, so the caller streams again).
 */
async function streamThroughRekey(
  t: Pair,
): Promise<{ verdict: 'clean' | 'stalled' | 'noisy'; report: string }> {
  const handshakes = watchHandshakes(t.nsA, t.a.iface);
  const [there, back] = await Promise.all([
    timedStream(t.nsA, t.nsB, '10.9.0.2', { seconds: SECONDS, rate: RATE, port: 5201 }),
    timedStream(t.nsB, t.nsA, 'fd09::1', { seconds: SECONDS, rate: RATE, port: 5202 }),
  ]);
  const rekeys = await handshakes.stop();
  const start = Math.max(there.received.first, back.received.first);
  const end = Math.min(there.received.last, back.received.last);
  const relative = (gaps: { at: number; ms: number }[]) =>
    gaps.filter((g) => g.ms > 50).map((g) => `${Math.round(g.at - start)}+${Math.round(g.ms)}`);
  const report = JSON.stringify({
    streamMs: Math.round(end - start),
    rekeysAtMs: rekeys.map((r) => Math.round(r - start)),
    gapsOver50Ms: { there: relative(there.received.gaps), back: relative(back.received.gaps) },
  });
  // At least one rekey while both streams ran, well inside them.
  expect(
    rekeys.filter((r) => r > start + 1000 && r < end - 1000),
    report,
  ).not.toHaveLength(0);
  for (const { sent, received } of [there, back]) {
    expect(received.bytes, report).toBe(sent.bytes);
    expect(received.sha256, report).toBe(sent.sha256);
  }
  const stalls = [...there.received.gaps, ...back.received.gaps].filter((g) => g.ms >= MAX_STALL_MS);
  const atRekey = (g: { at: number }) =>
    rekeys.some((r) => g.at > r - BEFORE_REKEY_MS && g.at < r + AFTER_REKEY_MS);
  if (!stalls.some(atRekey)) return { verdict: 'clean', report };
  return { verdict: stalls.every(atRekey) ? 'stalled' : 'noisy', report };
}

describe.skipIf(!isRoot()).each<PeerKind>(['wireguard-go', 'wireguard-go-modern', 'burrowd'])(
  'burrowd ↔ %s, rekeying under load',
  (peerKind) => {
    it(`rekeys in the middle of a ${SECONDS} s stream each way: no stall over ${MAX_STALL_MS} ms at the rekey, every byte arrives`, async () => {
      const t = await wgPair({
        a: 'burrowd',
        b: peerKind,
        envA: { BURROW_TEST_TIME_SCALE: String(TIME_SCALE) },
      });
      // burrowd initiates, so the session is its own and it is the one to rekey (every 5 s of
      // traffic from then on).
      await t.nsA.exec('ping', ['-c', '1', '-W', '5', '10.9.0.2']);
      const reports: string[] = [];
      for (let attempt = 1; ; attempt++) {
        const { verdict, report } = await streamThroughRekey(t);
        reports.push(report);
        if (verdict === 'clean') return;
        expect(verdict, `a stall at the rekey, and none elsewhere: ${report}`).not.toBe('stalled');
        expect(
          attempt,
          `stalls at the rekey, but elsewhere too (a busy machine?), ${ATTEMPTS} times: ${reports.join(' ')}`,
        ).toBeLessThan(ATTEMPTS);
      }
    }, 150_000);
  },
);
