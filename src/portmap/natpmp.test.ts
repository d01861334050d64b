import { describe, expect, it } from 'vitest';
import { buildExternalAddressRequest, buildMapRequest, parseNatPmpAnswer } from './natpmp.js';

function answer(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.replace(/\s/g, ''), 'hex'));
}

describe('NAT-PMP (RFC 6886)', () => {
  it('builds the external address and UDP mapping requests byte for byte', () => {
    expect([...buildExternalAddressRequest()]).toEqual([0, 0]);
    expect(Buffer.from(buildMapRequest(51820, 51820, 7200)).toString('hex')).toBe(
      '000100' + '00ca6cca6c00001c20',
    );
    // A deletion: external port 0, lifetime 0 (§3.4).
    expect(Buffer.from(buildMapRequest(51820, 0, 0)).toString('hex')).toBe('00010000ca6c000000000000');
    expect(() => buildMapRequest(0, 1, 1)).toThrow(RangeError);
    expect(() => buildMapRequest(1, 70000, 1)).toThrow(RangeError);
  });

  it('reads an external address answer and a mapping answer', () => {
    expect(parseNatPmpAnswer(answer('0080 0000 00000010 cb007107'))).toEqual({
      ok: true,
      value: { op: 'external-address', result: 'success', epoch: 16, address: '203.0.113.7' },
    });
    expect(parseNatPmpAnswer(answer('0081 0000 00000020 ca6c 9c41 00001c20'))).toEqual({
      ok: true,
      value: {
        op: 'map',
        protocol: 'udp',
        result: 'success',
        epoch: 32,
        internalPort: 51820,
        externalPort: 40001,
        lifetime: 7200,
      },
    });
  });

  it('reads result codes, also from an error answer cut after the epoch', () => {
    const refused = parseNatPmpAnswer(answer('0081 0002 00000020'));
    expect(refused).toMatchObject({ ok: true, value: { result: 'not-authorized' } });
    expect(parseNatPmpAnswer(answer('0081 0004 00000020 ca6c 0000 00000000'))).toMatchObject({
      ok: true,
      value: { result: 'out-of-resources' },
    });
  });

  it('refuses what is not a NAT-PMP answer, by name', () => {
    const cases: Array<[string, string]> = [
      ['00', 'bad-length'],
      ['0280 0000 00000010 cb007107', 'bad-version'],
      ['0000 0000 00000010 cb007107', 'unexpected-opcode'],
      ['0083 0000 00000010 cb007107', 'unexpected-opcode'],
      ['0080 0009 00000010 cb007107', 'unknown-result'],
      ['0080 0000 00000010 cb0071', 'bad-length'],
      ['0080 0000 00000010', 'bad-length'],
      ['0081 0000 00000020 ca6c 9c41 00001c20 00', 'bad-length'],
      ['0080 0000 00000010 00000000', 'bad-address'],
      ['0081 0000 00000020 ca6c 0000 00001c20', 'bad-address'],
    ];
    for (const [hex, refusal] of cases)
      expect(parseNatPmpAnswer(answer(hex)), hex).toEqual({ ok: false, refusal });
  });
});
