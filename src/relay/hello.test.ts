import { describe, expect, it } from 'vitest';
import {
  encodeClientHello,
  encodeRelayHello,
  isRelayHello,
  parseClientHello,
  RELAY_VERSIONS,
  versionOffered,
} from './hello.js';

describe('relay hellos', () => {
  it('carries the version and timestamp and refuses anything else', () => {
    const now = 1_750_000_000_123;
    expect(parseClientHello(encodeClientHello(now))).toEqual({ version: 1, timestampMs: now });
    expect(parseClientHello(encodeClientHello(now, 2))).toEqual({ version: 2, timestampMs: now });
    expect(parseClientHello(new TextEncoder().encode(JSON.stringify({ v: 1, ts: now })))).toBeNull();
    expect(parseClientHello(encodeClientHello(now).subarray(0, 8))).toBeNull();
    for (const version of [0, 3, 255]) {
      const wrongVersion = encodeClientHello(now);
      wrongVersion[0] = version;
      expect(parseClientHello(wrongVersion)).toBeNull();
    }
    expect(parseClientHello(Uint8Array.of(1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))).toBeNull();
    expect(isRelayHello(encodeRelayHello())).toBe(true);
    expect(isRelayHello(encodeRelayHello(2), 2)).toBe(true);
    expect(isRelayHello(encodeRelayHello(2))).toBe(false);
    expect(isRelayHello(encodeRelayHello(1), 2)).toBe(false);
    expect(isRelayHello(Uint8Array.of(1, 0))).toBe(false);
  });

  it('asks for version 2 only from a relay that lists it', () => {
    expect(versionOffered(RELAY_VERSIONS)).toBe(2);
    expect(versionOffered('2')).toBe(2);
    expect(versionOffered(['1', ' 2 '])).toBe(2);
    expect(versionOffered(undefined)).toBe(1);
    expect(versionOffered('1')).toBe(1);
    expect(versionOffered('12, 21')).toBe(1);
  });
});
