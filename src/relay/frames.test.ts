import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import {
  encodeHealth,
  encodePeerGone,
  encodePing,
  encodePong,
  encodeRecv,
  encodeSend,
  MAX_BATCH_PACKET,
  MAX_HEALTH_BYTES,
  MAX_PACKET,
  MAX_RELAY_FRAME,
  parseClientFrame,
  parseRelayFrame,
  RelayFrameError,
  type RelayVersion,
  SendBatch,
  stampSource,
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
/** A send-batch frame, copied (SendBatch reuses its buffer). */
const sendBatch = (dst: Uint8Array, packets: Uint8Array[]): Uint8Array => {
  const batch = new SendBatch();
  for (const p of packets) batch.add(dst, p);
  return batch.take().slice();
};
/** A recv-batch frame from `src`, as the relay makes it. */
const recvBatch = (src: Uint8Array, packets: Uint8Array[]) => stampSource(sendBatch(key(0), packets), src);

describe('relay frames', () => {
  it('round-trips every frame type, with the packet as a view of the frame', () => {
    const packet = Uint8Array.of(1, 2, 3);
    const send = encodeSend(key(7), packet);
    const parsed = parseClientFrame(send, 1);
    expect(parsed).toEqual({ type: 'send', dst: key(7), packet });
    if (parsed.type === 'send') expect(parsed.packet.buffer).toBe(send.buffer);
    expect(parseClientFrame(encodePing(0xffff_ffff), 1)).toEqual({ type: 'ping', id: 0xffff_ffff });
    expect(parseRelayFrame(encodeRecv(key(9), packet), 1)).toEqual({ type: 'recv', src: key(9), packet });
    expect(parseRelayFrame(encodePong(42), 1)).toEqual({ type: 'pong', id: 42 });
    expect(parseRelayFrame(encodePeerGone(key(3)), 1)).toEqual({ type: 'peer-gone', key: key(3) });
    expect(parseRelayFrame(encodeHealth('relay restarting ✓'), 1)).toEqual({
      type: 'health',
      message: 'relay restarting ✓',
    });
    const max = new Uint8Array(MAX_PACKET).fill(5);
    const big = parseClientFrame(encodeSend(key(1), max), 1);
    expect(big.type === 'send' && Buffer.from(big.packet).equals(max)).toBe(true);
  });

  it('round-trips batches (version 2), the packets as views of the frame', () => {
    const packets = [
      Uint8Array.of(1),
      new Uint8Array(1420).fill(2),
      new Uint8Array(MAX_BATCH_PACKET - 1430).fill(3),
    ];
    const frame = sendBatch(key(4), packets);
    const parsed = parseClientFrame(frame, 2);
    expect(parsed).toEqual({ type: 'send-batch', dst: key(4), packets });
    if (parsed.type === 'send-batch') expect(parsed.packets[1]!.buffer).toBe(frame.buffer);
    expect(parseRelayFrame(recvBatch(key(5), packets), 2)).toEqual({
      type: 'recv-batch',
      src: key(5),
      packets,
    });
    // Every frame of version 1 is a frame of version 2.
    expect(parseClientFrame(encodeSend(key(1), Uint8Array.of(9)), 2).type).toBe('send');
    expect(parseRelayFrame(encodeRecv(key(1), Uint8Array.of(9)), 2).type).toBe('recv');
  });

  it('stamps the sender in place: a send becomes the recv, a send-batch the recv-batch', () => {
    const packet = Uint8Array.of(1, 2, 3);
    const send = encodeSend(key(7), packet);
    expect(stampSource(send, key(8))).toBe(send);
    expect(Buffer.from(send).equals(Buffer.from(encodeRecv(key(8), packet)))).toBe(true);
    const batch = sendBatch(key(7), [packet, packet]);
    expect(parseRelayFrame(stampSource(batch, key(8)), 2)).toEqual({
      type: 'recv-batch',
      src: key(8),
      packets: [packet, packet],
    });
  });

  it('fills a batch up to the largest frame, for one destination at a time', () => {
    const batch = new SendBatch();
    const packet = new Uint8Array(1420).fill(1);
    let n = 0;
    while (batch.fits(packet)) {
      batch.add(key(1), packet);
      n++;
    }
    expect(n).toBe(Math.floor((MAX_RELAY_FRAME - 33) / 1422));
    expect(batch.isFor(key(1))).toBe(true);
    expect(batch.isFor(key(2))).toBe(false);
    expect(() => batch.add(key(1), packet)).toThrow(RangeError);
    const frame = batch.take();
    expect(frame.length).toBeLessThanOrEqual(MAX_RELAY_FRAME);
    expect(batch.size).toBe(0);
    expect(batch.isFor(key(1))).toBe(false);
    const parsed = parseClientFrame(frame, 2);
    expect(parsed.type === 'send-batch' && parsed.packets.length).toBe(n);
    expect(() => batch.fits(new Uint8Array(0))).toThrow(RangeError);
    expect(() => batch.fits(new Uint8Array(MAX_BATCH_PACKET + 1))).toThrow(RangeError);
    expect(batch.fits(new Uint8Array(MAX_BATCH_PACKET))).toBe(true);
  });

  it('names what is wrong with a malformed frame', () => {
    expect(faultOf(() => parseClientFrame(new Uint8Array(0), 1))).toBe('empty');
    expect(faultOf(() => parseClientFrame(Uint8Array.of(0x81), 1))).toBe('unknown-type');
    expect(faultOf(() => parseRelayFrame(Uint8Array.of(0x01), 1))).toBe('unknown-type');
    expect(faultOf(() => parseClientFrame(Uint8Array.of(0x01, 1, 2), 1))).toBe('truncated');
    expect(faultOf(() => parseClientFrame(encodeSend(key(1), Uint8Array.of(1)).subarray(0, 33), 1))).toBe(
      'empty-packet',
    );
    const huge = new Uint8Array(1 + 32 + MAX_PACKET + 1);
    huge[0] = 0x01;
    expect(faultOf(() => parseClientFrame(huge, 1))).toBe('packet-too-large');
    expect(faultOf(() => parseClientFrame(Uint8Array.of(0x02, 0, 0, 1), 1))).toBe('truncated');
    expect(faultOf(() => parseClientFrame(Uint8Array.of(0x02, 0, 0, 0, 1, 9), 1))).toBe('trailing-bytes');
    expect(faultOf(() => parseRelayFrame(encodePeerGone(key(1)).subarray(0, 20), 1))).toBe('truncated');
    expect(faultOf(() => parseRelayFrame(Uint8Array.of(0x84, 0xff, 0xfe), 1))).toBe('bad-utf8');
    const longHealth = new Uint8Array(2 + MAX_HEALTH_BYTES).fill(0x61);
    longHealth[0] = 0x84;
    expect(faultOf(() => parseRelayFrame(longHealth, 1))).toBe('health-too-long');
  });

  it('names what is wrong with a malformed batch, and refuses batches on version 1', () => {
    const frame = sendBatch(key(1), [Uint8Array.of(1, 2), Uint8Array.of(3)]);
    expect(faultOf(() => parseClientFrame(frame, 1))).toBe('unknown-type');
    expect(faultOf(() => parseRelayFrame(stampSource(frame.slice(), key(2)), 1))).toBe('unknown-type');
    expect(faultOf(() => parseClientFrame(frame.subarray(0, 20), 2))).toBe('truncated');
    expect(faultOf(() => parseClientFrame(frame.subarray(0, 33), 2))).toBe('empty-batch');
    // An entry's header cut short, an entry longer than what follows, an entry of length 0.
    expect(faultOf(() => parseClientFrame(frame.subarray(0, 34), 2))).toBe('truncated');
    expect(faultOf(() => parseClientFrame(frame.subarray(0, frame.length - 1), 2))).toBe('truncated');
    const zero = frame.slice();
    zero[33] = 0;
    zero[34] = 0;
    expect(faultOf(() => parseClientFrame(zero, 2))).toBe('empty-packet');
    const longer = frame.slice();
    longer[34] = 200;
    expect(faultOf(() => parseClientFrame(longer, 2))).toBe('truncated');
  });

  it('refuses to encode what the other side would refuse to parse', () => {
    expect(() => encodeSend(new Uint8Array(31), Uint8Array.of(1))).toThrow(RangeError);
    expect(() => encodeSend(key(1), new Uint8Array(0))).toThrow(RangeError);
    expect(() => encodeRecv(key(1), new Uint8Array(MAX_PACKET + 1))).toThrow(RangeError);
    expect(() => encodePing(-1)).toThrow(RangeError);
    expect(() => encodePong(2 ** 32)).toThrow(RangeError);
    expect(() => encodeHealth('x'.repeat(MAX_HEALTH_BYTES + 1))).toThrow(RangeError);
    expect(() => new SendBatch().add(new Uint8Array(31), Uint8Array.of(1))).toThrow(RangeError);
    expect(() => stampSource(encodeSend(key(1), Uint8Array.of(1)), new Uint8Array(31))).toThrow(RangeError);
  });

  it('survives 50,000 random and mutated frames of each version: a frame or a RelayFrameError, nothing else', () => {
    const rng = new Rng(0x2e1a7);
    const packets = () => Array.from({ length: 1 + rng.int(5) }, () => rng.bytes(1 + rng.int(300)));
    const valid = [
      encodeSend(key(1), rng.bytes(100)),
      encodePing(7),
      encodeRecv(key(2), rng.bytes(1400)),
      encodePong(9),
      encodePeerGone(key(3)),
      encodeHealth('hello'),
      sendBatch(key(4), packets()),
      recvBatch(key(5), packets()),
    ];
    const faults = new Set<string>();
    let parsed = 0;
    for (let i = 0; i < 50_000; i++) {
      let bytes: Uint8Array;
      if (rng.chance(0.3)) {
        bytes = rng.bytes(rng.int(80));
        if (bytes.length > 0 && rng.chance(0.7)) {
          bytes[0] = rng.pick([0x01, 0x02, 0x03, 0x81, 0x82, 0x83, 0x84, 0x85]);
        }
      } else {
        const base = rng.pick(valid);
        bytes = base.slice(0, rng.chance(0.5) ? rng.int(base.length + 1) : base.length);
        for (let m = rng.int(4); m > 0 && bytes.length > 0; m--)
          bytes[rng.int(bytes.length)] = rng.u32() & 0xff;
        if (rng.chance(0.2)) bytes = Uint8Array.from([...bytes, ...rng.bytes(1 + rng.int(8))]);
      }
      for (const version of [1, 2] as RelayVersion[]) {
        for (const parse of [parseClientFrame, parseRelayFrame]) {
          const fault = faultOf(() => {
            const frame = parse(bytes, version);
            // What parses is well formed: batches hold at least one packet, none empty, and
            // nothing is left over.
            if ('packets' in frame) {
              const total = frame.packets.reduce((n, p) => n + 2 + p.length, 33);
              if (
                frame.packets.length === 0 ||
                frame.packets.some((p) => p.length === 0) ||
                total !== bytes.length
              ) {
                throw new Error(`bad batch parsed: ${frame.packets.length} packets`);
              }
            }
          });
          if (fault === 'parsed') parsed++;
          else faults.add(fault);
        }
      }
    }
    expect(parsed).toBeGreaterThan(1000);
    expect([...faults].sort()).toEqual(
      [
        'bad-utf8',
        'empty',
        'empty-batch',
        'empty-packet',
        'trailing-bytes',
        'truncated',
        'unknown-type',
      ].sort(),
    );
  });
});
