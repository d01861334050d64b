/** Test support for the resolver's tests: queries as a stub sends them, and a seeded id source. */
import { TYPE } from './constants.js';
import { type DnsMessage, type DnsOpt, encodeMessage } from './message.js';

export function queryBytes(
  name: string,
  type: number = TYPE.A,
  options: { id?: number; opt?: DnsOpt | null; klass?: number; opcode?: number; rd?: boolean } = {},
): Uint8Array {
  const m: DnsMessage = {
    header: {
      id: options.id ?? 0x1234,
      qr: false,
      opcode: options.opcode ?? 0,
      aa: false,
      tc: false,
      rd: options.rd ?? true,
      ra: false,
      z: false,
      ad: false,
      cd: false,
      rcode: 0,
    },
    questions: [{ name, type, class: options.klass ?? 1 }],
    answers: [],
    authority: [],
    additional: [],
    opt:
      options.opt === undefined
        ? { udpSize: 1232, extendedRcode: 0, version: 0, flags: 0, options: [] }
        : options.opt,
  };
  return encodeMessage(m);
}

/** Deterministic "random" bytes for tests: a counter's bytes. */
export function countingRandom(start = 1): (n: number) => Uint8Array {
  let next = start;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (next >>> (8 * (n - 1 - i))) & 0xff;
    next++;
    return out;
  };
}
