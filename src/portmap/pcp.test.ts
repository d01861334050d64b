import { describe, expect, it } from 'vitest';
import { buildAnnounceRequest, buildMapRequest, parsePcpAnswer } from './pcp.js';

const NONCE = Uint8Array.from({ length: 12 }, (_, i) => i + 1);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s/g, ''), 'hex'));
const MAPPED_CLIENT = '00000000000000000000ffff c0a80a02';

/** A MAP answer as RFC 6887 §11.4 lays it out. */
function mapAnswer(
  options: { result?: number; lifetime?: string; nonce?: string; tail?: string } = {},
): string {
  const { result = 0, lifetime = '00001c20', nonce = hex(NONCE), tail = '' } = options;
  return (
    `02 81 00 ${result.toString(16).padStart(2, '0')} ${lifetime} 0000002a 000000000000000000000000` +
    `${nonce} 11 000000 ca6c 9c41 00000000000000000000ffff cb007107${tail}`
  );
}

describe('PCP (RFC 6887)', () => {
  it('puts the client address, the nonce and the port where §7.1 and §11.1 say', () => {
    const request = buildMapRequest({
      clientAddress: '192.168.10.2',
      nonce: NONCE,
      internalPort: 51820,
      lifetime: 7200,
    });
    expect(request.length).toBe(60);
    expect(hex(request)).toBe(
      bytes(
        `02 01 0000 00001c20 ${MAPPED_CLIENT} ${hex(NONCE)} 11 000000 ca6c 0000 00000000000000000000ffff00000000`,
      ).reduce((s, b) => s + b.toString(16).padStart(2, '0'), ''),
    );
    expect(hex(buildAnnounceRequest('192.168.10.2'))).toBe(hex(bytes(`0200 0000 00000000 ${MAPPED_CLIENT}`)));
    expect(() =>
      buildMapRequest({ clientAddress: '::1', nonce: NONCE, internalPort: 1, lifetime: 1 }),
    ).toThrow();
    expect(() =>
      buildMapRequest({ clientAddress: '10.0.0.1', nonce: new Uint8Array(4), internalPort: 1, lifetime: 1 }),
    ).toThrow();
  });

  it('reads a MAP answer with its nonce, lifetime, epoch and the assigned endpoint', () => {
    const parsed = parsePcpAnswer(bytes(mapAnswer()));
    expect(parsed).toEqual({
      ok: true,
      value: {
        op: 'map',
        result: 'success',
        lifetime: 7200,
        epoch: 42,
        nonce: NONCE,
        internalPort: 51820,
        externalPort: 40001,
        externalAddress: '203.0.113.7',
      },
    });
    // Options after the payload are framed and skipped (a THIRD_PARTY option, 16 bytes of data).
    expect(parsePcpAnswer(bytes(mapAnswer({ tail: `03000010 ${'00'.repeat(16)}` })))).toMatchObject({
      ok: true,
    });
    expect(parsePcpAnswer(bytes(mapAnswer({ result: 2, lifetime: '0000001e' })))).toMatchObject({
      ok: true,
      value: { result: 'not-authorized', lifetime: 30 },
    });
    expect(parsePcpAnswer(bytes('02 80 00 00 00000000 0000002a 000000000000000000000000'))).toEqual({
      ok: true,
      value: { op: 'announce', result: 'success', lifetime: 0, epoch: 42 },
    });
  });

  it('refuses what is not a PCP answer, by name', () => {
    const good = mapAnswer();
    const cases: Array<[string, string]> = [
      [good.slice(0, 40), 'bad-length'],
      [`${good}00`, 'bad-length'],
      [`00${good.slice(2)}`, 'bad-version'],
      [`0201${good.slice(4)}`, 'unexpected-opcode'],
      [`0282${good.slice(4)}`, 'unexpected-opcode'],
      [mapAnswer({ result: 14 }), 'unknown-result'],
      [mapAnswer({ tail: '03000010' }), 'bad-option'],
      [mapAnswer({ tail: '030000' }), 'bad-length'],
      [good.replace(' 11 000000', ' 06 000000'), 'wrong-mapping'],
      [good.replace('cb007107', '00000000'), 'bad-address'],
      [good.replace('00000000000000000000ffff cb007107', '20010db8000000000000000000000001'), 'bad-address'],
    ];
    for (const [h, refusal] of cases)
      expect(parsePcpAnswer(bytes(h)), refusal).toEqual({ ok: false, refusal });
  });
});
