/**
 * A rekey in the middle of full-speed traffic, against each peer: a 10 s TCP stream each way
 * through the tunnel while burrowd replaces the session, with no stall longer than 100 ms and every
 * byte delivered (sha256 on both ends). This is where a datapath that holds session keys of its
 * own (a native fast path, worker threads) would drop or stall packets while the keys change.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, isRoot, type Netns } from '../support/netns.js';
import { timedStream } from '../support/timed-stream.js';
import { wgPair } from '../support/wg-pair.js';
import type { PeerKind } from '../support/wg-peers.js';

afterEach(cleanupAll, 60_000);

const SECONDS = 10;
/** burrowd's limits divided by 24: it rekeys 120 s / 24 = 5 s after its session began. */
const TIME_SCALE = 24;
const MAX_STALL_MS = 100;

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
      await new Promise((r) => setTimeout(r, 100));
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

describe.skipIf(!isRoot()).each<PeerKind>(['wireguard-go', 'wireguard-go-modern', 'burrowd'])(
  'burrowd ↔ %s, rekeying under load',
  (peerKind) => {
    it(`rekeys in the middle of a ${SECONDS} s stream each way: no stall over ${MAX_STALL_MS} ms, every byte arrives`, async () => {
      const t = await wgPair({
        a: 'burrowd',
        b: peerKind,
        envA: { BURROW_TEST_TIME_SCALE: String(TIME_SCALE) },
      });
      // burrowd initiates, so the session is its own and it is the one to rekey.
      await t.nsA.exec('ping', ['-c', '1', '-W', '5', '10.9.0.2']);
      const handshakes = watchHandshakes(t.nsA, t.a.iface);
      const [there, back] = await Promise.all([
        timedStream(t.nsA, t.nsB, '10.9.0.2', SECONDS, 5201),
        timedStream(t.nsB, t.nsA, 'fd09::1', SECONDS, 5202),
      ]);
      const rekeys = await handshakes.stop();
      const start = Math.max(there.received.first, back.received.first);
      const end = Math.min(there.received.last, back.received.last);
      const report = JSON.stringify({
        rekeysAfterMs: rekeys.map((r) => Math.round(r - start)),
        streamMs: Math.round(end - start),
        there: { bytes: there.received.bytes, gaps: there.received.gaps },
        back: { bytes: back.received.bytes, gaps: back.received.gaps },
      });
      // At least one rekey while both streams ran, well inside them.
      expect(
        rekeys.filter((r) => r > start + 1000 && r < end - 1000),
        report,
      ).not.toHaveLength(0);
      for (const { sent, received } of [there, back]) {
        expect(received.bytes, report).toBe(sent.bytes);
        expect(received.sha256, report).toBe(sent.sha256);
        expect(received.maxGapMs, report).toBeLessThan(MAX_STALL_MS);
      }
    }, 60_000);
  },
);
