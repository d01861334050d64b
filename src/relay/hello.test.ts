import { describe, expect, it } from 'vitest';
import { encodeClientHello, encodeRelayHello, isRelayHello, parseClientHello } from './hello.js';

describe('relay hellos', () => {
  it('carries the timestamp and refuses anything else', () => {
    const now = 1_750_000_000_123;
    expect(parseClientHello(encodeClientHello(now))).toBe(now);
    expect(parseClientHello(new TextEncoder().encode(JSON.stringify({ v: 1, ts: now })))).toBeNull();
    expect(parseClientHello(encodeClientHello(now).subarray(0, 8))).toBeNull();
    const wrongVersion = encodeClientHello(now);
    wrongVersion[0] = 2;
    expect(parseClientHello(wrongVersion)).toBeNull();
    expect(parseClientHello(Uint8Array.of(1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))).toBeNull();
    expect(isRelayHello(encodeRelayHello())).toBe(true);
    expect(isRelayHello(Uint8Array.of(1, 0))).toBe(false);
  });
});
