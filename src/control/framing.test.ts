import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import {
  encodeFrame,
  FirstFrameReader,
  FrameError,
  FrameReader,
  handshakeFeed,
  MAX_FRAME,
} from './framing.js';

describe('control framing', () => {
  it('reassembles frames from any chunking of the stream', () => {
    const rng = new Rng(5);
    for (let trial = 0; trial < 200; trial++) {
      const frames = Array.from({ length: 1 + rng.int(6) }, () => rng.bytes(rng.int(300)));
      const stream = Uint8Array.from(frames.flatMap((f) => [...encodeFrame(f)]));
      const reader = new FrameReader();
      const got: Uint8Array[] = [];
      for (let at = 0; at < stream.length; ) {
        const n = 1 + rng.int(40);
        got.push(...reader.push(stream.subarray(at, at + n)));
        at += n;
      }
      expect(got.map((g) => [...g])).toEqual(frames.map((f) => [...f]));
      expect(reader.pending).toBe(0);
    }
  });

  it('refuses an oversize frame from its header alone, before buffering it', () => {
    const reader = new FrameReader(1000);
    const header = new Uint8Array([0, 0, 0x03, 0xe9]); // 1001
    expect(() => reader.push(header)).toThrow(FrameError);
    expect(() => encodeFrame(new Uint8Array(MAX_FRAME + 1))).toThrow(/exceeds/);
  });

  it('survives random garbage: frames or a FrameError, nothing else', () => {
    const rng = new Rng(6);
    for (let i = 0; i < 20_000; i++) {
      const reader = new FrameReader(1 << 16);
      try {
        reader.push(rng.bytes(rng.int(64)));
        reader.push(rng.bytes(rng.int(64)));
      } catch (error) {
        expect(error).toBeInstanceOf(FrameError);
      }
    }
  });

  it('hands over whatever followed the first frame, whole frames and partial ones alike', () => {
    const first = new FirstFrameReader(64);
    const stream = Uint8Array.from([
      ...encodeFrame(Uint8Array.of(1, 2)),
      ...encodeFrame(Uint8Array.of(3)),
      0,
      0,
    ]);
    expect(first.push(stream.subarray(0, 3))).toBeNull();
    const got = first.push(stream.subarray(3))!;
    expect([...got.frame]).toEqual([1, 2]);
    const next = new FrameReader();
    expect(next.push(got.rest).map((f) => [...f])).toEqual([[3]]);
    expect(next.pending).toBe(2);
    expect(() => new FirstFrameReader(8).push(encodeFrame(new Uint8Array(9)))).toThrow(FrameError);
  });

  it('handshakeFeed: the first frame to the handshake, every later byte to its taker, in order', () => {
    const rng = new Rng(6);
    for (let trial = 0; trial < 100; trial++) {
      const hello = rng.bytes(1 + rng.int(100));
      // What follows is frames too (the reader parses them on the way): whole ones and a partial one.
      const last = encodeFrame(rng.bytes(1 + rng.int(200)));
      const after = Uint8Array.from([
        ...Array.from({ length: rng.int(4) }, () => [...encodeFrame(rng.bytes(rng.int(300)))]).flat(),
        ...last.subarray(0, rng.int(last.length)),
      ]);
      const stream = Uint8Array.from([...encodeFrame(hello), ...after]);
      const firsts: Uint8Array[] = [];
      const taken: number[] = [];
      const feed = handshakeFeed(
        1024,
        (frame) => {
          firsts.push(frame);
          return (chunk) => taken.push(...chunk);
        },
        () => expect.unreachable(),
      );
      for (let at = 0; at < stream.length; ) {
        const n = 1 + rng.int(64);
        feed(stream.subarray(at, at + n));
        at += n;
      }
      expect(firsts).toEqual([hello]);
      expect(Uint8Array.from(taken)).toEqual(after);
    }
  });

  it('handshakeFeed: after a refused handshake or an oversize first frame, the rest is ignored', () => {
    const firsts: Uint8Array[] = [];
    const refusedFeed = handshakeFeed(
      1024,
      (frame) => {
        firsts.push(frame);
        return undefined;
      },
      () => expect.unreachable(),
    );
    refusedFeed(Uint8Array.from([...encodeFrame(Uint8Array.of(1)), ...encodeFrame(Uint8Array.of(2))]));
    refusedFeed(encodeFrame(Uint8Array.of(3)));
    expect(firsts).toEqual([Uint8Array.of(1)]);

    const bad: FrameError[] = [];
    const oversizeFeed = handshakeFeed(
      16,
      () => expect.unreachable(),
      (error) => bad.push(error),
    );
    oversizeFeed(encodeFrame(new Uint8Array(17)));
    oversizeFeed(encodeFrame(Uint8Array.of(1)));
    expect(bad).toHaveLength(1);
    expect(bad[0]).toBeInstanceOf(FrameError);
  });
});
