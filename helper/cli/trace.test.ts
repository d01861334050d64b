import { describe, expect, it } from 'vitest';
import { buildTraceReport } from '../../src/trace/trace-report.js';
import { formatTraceReport } from './trace.js';

const base = {
  query: { target: 'webcam', protocol: 'tcp' as const, port: 80 },
  self: { name: 'laptop', user: 'alice', network: 'team' },
  now: 1_800_000_000_000,
  totalMs: 42,
  destination: {
    resolved: true as const,
    ip: '100.64.0.2',
    via: 'magicdns' as const,
    device: 'webcam',
    ms: 1,
  },
  inside: {
    backendState: 'running' as const,
    peer: {
      id: 'n1',
      name: 'webcam',
      user: 'bob',
      network: 'team',
      online: true,
      lastSeen: null,
      allowedIp: '100.64.0.2/32',
      shared: false,
    },
    exitNode: null,
  },
  wireguard: { session: { ageMs: 90_000, lastHandshakeAgoMs: 90_000 }, handshake: null },
  path: {
    kind: 'direct' as const,
    endpoint: '10.99.0.11:41641',
    foundBy: 'lan' as const,
    relay: null,
    rttMs: 2,
  },
};

describe('burrow trace output', () => {
  it('prints a line per stage in order, then the verdict', () => {
    const text = formatTraceReport(
      buildTraceReport({
        ...base,
        peerVerdict: { answer: null, ms: 3000 },
        delivery: { outcome: 'listening', ms: 2 },
      }),
    );
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('trace webcam (100.64.0.2), tcp port 80');
    expect(lines.filter((l) => /^\d\. /.test(l)).map((l) => l.slice(0, 2))).toEqual([
      '1.',
      '2.',
      '3.',
      '4.',
      '5.',
      '6.',
      '7.',
    ]);
    expect(text).toMatch(/^5\. Path +ok +direct to 10\.99\.0\.11:41641 \(found on the LAN\) \(2 ms\)$/m);
    expect(text).toMatch(/^6\. Peer's verdict +\? +webcam did not answer the trace probe/m);
    expect(lines.at(-1)).toBe('delivered (42 ms)');
  });

  it('ends with the blocking stage, its cause and its fix', () => {
    const text = formatTraceReport(
      buildTraceReport({
        ...base,
        peerVerdict: {
          answer: {
            type: 'answer',
            id: '0123456789abcdef',
            reason: 'shields-up',
            rule: null,
            ruleText: null,
            listening: null,
          },
          ms: 4,
        },
      }),
    );
    expect(text).toMatch(/^6\. Peer's verdict +BLOCKED bob has Shields Up on webcam \(4 ms\)$/m);
    expect(text).toMatch(/^7\. Delivery +- +not reached/m);
    expect(text.trimEnd().split('\n').slice(-2)).toEqual([
      "blocked at Peer's verdict: bob has Shields Up on webcam",
      'fix: bob can turn it off on webcam: burrow set --shields-up=false',
    ]);
  });
});
