import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { answerLimit, encodeWithin } from './answer-size.js';
import { TYPE } from './constants.js';
import { type DnsMessage, type DnsOpt, type DnsRecord, encodeMessage, parseMessage } from './message.js';

const opt = (udpSize: number): DnsOpt => ({ udpSize, extendedRcode: 0, version: 0, flags: 0, options: [] });

function aaaa(i: number, name = 'webcam.family.burrow.internal'): DnsRecord {
  const address = new Uint8Array(16);
  address[0] = 0xfd;
  address[15] = i;
  return { name, type: TYPE.AAAA, class: 1, ttl: 1, data: { kind: 'aaaa', address } };
}

function answer(answers: number, authority: number, additional: number, o: DnsOpt | null): DnsMessage {
  return {
    header: {
      id: 1,
      qr: true,
      opcode: 0,
      aa: true,
      tc: false,
      rd: true,
      ra: true,
      z: false,
      ad: false,
      cd: false,
      rcode: 0,
    },
    questions: [{ name: 'webcam.family.burrow.internal', type: TYPE.AAAA, class: 1 }],
    answers: Array.from({ length: answers }, (_, i) => aaaa(i)),
    authority: Array.from({ length: authority }, (_, i) => aaaa(i, `ns${i}.burrow.internal`)),
    additional: Array.from({ length: additional }, (_, i) => aaaa(i, `extra${i}.burrow.internal`)),
    opt: o,
  };
}

describe('answer sizes', () => {
  it("takes the client's buffer: 512 without EDNS0, its OPT's size otherwise, at most 1232 over UDP", () => {
    expect(answerLimit('udp', null)).toBe(512);
    expect(answerLimit('udp', opt(100))).toBe(512);
    expect(answerLimit('udp', opt(1000))).toBe(1000);
    expect(answerLimit('udp', opt(4096))).toBe(1232);
    expect(answerLimit('tcp', null)).toBe(65535);
  });

  it('encodes an answer that fits as it is', () => {
    const m = answer(3, 1, 1, opt(1232));
    expect(encodeWithin(m, 512)).toEqual(encodeMessage(m));
  });

  it('drops records from the end to fit, keeps the OPT record, and sets TC', () => {
    const m = answer(50, 0, 0, opt(1232));
    expect(encodeMessage(m).length).toBeGreaterThan(1232);
    const bytes = encodeWithin(m, 1232);
    expect(bytes.length).toBeLessThanOrEqual(1232);
    const got = parseMessage(bytes);
    expect(got.header.tc).toBe(true);
    expect(got.answers).toEqual(m.answers.slice(0, got.answers.length));
    expect(got.answers.length).toBe(Math.floor((1232 - 12 - 35 - 11) / 28));
    expect(got.opt).toEqual(m.opt);
  });

  it('leaves TC clear when only additional records had to go (RFC 2181 §9)', () => {
    const got = parseMessage(encodeWithin(answer(10, 2, 30, null), 512));
    expect(got.header.tc).toBe(false);
    expect(got.answers.length).toBe(10);
    expect(got.authority.length).toBe(2);
    expect(got.additional.length).toBeLessThan(30);
  });

  it('never exceeds the limit, and keeps a prefix of the records, for any mix', () => {
    const rng = new Rng(0x512);
    for (let i = 0; i < 500; i++) {
      const m = answer(rng.int(60), rng.int(10), rng.int(20), rng.chance(0.5) ? opt(rng.int(5000)) : null);
      const limit = answerLimit(rng.chance(0.1) ? 'tcp' : 'udp', m.opt);
      const bytes = encodeWithin(m, limit);
      expect(bytes.length).toBeLessThanOrEqual(limit);
      const got = parseMessage(bytes);
      const whole = got.answers.length === m.answers.length && got.authority.length === m.authority.length;
      expect(got.header.tc).toBe(!whole);
      const kept = [...got.answers, ...got.authority, ...got.additional];
      expect(kept).toEqual([...m.answers, ...m.authority, ...m.additional].slice(0, kept.length));
      expect(got.opt).toEqual(m.opt);
    }
  });
});
