/**
 * The UAPI's parser fuzzed with mutated and random streams, as they may come from any root process
 * talking to the socket: it never throws, answers every set with a request or a refusal with a
 * positive errno, and cuts the same frames whatever the chunking.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { type UapiFrame, UapiFramer } from './framing.js';

const STREAMS = Number(process.env.BURROW_FUZZ_MESSAGES ?? 20_000) / 10;

const key = (fill: string) => fill.repeat(64);
const DEVICE_LINES = [
  `private_key=${key('a')}`,
  `private_key=${key('0')}`,
  'listen_port=51820',
  'fwmark=4294967295',
  'replace_peers=true',
];
const PEER_LINES = [
  `preshared_key=${key('c')}`,
  'endpoint=192.0.2.1:51820',
  'endpoint=[fe80::1%eth0]:1',
  'persistent_keepalive_interval=25',
  'replace_allowed_ips=true',
  'allowed_ip=10.0.0.0/8',
  'allowed_ip=::/0',
  'update_only=true',
  'remove=true',
  'protocol_version=1',
];

/** A well-formed get or set, as lines. */
function request(rng: Rng): string[] {
  if (rng.chance(0.3)) return ['get=1', ''];
  const lines = ['set=1'];
  for (let i = rng.int(3); i > 0; i--) lines.push(rng.pick(DEVICE_LINES));
  for (let p = rng.int(3); p > 0; p--) {
    lines.push(`public_key=${key(rng.pick(['b', 'd', 'e']))}`);
    for (let i = rng.int(6); i > 0; i--) lines.push(rng.pick(PEER_LINES));
  }
  lines.push('');
  return lines;
}

function mutate(rng: Rng, line: string): string {
  const chars = [...line];
  const edits = 1 + rng.int(3);
  for (let i = 0; i < edits; i++) {
    const at = rng.int(chars.length + 1);
    const mode = rng.int(4);
    const random = rng.chance(0.5) ? String.fromCharCode(rng.int(256)) : rng.pick([...'=/:[]%\n0f.-']);
    if (mode === 0) chars.splice(at, 0, random);
    else if (mode === 1) chars.splice(at, 1);
    else if (mode === 2) chars[at] = random;
    else chars.splice(at, 0, ...chars.slice(0, rng.int(80)));
  }
  return chars.join('');
}

/** A few requests, some of their lines mutated; now and then bytes of noise instead. */
function stream(rng: Rng): Uint8Array {
  if (rng.chance(0.05)) return rng.bytes(rng.int(300));
  const lines: string[] = [];
  for (let r = 1 + rng.int(4); r > 0; r--) {
    for (const line of request(rng)) lines.push(rng.chance(0.03) ? mutate(rng, line) : line);
  }
  return new Uint8Array(Buffer.from(`${lines.join('\n')}\n`, 'latin1'));
}

/** `bytes` pushed in random chunks. */
function frames(bytes: Uint8Array, rng: Rng | null): UapiFrame[] {
  const framer = new UapiFramer({ maxLineBytes: 200, maxSetLines: 30 });
  if (rng === null) return framer.push(bytes);
  const out: UapiFrame[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = 1 + rng.int(20);
    out.push(...framer.push(bytes.subarray(at, at + n)));
    at += n;
  }
  return out;
}

describe('UAPI parser: fuzzing', () => {
  it(`reads ${STREAMS} mutated and random streams without throwing, the same in any chunks`, () => {
    const rng = new Rng(16);
    const seen = { get: 0, set: 0, refused: 0, error: 0 };
    for (let i = 0; i < STREAMS; i++) {
      const bytes = stream(rng);
      const whole = frames(bytes, null);
      expect(frames(bytes, rng)).toEqual(whole);
      for (const frame of whole) {
        if (frame.kind === 'get') seen.get++;
        else if (frame.kind === 'error') {
          seen.error++;
          expect(frame.errno).toBeGreaterThan(0);
        } else if ('errno' in frame.request) {
          seen.refused++;
          expect(frame.request.errno).toBeGreaterThan(0);
          expect(frame.request.message).toMatch(/^(line \d+: |the request has more than)/);
        } else {
          seen.set++;
          for (const peer of frame.request.peers) expect(peer.publicKey).toHaveLength(32);
        }
      }
    }
    // Every kind of outcome was reached, so the fuzzing got past the first checks.
    for (const count of Object.values(seen)) expect(count).toBeGreaterThan(10);
  });
});
