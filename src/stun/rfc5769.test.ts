/** RFC 5769's test vectors: known answers for parsing, FINGERPRINT and XOR-MAPPED-ADDRESS. */
import { describe, expect, it } from 'vitest';
import { answerBindingRequest, readBindingResponse, UNKNOWN_ATTRIBUTE } from './binding.js';
import { crc32 } from './crc32.js';
import { isStunPacket } from './detect.js';
import { ATTR, parseStunMessage } from './message.js';

const hex = (text: string) => Uint8Array.from(text.trim().split(/\s+/), (b) => Number.parseInt(b, 16));
const ascii = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

const TRANSACTION_ID = hex('b7 e7 a7 01 bc 34 d6 86 fa 87 df ae');

// §2.1 Sample Request: SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, MESSAGE-INTEGRITY, FINGERPRINT.
const SAMPLE_REQUEST = hex(`
  00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
  00 24 00 04 6e 00 01 ff
  80 29 00 08 93 2f f9 b1 51 26 3b 36
  00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
  00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
  80 28 00 04 e5 7a 3b cf`);

// §2.2 Sample IPv4 Response: XOR-MAPPED-ADDRESS 192.0.2.1:32853.
const SAMPLE_IPV4_RESPONSE = hex(`
  01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 08 00 01 a1 47 e1 12 a6 43
  00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
  80 28 00 04 c0 7d 4c 96`);

// §2.3 Sample IPv6 Response: XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853.
const SAMPLE_IPV6_RESPONSE = hex(`
  01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
  00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
  80 28 00 04 c8 fb 0b 4c`);

// §2.4 Sample Request with Long-Term Authentication: no FINGERPRINT, MESSAGE-INTEGRITY last.
const SAMPLE_LONG_TERM_REQUEST = hex(`
  00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
  00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
  00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
  00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
  00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66`);

describe('RFC 5769 test vectors', () => {
  it('CRC-32 gives the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('parses the sample request and verifies its FINGERPRINT (MESSAGE-INTEGRITY is not checked)', () => {
    expect(isStunPacket(SAMPLE_REQUEST)).toBe(true);
    const parsed = parseStunMessage(SAMPLE_REQUEST);
    if (!parsed.ok) throw new Error(parsed.reason);
    const { message } = parsed;
    expect(message.method).toBe(1);
    expect(message.class).toBe('request');
    expect(message.transactionId).toEqual(TRANSACTION_ID);
    expect(message.fingerprint).toBe(true);
    expect(message.attributes.map((a) => a.type)).toEqual([
      ATTR.SOFTWARE,
      0x0024,
      0x8029,
      ATTR.USERNAME,
      ATTR.MESSAGE_INTEGRITY,
    ]);
    expect(ascii(message.attributes[0]?.value)).toBe('STUN test client');
    // The padding after the 9-byte username is not part of its value.
    expect(ascii(message.attributes[3]?.value)).toBe('evtj:h6vY');
    expect(message.attributes[4]?.value.length).toBe(20);
  });

  it('answers the sample request with 420 for ICE PRIORITY, skipping optional ICE-CONTROLLED', () => {
    const reply = answerBindingRequest(SAMPLE_REQUEST, { host: '192.0.2.1', port: 32853 });
    if (reply.reply !== 'error') throw new Error(`expected an error reply, got ${reply.reply}`);
    expect(reply.reason).toBe('unknown-required-attribute');
    const response = readBindingResponse(reply.response);
    expect(response).toEqual({ kind: 'error', transactionId: TRANSACTION_ID, code: UNKNOWN_ATTRIBUTE });
    const parsed = parseStunMessage(reply.response);
    if (!parsed.ok) throw new Error(parsed.reason);
    const unknown = parsed.message.attributes.find((a) => a.type === ATTR.UNKNOWN_ATTRIBUTES);
    expect(unknown?.value).toEqual(hex('00 24'));
  });

  it('decodes the IPv4 response: XOR-MAPPED-ADDRESS 192.0.2.1:32853, FINGERPRINT verified', () => {
    const parsed = parseStunMessage(SAMPLE_IPV4_RESPONSE);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.message.fingerprint).toBe(true);
    expect(ascii(parsed.message.attributes[0]?.value)).toBe('test vector');
    expect(readBindingResponse(SAMPLE_IPV4_RESPONSE)).toEqual({
      kind: 'success',
      transactionId: TRANSACTION_ID,
      mapped: { host: '192.0.2.1', port: 32853 },
    });
  });

  it('decodes the IPv6 response: XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853', () => {
    expect(readBindingResponse(SAMPLE_IPV6_RESPONSE)).toEqual({
      kind: 'success',
      transactionId: TRANSACTION_ID,
      mapped: { host: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 },
    });
  });

  it('parses the long-term request, whose MESSAGE-INTEGRITY ends it without FINGERPRINT', () => {
    const parsed = parseStunMessage(SAMPLE_LONG_TERM_REQUEST);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.message.fingerprint).toBe(false);
    expect(parsed.message.attributes.map((a) => a.type)).toEqual([
      ATTR.USERNAME,
      ATTR.NONCE,
      ATTR.REALM,
      ATTR.MESSAGE_INTEGRITY,
    ]);
    expect(ascii(parsed.message.attributes[0]?.value)).toBe('マトリックス');
    expect(ascii(parsed.message.attributes[2]?.value)).toBe('example.org');
    // Credentials are known attributes that we accept without checking: it gets an answer.
    const reply = answerBindingRequest(SAMPLE_LONG_TERM_REQUEST, { host: '192.0.2.1', port: 32853 });
    expect(reply.reply).toBe('success');
  });

  it('refuses each vector with one bit of its FINGERPRINT-covered bytes flipped', () => {
    for (const vector of [SAMPLE_REQUEST, SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE]) {
      const corrupt = vector.slice();
      corrupt[30]! ^= 0x01;
      expect(parseStunMessage(corrupt)).toEqual({ ok: false, reason: 'fingerprint-mismatch' });
    }
  });
});
