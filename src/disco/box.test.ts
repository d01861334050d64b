import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { nobleCrypto, nodeCrypto, randomBytes } from '../crypto/index.js';
import type { CryptoProvider } from '../crypto/types.js';
import { buildBindingRequest, buildBindingSuccess } from '../stun/binding.js';
import { isStunPacket } from '../stun/detect.js';
import {
  COOKIE_REPLY_SIZE,
  INITIATION_SIZE,
  RESPONSE_SIZE,
  TRANSPORT_MIN_SIZE,
} from '../wireguard/constants.js';
import { classify } from '../wireguard/messages.js';
import { DISCO_MAGIC, DiscoBox, isDiscoPacket, MAX_DISCO_PACKET } from './box.js';
import { type DiscoMessage, encodeDiscoMessage } from './message.js';

const PROVIDERS: CryptoProvider[] = [nodeCrypto, nobleCrypto];
const LABEL = new TextEncoder().encode('burrow disco v1');
const TXID = Uint8Array.from({ length: 12 }, (_, i) => i);
const MESSAGES: DiscoMessage[] = [
  { type: 'ping', txid: TXID, nodeKey: new Uint8Array(32).fill(9) },
  { type: 'pong', txid: TXID, src: { host: '2001:db8::1', port: 41641 } },
  { type: 'pong', txid: TXID, src: { host: '192.0.2.7', port: 51820 } },
  { type: 'call-me-maybe', endpoints: [] },
  {
    type: 'call-me-maybe',
    endpoints: Array.from({ length: 32 }, (_, i) => ({
      host: i % 2 ? `192.0.2.${i}` : `2001:db8::${(i + 1).toString(16)}`,
      port: 1 + i,
      kind: i % 3 ? 'local' : 'port-mapping',
    })),
  },
];
const PING = MESSAGES[0]!;

const box = (crypto: CryptoProvider = nodeCrypto, maxCachedKeys?: number) =>
  new DiscoBox(crypto, randomBytes(32), randomBytes, maxCachedKeys);

/** A provider that counts its X25519 agreements, to see what the key cache saves. */
function counting(): { crypto: CryptoProvider; agreements: () => number } {
  let n = 0;
  const crypto: CryptoProvider = {
    ...nodeCrypto,
    x25519: (privateKey, publicKey) => {
      n++;
      return nodeCrypto.x25519(privateKey, publicKey);
    },
  };
  return { crypto, agreements: () => n };
}

describe('DiscoBox round trips', () => {
  for (const sealer of PROVIDERS) {
    for (const opener of PROVIDERS) {
      it(`opens with ${opener.name} every message sealed with ${sealer.name}`, () => {
        const alice = box(sealer);
        const bob = box(opener);
        for (const message of MESSAGES) {
          const opened = bob.open(alice.seal(bob.publicKey, message));
          expect(opened).toEqual({ ok: true, sender: alice.publicKey, message });
          // And the answer goes back the other way.
          expect(alice.open(bob.seal(opened.ok ? opened.sender : new Uint8Array(32), message))).toEqual({
            ok: true,
            sender: bob.publicKey,
            message,
          });
        }
        expect(bob.refusals['internal-error']).toBe(0);
        expect(Object.values(bob.refusals).every((n) => n === 0)).toBe(true);
      });
    }
  }
});

describe('DiscoBox packet layout', () => {
  it.each(PROVIDERS)('is magic, sender key, nonce, then the XChaCha20-Poly1305 box ($name)', (crypto) => {
    const alicePrivate = randomBytes(32);
    const bobPrivate = randomBytes(32);
    const nonce = Uint8Array.from({ length: 24 }, (_, i) => 0xa0 + i);
    const alice = new DiscoBox(crypto, alicePrivate, () => nonce.slice());
    const bobPublic = crypto.x25519PublicKey(bobPrivate);
    const packet = alice.seal(bobPublic, PING);

    expect(new TextDecoder().decode(packet.subarray(0, 6))).toBe('BRWDSC');
    expect(Array.from(DISCO_MAGIC)).toEqual([0x42, 0x52, 0x57, 0x44, 0x53, 0x43]);
    expect(packet.subarray(6, 38)).toEqual(crypto.x25519PublicKey(alicePrivate));
    expect(packet.subarray(38, 62)).toEqual(nonce);
    expect(packet).toHaveLength(6 + 32 + 24 + 46 + 16);

    // Derived here from the primitives, independently of box.ts.
    const key = crypto.hash(LABEL, crypto.x25519(bobPrivate, alice.publicKey)!);
    const plain = crypto.xopen(key, nonce, packet.subarray(62), packet.subarray(0, 38));
    expect(plain).toEqual(encodeDiscoMessage(PING));
  });

  it('has sizes from 80 bytes (an empty call-me-maybe) to MAX_DISCO_PACKET (32 endpoints with kinds)', () => {
    const alice = box();
    const bob = box();
    expect(MAX_DISCO_PACKET).toBe(6 + 32 + 24 + 16 + 2 + 19 * 32);
    expect(alice.seal(bob.publicKey, { type: 'call-me-maybe', endpoints: [] })).toHaveLength(80);
    expect(alice.seal(bob.publicKey, MESSAGES[4]!)).toHaveLength(MAX_DISCO_PACKET);
    expect(alice.seal(bob.publicKey, MESSAGES[1]!)).toHaveLength(78 + 32);
  });
});

describe('DiscoBox refusals', () => {
  it.each(PROVIDERS)('refuses a packet with any one byte changed ($name)', (crypto) => {
    const alice = box(crypto);
    const bob = box(crypto);
    const packet = alice.seal(bob.publicKey, PING);
    for (let i = 0; i < packet.length; i++) {
      for (const flip of [0x01, 0x80, 0xff]) {
        const tampered = packet.slice();
        tampered[i]! ^= flip;
        // Flipping the sender key's top bit leaves X25519's answer alone; the associated data catches it.
        expect(bob.open(tampered), `byte ${i} ^ ${flip}`).toEqual({
          ok: false,
          reason: i < 6 ? 'not-disco' : 'decrypt-failed',
        });
      }
    }
    expect(bob.open(packet).ok).toBe(true);
    expect(bob.refusals['internal-error']).toBe(0);
  });

  it('refuses a packet sealed for someone else', () => {
    const alice = box();
    const bob = box();
    const carol = box();
    expect(carol.open(alice.seal(bob.publicKey, PING))).toEqual({ ok: false, reason: 'decrypt-failed' });
    expect(carol.refusals['decrypt-failed']).toBe(1);
  });

  it('refuses every truncation by name', () => {
    const alice = box();
    const bob = box();
    const packet = alice.seal(bob.publicKey, MESSAGES[1]!);
    for (let length = 0; length < packet.length; length++) {
      const reason = length < 6 ? 'not-disco' : length < 80 ? 'truncated' : 'decrypt-failed';
      expect(bob.open(packet.subarray(0, length)), `length ${length}`).toEqual({ ok: false, reason });
    }
    expect(bob.refusals).toMatchObject({
      'not-disco': 6,
      truncated: 74,
      'decrypt-failed': packet.length - 80,
    });
  });

  it('refuses an oversize packet and one from a low-order key', () => {
    const bob = box();
    const oversize = new Uint8Array(MAX_DISCO_PACKET + 1);
    oversize.set(DISCO_MAGIC);
    expect(bob.open(oversize)).toEqual({ ok: false, reason: 'oversize' });
    for (const lowOrder of [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))]) {
      const packet = new Uint8Array(100);
      packet.set(DISCO_MAGIC);
      packet.set(lowOrder, 6);
      expect(bob.open(packet)).toEqual({ ok: false, reason: 'bad-key' });
      expect(() => bob.seal(lowOrder, PING)).toThrow(RangeError);
    }
  });

  it('refuses a well-sealed plaintext that does not parse, with its reason', () => {
    const alicePrivate = randomBytes(32);
    const bob = box();
    const key = nodeCrypto.hash(LABEL, nodeCrypto.x25519(alicePrivate, bob.publicKey)!);
    const header = new Uint8Array(62);
    header.set(DISCO_MAGIC);
    header.set(nodeCrypto.x25519PublicKey(alicePrivate), 6);
    const sealRaw = (plain: number[]) =>
      Uint8Array.of(
        ...header,
        ...nodeCrypto.xseal(key, header.subarray(38), Uint8Array.from(plain), header.subarray(0, 38)),
      );
    expect(bob.open(sealRaw([9, 0]))).toEqual({ ok: false, reason: 'unknown-type' });
    expect(bob.open(sealRaw([3, 2]))).toEqual({ ok: false, reason: 'bad-version' });
    expect(bob.open(sealRaw([3, 0, 0]))).toEqual({ ok: false, reason: 'truncated' });
    expect(bob.open(sealRaw([3, 0, ...new Uint8Array(18)]))).toEqual({ ok: false, reason: 'bad-port' });
    expect(bob.refusals).toMatchObject({ 'unknown-type': 1, 'bad-version': 1, truncated: 1, 'bad-port': 1 });
  });

  it('refuses bad arguments to seal and to the constructor', () => {
    const alice = box();
    expect(() => alice.seal(new Uint8Array(31), PING)).toThrow(RangeError);
    expect(() =>
      alice.seal(box().publicKey, { type: 'ping', txid: TXID, nodeKey: new Uint8Array(3) }),
    ).toThrow(RangeError);
    expect(() => new DiscoBox(nodeCrypto, new Uint8Array(31), randomBytes)).toThrow(RangeError);
    expect(() => new DiscoBox(nodeCrypto, randomBytes(32), randomBytes, 0)).toThrow(RangeError);
    const badRandom = new DiscoBox(nodeCrypto, randomBytes(32), () => new Uint8Array(12));
    expect(() => badRandom.seal(alice.publicKey, PING)).toThrow(RangeError);
  });
});

describe('DiscoBox shared-key cache', () => {
  it('agrees once per peer in each direction', () => {
    const { crypto, agreements } = counting();
    const alice = new DiscoBox(crypto, randomBytes(32), randomBytes);
    const bob = new DiscoBox(crypto, randomBytes(32), randomBytes);
    for (let i = 0; i < 5; i++) expect(bob.open(alice.seal(bob.publicKey, PING)).ok).toBe(true);
    expect(agreements()).toBe(2);
  });

  it('evicts the least recently used key when full', () => {
    const { crypto, agreements } = counting();
    const bob = new DiscoBox(crypto, randomBytes(32), randomBytes, 2);
    const [alice, carol, dave] = [box(), box(), box()];
    const from = (peer: DiscoBox) => {
      const before = agreements();
      expect(bob.open(peer.seal(bob.publicKey, PING)).ok).toBe(true);
      return agreements() - before;
    };
    expect([from(alice), from(carol), from(alice), from(dave)]).toEqual([1, 1, 0, 1]);
    // Carol was the least recently used, so dave took her place.
    expect([from(alice), from(dave), from(carol)]).toEqual([0, 0, 1]);
  });

  it('keeps forged senders from pushing real peers out', () => {
    const { crypto, agreements } = counting();
    const bob = new DiscoBox(crypto, randomBytes(32), randomBytes, 2);
    const alice = box();
    expect(bob.open(alice.seal(bob.publicKey, PING)).ok).toBe(true);
    const forged = alice.seal(bob.publicKey, PING);
    for (let i = 0; i < 10; i++) {
      forged.set(randomBytes(32), 6);
      expect(bob.open(forged)).toEqual({ ok: false, reason: 'decrypt-failed' });
    }
    const before = agreements();
    expect(bob.open(alice.seal(bob.publicKey, PING)).ok).toBe(true);
    expect(agreements()).toBe(before);
  });
});

describe('isDiscoPacket on a socket shared with WireGuard and STUN', () => {
  it('is true for sealed packets, which neither WireGuard nor STUN takes for its own', () => {
    const alice = box();
    const bob = box();
    for (const message of MESSAGES) {
      const packet = alice.seal(bob.publicKey, message);
      expect(isDiscoPacket(packet)).toBe(true);
      expect(classify(packet)).toBe('unknown-type');
      expect(isStunPacket(packet)).toBe(false);
    }
  });

  it('is false for WireGuard messages', () => {
    const rng = new Rng(0x4252);
    for (const [type, size] of [
      [1, INITIATION_SIZE],
      [2, RESPONSE_SIZE],
      [3, COOKIE_REPLY_SIZE],
      [4, TRANSPORT_MIN_SIZE],
      [4, TRANSPORT_MIN_SIZE + 1280],
    ] as const) {
      for (let i = 0; i < 100; i++) {
        const message = rng.bytes(size);
        message.set([type, 0, 0, 0]);
        expect(classify(message)).not.toBe('unknown-type');
        expect(isDiscoPacket(message)).toBe(false);
      }
    }
  });

  it('is false for STUN binding requests and responses', () => {
    const txid = new Uint8Array(12).fill(0x42);
    for (const message of [
      buildBindingRequest(txid),
      buildBindingRequest(txid, 'burrow'),
      buildBindingSuccess(txid, { host: '192.0.2.1', port: 41641 }, 'burrow'),
    ]) {
      expect(isStunPacket(message)).toBe(true);
      expect(isDiscoPacket(message)).toBe(false);
    }
  });

  it('looks only at the magic and the minimum length', () => {
    const packet = new Uint8Array(80);
    packet.set(DISCO_MAGIC);
    expect(isDiscoPacket(packet)).toBe(true);
    expect(isDiscoPacket(packet.subarray(0, 79))).toBe(false);
    packet[5] = 0;
    expect(isDiscoPacket(packet)).toBe(false);
  });
});
