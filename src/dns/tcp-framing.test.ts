import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { frameForTcp, TcpFramer, TcpFramingError } from './tcp-framing.js';

const message = (n: number, fill: number) => new Uint8Array(n).fill(fill);

function fault(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof TcpFramingError) return error.fault;
    throw error;
  }
  return 'none';
}

describe('DNS over TCP framing', () => {
  it('yields whole messages from a stream cut anywhere, in order', () => {
    const rng = new Rng(0x7c9);
    const messages = Array.from({ length: 200 }, (_, i) => message(12 + rng.int(700), i & 0xff));
    const stream = new Uint8Array(messages.reduce((n, m) => n + 2 + m.length, 0));
    let at = 0;
    for (const m of messages) {
      stream.set(frameForTcp(m), at);
      at += 2 + m.length;
    }
    const framer = new TcpFramer(1024);
    const got: Uint8Array[] = [];
    for (let i = 0; i < stream.length; ) {
      const n = rng.chance(0.2) ? 1 : 1 + rng.int(1500);
      got.push(...framer.push(stream.subarray(i, i + n)));
      i += n;
      expect(framer.pending).toBeLessThanOrEqual(2 + 1024);
    }
    expect(got).toEqual(messages);
    expect(framer.pending).toBe(0);
  });

  it('refuses a length over its bound at the prefix, before buffering the body', () => {
    const framer = new TcpFramer(512);
    expect(framer.push(new Uint8Array([0x02]))).toEqual([]);
    expect(fault(() => framer.push(new Uint8Array([0x01])))).toBe('oversize-message');
    expect(fault(() => new TcpFramer().push(frameForTcp(message(11, 0))))).toBe('undersize-message');
    // A message right at the bound is taken.
    expect(new TcpFramer(512).push(frameForTcp(message(512, 1)))).toEqual([message(512, 1)]);
  });

  it('frames a message behind its 2-byte length', () => {
    expect([...frameForTcp(message(300, 7)).subarray(0, 3)]).toEqual([0x01, 0x2c, 7]);
    expect(() => frameForTcp(message(65536, 0))).toThrow(RangeError);
  });
});
