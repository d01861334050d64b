import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import {
  encodeHealth,
  encodePeerGone,
  encodePing,
  encodePong,
  encodeRecv,
  encodeSend,
  MAX_HEALTH_BYTES,
  MAX_PACKET,
  parseClientFrame,
  parseRelayFrame,
  RelayFrameError,
} from './frames.js';

const key = (fill: number) => new Uint8Array(32).fill(fill);
const faultOf = (parse: () => unknown): string => {
  try {
    parse();
  } catch (error) {
    if (error instanceof RelayFrameError) return error.fault;
    throw error;
  }
  return 'parsed';
};

describe('relay frames', () => {
  it('round-trips every frame type, with the packet as a view of the frame', () => {
    const packet = Uint8Array.of(1, 2, 3);
    const send = encodeSend(key(7), packet);
    const parsed = parseClientFrame(send);
    expect(parsed).toEqual({ type: 'send', dst: key(7), packet });
    if (parsed.type === 'send') expect(parsed.packet.buffer).toBe(send.buffer);
    expect(parseClientFrame(encodePing(0xffff_ffff))).toEqual({ type: 'ping', id: 0xffff_ffff });
    expect(parseRelayFrame(encodeRecv(key(9), packet))).toEqual({ type: 'recv', src: key(9), packet });
    expect(parseRelayFrame(encodePong(42))).toEqual({ type: 'pong', id: 42 });
    expect(parseRelayFrame(encodePeerGone(key(3)))).toEqual({ type: 'peer-gone', key: key(3) });
    expect(parseRelayFrame(encodeHealth('relay restarting ✓'))).toEqual({
      type: 'health',
      message: 'relay restarting ✓',
    });
    const max = new Uint8Array(MAX_PACKET).fill(5);
    const big = parseClientFrame(encodeSend(key(1), max));
    expect(big.type === 'send' && Buffer.from(big.packet).equals(max)).toBe(true);
  });

  it('names what is wrong with a malformed frame', () => {
    expect(faultOf(() => parseClientFrame(new Uint8Array(0)))).toBe('empty');
    expect(faultOf(() => parseClientFrame(Uint8Array.of(0x81)))).toBe('unknown-type');
    expect(faultOf(() => parseRelayFrame(Uint8Array.of(0x01)))).toBe('unknown-type');
    expect(faultOf(() => parseClientFrame(Uint8Array.of(0x01, 1, 2)))).toBe('truncated');
    expect(faultOf(() => parseClientFrame(encodeSend(key(1), Uint8Array.of(1)).subarray(0, 33)))).toBe(
      'empty-packet',
    );
    const huge = new Uint8Array(1 + 32 + MAX_PACKET + 1);
    huge[0] = 0x01;
    expect(faultOf(() => parseClientFrame(huge))).toBe('packet-too-large');
    expect(faultOf(() => parseClientFrame(Uint8Array.of(0x02, 0, 0, 1)))).toBe('truncated');
    expect(faultOf(() => parseClientFrame(Uint8Array.of(0x02, 0, 0, 0, 1, 9)))).toBe('trailing-bytes');
    expect(faultOf(() => parseRelayFrame(encodePeerGone(key(1)).subarray(0, 20)))).toBe('truncated');
    expect(faultOf(() => parseRelayFrame(Uint8Array.of(0x84, 0xff, 0xfe)))).toBe('bad-utf8');
    const longHealth = new Uint8Array(2 + MAX_HEALTH_BYTES).fill(0x61);
    longHealth[0] = 0x84;
    expect(faultOf(() => parseRelayFrame(longHealth))).toBe('health-too-long');
  });

  it('refuses to encode what the other side would refuse to parse', () => {
    expect(() => encodeSend(new Uint8Array(31), Uint8Array.of(1))).toThrow(RangeError);
    expect(() => encodeSend(key(1), new Uint8Array(0))).toThrow(RangeError);
    expect(() => encodeRecv(key(1), new Uint8Array(MAX_PACKET + 1))).toThrow(RangeError);
    expect(() => encodePing(-1)).toThrow(RangeError);
    expect(() => encodePong(2 ** 32)).toThrow(RangeError);
    expect(() => encodeHealth('x'.repeat(MAX_HEALTH_BYTES + 1))).toThrow(RangeError);
  });

  it('survives 50,000 random and mutated frames: a frame or a RelayFrameError, nothing else', () => {
    const rng = new Rng(0x2e1a7);
    const valid = [
      encodeSend(key(1), rng.bytes(100)),
      encodePing(7),
      encodeRecv(key(2), rng.bytes(1400)),
      encodePong(9),
      encodePeerGone(key(3)),
      encodeHealth('hello'),
    ];
    const faults = new Set<string>();
    let parsed = 0;
    for (let i = 0; i < 50_000; i++) {
      let bytes: Uint8Array;
      if (rng.chance(0.3)) {
        bytes = rng.bytes(rng.int(80));
        if (bytes.length > 0 && rng.chance(0.7)) bytes[0] = rng.pick([0x01, 0x02, 0x81, 0x82, 0x83, 0x84]);
      } else {
        const base = rng.pick(valid);
        bytes = base.slice(0, rng.chance(0.5) ? rng.int(base.length + 1) : base.length);
        for (let m = rng.int(4); m > 0 && bytes.length > 0; m--)
          bytes[rng.int(bytes.length)] = rng.u32() & 0xff;
        if (rng.chance(0.2)) bytes = Uint8Array.from([...bytes, ...rng.bytes(1 + rng.int(8))]);
      }
      for (const parse of [parseClientFrame, parseRelayFrame]) {
        const fault = faultOf(() => parse(bytes));
        if (fault === 'parsed') parsed++;
        else faults.add(fault);
      }
    }
    expect(parsed).toBeGreaterThan(1000);
    expect([...faults].sort()).toEqual(
      ['bad-utf8', 'empty', 'empty-packet', 'trailing-bytes', 'truncated', 'unknown-type'].sort(),
    );
  });
});
