import { describe, expect, it } from 'vitest';
import {
  encodeProbeMessage,
  MAX_PROBE_MESSAGE,
  type ProbeAnswer,
  ProbeError,
  type ProbeField,
  type ProbeRequest,
  parseProbeMessage,
  REQUEST_LENGTH,
} from './probe-message.js';
import { encodeProbePacket, isProbePacket, PROBE_IP_PROTOCOL, parseProbePacket } from './probe-packet.js';

const request: ProbeRequest = {
  type: 'request',
  id: '0123456789abcdef',
  protocol: 'tcp',
  src: '100.64.0.1',
  dst: '100.64.0.2',
  port: 80,
  askListening: true,
};
const answer: ProbeAnswer = {
  type: 'answer',
  id: '0123456789abcdef',
  reason: 'policy',
  rule: 3,
  ruleText: '100.64.0.0/24 -> 100.64.0.2/32:80 tcp',
  listening: false,
};

function refusal(bytes: Uint8Array): ProbeField {
  try {
    parseProbeMessage(bytes);
  } catch (error) {
    if (error instanceof ProbeError) return error.field;
    throw error;
  }
  throw new Error('parsed');
}

function patched(bytes: Uint8Array, at: number, ...values: number[]): Uint8Array {
  const out = bytes.slice();
  out.set(values, at);
  return out;
}

describe('trace probe messages', () => {
  it('round-trip requests and answers, both families', () => {
    for (const m of [
      request,
      { ...request, protocol: 'icmp', port: 0, askListening: false, src: 'fd7a::1', dst: 'fd7a::2' },
      answer,
      { ...answer, reason: 'established', rule: null, ruleText: null, listening: true },
      { ...answer, reason: 'shields-up', rule: null, ruleText: null, listening: null },
    ] as const) {
      const bytes = encodeProbeMessage(m);
      expect(parseProbeMessage(bytes)).toEqual(m);
      expect(bytes.length).toBeLessThanOrEqual(MAX_PROBE_MESSAGE);
    }
    expect(encodeProbeMessage(request).length).toBe(REQUEST_LENGTH);
  });

  it('names the field it refuses', () => {
    const r = encodeProbeMessage(request);
    const a = encodeProbeMessage(answer);
    expect(refusal(r.subarray(0, 5))).toBe('length');
    expect(refusal(r.subarray(0, r.length - 1))).toBe('length');
    expect(refusal(Uint8Array.of(...r, 0))).toBe('length');
    expect(refusal(patched(r, 0, 9))).toBe('type');
    expect(refusal(patched(r, 1, 1))).toBe('version');
    expect(refusal(patched(r, 10, 47))).toBe('protocol');
    expect(refusal(patched(r, 11, 2))).toBe('flags');
    expect(refusal(patched(r, 12, 0, 0))).toBe('port');
    expect(refusal(patched(r, 10, 1))).toBe('port'); // icmp with a port
    expect(refusal(patched(r, 24, 0xfd))).toBe('address'); // src no longer IPv4-mapped, dst is
    expect(refusal(patched(a, 10, 0))).toBe('reason');
    expect(refusal(patched(a, 11, 0xff, 0xff, 0xff, 0xff))).toBe('rule');
    expect(refusal(patched(a, 10, 3))).toBe('rule'); // shields-up naming a rule
    expect(refusal(patched(a, 15, 3))).toBe('listening');
    expect(refusal(patched(a, 17, 0x1b))).toBe('rule-text'); // an escape, for a terminal
    const denied = encodeProbeMessage({
      ...answer,
      reason: 'quarantined',
      rule: null,
      ruleText: null,
      listening: null,
    });
    expect(refusal(patched(denied, 15, 1))).toBe('listening'); // a dropped packet learns nothing of the port
  });

  it('refuses to encode what it would not parse', () => {
    expect(() => encodeProbeMessage({ ...request, id: 'xyz' })).toThrow(RangeError);
    expect(() => encodeProbeMessage({ ...request, port: 0 })).toThrow(RangeError);
    expect(() => encodeProbeMessage({ ...request, dst: 'fd7a::2' })).toThrow(RangeError);
    expect(() => encodeProbeMessage({ ...request, src: '::ffff:100.64.0.1' })).toThrow(RangeError);
    expect(() => encodeProbeMessage({ ...answer, ruleText: 'x'.repeat(256) })).toThrow(RangeError);
    expect(() => encodeProbeMessage({ ...answer, ruleText: 'caf\u00e9' })).toThrow(RangeError);
    expect(() =>
      encodeProbeMessage({ ...answer, reason: 'shields-up', rule: null, ruleText: null, listening: true }),
    ).toThrow(RangeError);
  });
});

describe('trace probe packets', () => {
  it('carry a message over IPv4 and IPv6 as protocol 99, padding ignored', () => {
    for (const [src, dst] of [
      ['100.64.0.1', '100.64.0.2'],
      ['fd7a:115c:a1e0::1', 'fd7a:115c:a1e0::2'],
    ] as const) {
      const packet = encodeProbePacket(src, dst, answer);
      expect(isProbePacket(packet)).toBe(true);
      expect(packet[src.includes(':') ? 6 : 9]).toBe(PROBE_IP_PROTOCOL);
      const padded = new Uint8Array(packet.length + 13);
      padded.set(packet);
      expect(parseProbePacket(padded)).toEqual({ src, dst, message: answer });
    }
  });

  it('refuses IPv4 options, fragments, a bad checksum and another protocol', () => {
    const packet = encodeProbePacket('100.64.0.1', '100.64.0.2', request);
    for (const bad of [
      patched(packet, 0, 0x46),
      patched(packet, 6, 0x20),
      patched(packet, 11, packet[11]! ^ 1),
    ]) {
      expect(() => parseProbePacket(bad)).toThrow(expect.objectContaining({ field: 'ip-header' }));
    }
    const udp = patched(encodeProbePacket('fd7a::1', 'fd7a::2', request), 6, 17);
    expect(isProbePacket(udp)).toBe(false);
    expect(() => parseProbePacket(udp)).toThrow(expect.objectContaining({ field: 'ip-header' }));
    expect(isProbePacket(new Uint8Array(0))).toBe(false);
  });
});
