import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { encodeFrame, FirstFrameReader, FrameError, FrameReader, MAX_FRAME } from './framing.js';

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
});
