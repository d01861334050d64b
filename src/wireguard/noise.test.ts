import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nobleCrypto, nodeCrypto } from '../crypto/index.js';
import type { CryptoProvider } from '../crypto/types.js';
import { IKpsk2, type StaticKeyPair, SymmetricState } from './noise.js';

interface Vector {
  protocol_name: string;
  init_prologue: string;
  init_psks: string[];
  init_static: string;
  init_ephemeral: string;
  init_remote_static: string;
  resp_static: string;
  resp_ephemeral: string;
  handshake_hash?: string;
  messages: { payload: string; ciphertext: string }[];
}

const { vectors } = JSON.parse(
  readFileSync(new URL('../../test/vectors/cacophony-ikpsk2.json', import.meta.url), 'utf8'),
) as { vectors: Vector[] };

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function pair(crypto: CryptoProvider, privHex: string): StaticKeyPair {
  const privateKey = hex(privHex);
  return { privateKey, publicKey: crypto.x25519PublicKey(privateKey) };
}

function seal(crypto: CryptoProvider, key: Uint8Array, n: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + 16);
  crypto.aead(key).seal(n, payload, null, out, 0);
  return out;
}

describe.each([nodeCrypto, nobleCrypto])('Noise_IKpsk2 cacophony vectors ($name)', (crypto) => {
  it('has vectors to run', () => {
    expect(vectors.length).toBeGreaterThan(0);
  });

  for (const [i, v] of vectors.entries()) {
    it(`vector ${i}: both roles produce and accept the published messages`, () => {
      const name = new TextEncoder().encode(v.protocol_name);
      const initStatic = pair(crypto, v.init_static);
      const initEphemeral = pair(crypto, v.init_ephemeral);
      const respStatic = pair(crypto, v.resp_static);
      const respEphemeral = pair(crypto, v.resp_ephemeral);
      const psk = hex(v.init_psks[0]!);
      expect(toHex(respStatic.publicKey)).toBe(v.init_remote_static);

      const start = SymmetricState.initial(crypto, name, hex(v.init_prologue));
      const initiator = new IKpsk2(crypto, start, respStatic.publicKey);
      const responder = new IKpsk2(crypto, start, respStatic.publicKey);
      const [m0, m1, ...transport] = v.messages;

      const a = initiator.writeA(initStatic, initEphemeral, respStatic.publicKey, hex(m0!.payload));
      expect(toHex(a!)).toBe(m0!.ciphertext);
      const read = responder.readA(respStatic, a!, () => ({}));
      expect(toHex(read!.payload)).toBe(m0!.payload);
      expect(toHex(read!.remoteStatic)).toBe(toHex(initStatic.publicKey));

      const b = responder.writeB(respEphemeral, read!.remoteStatic, psk, hex(m1!.payload));
      expect(toHex(b!)).toBe(m1!.ciphertext);
      const payloadB = initiator.readB(initStatic, initEphemeral, psk, b!);
      expect(toHex(payloadB!)).toBe(m1!.payload);

      if (v.handshake_hash) {
        expect(toHex(initiator.state.h)).toBe(v.handshake_hash);
        expect(toHex(responder.state.h)).toBe(v.handshake_hash);
      }

      // After the handshake, messages alternate: initiator, responder, initiator, ...
      const [i2r, r2i] = initiator.state.split();
      const [ri2r, rr2i] = responder.state.split();
      expect(toHex(ri2r)).toBe(toHex(i2r));
      expect(toHex(rr2i)).toBe(toHex(r2i));
      const counters = [0, 0];
      for (const [j, m] of transport.entries()) {
        const fromInitiator = j % 2 === 0;
        const key = fromInitiator ? i2r : r2i;
        const n = counters[j % 2]!++;
        expect(toHex(seal(crypto, key, n, hex(m.payload)))).toBe(m.ciphertext);
        const opened = crypto.aead(fromInitiator ? ri2r : rr2i).open(n, hex(m.ciphertext), null);
        expect(toHex(opened!)).toBe(m.payload);
      }
    });
  }

  it('a tampered first message is refused without disturbing the responder', () => {
    const v = vectors[0]!;
    const name = new TextEncoder().encode(v.protocol_name);
    const start = SymmetricState.initial(crypto, name, hex(v.init_prologue));
    const respStatic = pair(crypto, v.resp_static);
    const initiator = new IKpsk2(crypto, start, respStatic.publicKey);
    const a = initiator.writeA(
      pair(crypto, v.init_static),
      pair(crypto, v.init_ephemeral),
      respStatic.publicKey,
      hex(v.messages[0]!.payload),
    )!;
    for (const offset of [0, 31, 32, 79, 80, a.length - 1]) {
      const bad = a.slice();
      bad[offset]! ^= 1;
      expect(new IKpsk2(crypto, start, respStatic.publicKey).readA(respStatic, bad, () => ({}))).toBeNull();
    }
    expect(
      new IKpsk2(crypto, start, respStatic.publicKey).readA(respStatic, a.subarray(0, 40), () => ({})),
    ).toBeNull();
    expect(new IKpsk2(crypto, start, respStatic.publicKey).readA(respStatic, a, () => null)).toBeNull();
    expect(new IKpsk2(crypto, start, respStatic.publicKey).readA(respStatic, a, () => ({}))).not.toBeNull();
  });
});
