/**
 * BLAKE2s (RFC 7693), written for WireGuard's handshake: short inputs, called dozens of times per
 * handshake. node:crypto's createHash/createHmac cost several microseconds per call in object set-up
 * alone, and @noble's general-purpose version allocates per call; this one compresses straight from
 * the caller's bytes with the state in locals. @noble stays the reference it is tested against.
 */

const IV0 = 0x6a09e667;
const IV1 = 0xbb67ae85;
const IV2 = 0x3c6ef372;
const IV3 = 0xa54ff53a;
const IV4 = 0x510e527f;
const IV5 = 0x9b05688c;
const IV6 = 0x1f83d9ab;
const IV7 = 0x5be0cd19;

// biome-ignore format: one row per round reads best
const SIGMA = Uint8Array.of(
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3,
  11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4,
  7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8,
  9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13,
  2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9,
  12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11,
  13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10,
  6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5,
  10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0,
);

const BLOCK = 64;
const m = new Uint32Array(16);

/** One compression of the 64-byte block at `block[offset..]` into `h`; `t` counts bytes so far. */
function compress(h: Uint32Array, block: Uint8Array, offset: number, t: number, last: boolean): void {
  for (let i = 0; i < 16; i++, offset += 4) {
    m[i] =
      block[offset]! | (block[offset + 1]! << 8) | (block[offset + 2]! << 16) | (block[offset + 3]! << 24);
  }
  let v0 = h[0]!;
  let v1 = h[1]!;
  let v2 = h[2]!;
  let v3 = h[3]!;
  let v4 = h[4]!;
  let v5 = h[5]!;
  let v6 = h[6]!;
  let v7 = h[7]!;
  let v8 = IV0;
  let v9 = IV1;
  let v10 = IV2;
  let v11 = IV3;
  let v12 = IV4 ^ (t >>> 0);
  let v13 = IV5 ^ Math.floor(t / 0x1_0000_0000);
  let v14 = last ? ~IV6 : IV6;
  let v15 = IV7;
  for (let r = 0; r < 160; r += 16) {
    // Columns, then diagonals: G(a, b, c, d, x, y) with rotations 16, 12, 8, 7.
    v0 = (v0 + v4 + m[SIGMA[r]!]!) | 0;
    v12 ^= v0;
    v12 = (v12 >>> 16) | (v12 << 16);
    v8 = (v8 + v12) | 0;
    v4 ^= v8;
    v4 = (v4 >>> 12) | (v4 << 20);
    v0 = (v0 + v4 + m[SIGMA[r + 1]!]!) | 0;
    v12 ^= v0;
    v12 = (v12 >>> 8) | (v12 << 24);
    v8 = (v8 + v12) | 0;
    v4 ^= v8;
    v4 = (v4 >>> 7) | (v4 << 25);

    v1 = (v1 + v5 + m[SIGMA[r + 2]!]!) | 0;
    v13 ^= v1;
    v13 = (v13 >>> 16) | (v13 << 16);
    v9 = (v9 + v13) | 0;
    v5 ^= v9;
    v5 = (v5 >>> 12) | (v5 << 20);
    v1 = (v1 + v5 + m[SIGMA[r + 3]!]!) | 0;
    v13 ^= v1;
    v13 = (v13 >>> 8) | (v13 << 24);
    v9 = (v9 + v13) | 0;
    v5 ^= v9;
    v5 = (v5 >>> 7) | (v5 << 25);

    v2 = (v2 + v6 + m[SIGMA[r + 4]!]!) | 0;
    v14 ^= v2;
    v14 = (v14 >>> 16) | (v14 << 16);
    v10 = (v10 + v14) | 0;
    v6 ^= v10;
    v6 = (v6 >>> 12) | (v6 << 20);
    v2 = (v2 + v6 + m[SIGMA[r + 5]!]!) | 0;
    v14 ^= v2;
    v14 = (v14 >>> 8) | (v14 << 24);
    v10 = (v10 + v14) | 0;
    v6 ^= v10;
    v6 = (v6 >>> 7) | (v6 << 25);

    v3 = (v3 + v7 + m[SIGMA[r + 6]!]!) | 0;
    v15 ^= v3;
    v15 = (v15 >>> 16) | (v15 << 16);
    v11 = (v11 + v15) | 0;
    v7 ^= v11;
    v7 = (v7 >>> 12) | (v7 << 20);
    v3 = (v3 + v7 + m[SIGMA[r + 7]!]!) | 0;
    v15 ^= v3;
    v15 = (v15 >>> 8) | (v15 << 24);
    v11 = (v11 + v15) | 0;
    v7 ^= v11;
    v7 = (v7 >>> 7) | (v7 << 25);

    v0 = (v0 + v5 + m[SIGMA[r + 8]!]!) | 0;
    v15 ^= v0;
    v15 = (v15 >>> 16) | (v15 << 16);
    v10 = (v10 + v15) | 0;
    v5 ^= v10;
    v5 = (v5 >>> 12) | (v5 << 20);
    v0 = (v0 + v5 + m[SIGMA[r + 9]!]!) | 0;
    v15 ^= v0;
    v15 = (v15 >>> 8) | (v15 << 24);
    v10 = (v10 + v15) | 0;
    v5 ^= v10;
    v5 = (v5 >>> 7) | (v5 << 25);

    v1 = (v1 + v6 + m[SIGMA[r + 10]!]!) | 0;
    v12 ^= v1;
    v12 = (v12 >>> 16) | (v12 << 16);
    v11 = (v11 + v12) | 0;
    v6 ^= v11;
    v6 = (v6 >>> 12) | (v6 << 20);
    v1 = (v1 + v6 + m[SIGMA[r + 11]!]!) | 0;
    v12 ^= v1;
    v12 = (v12 >>> 8) | (v12 << 24);
    v11 = (v11 + v12) | 0;
    v6 ^= v11;
    v6 = (v6 >>> 7) | (v6 << 25);

    v2 = (v2 + v7 + m[SIGMA[r + 12]!]!) | 0;
    v13 ^= v2;
    v13 = (v13 >>> 16) | (v13 << 16);
    v8 = (v8 + v13) | 0;
    v7 ^= v8;
    v7 = (v7 >>> 12) | (v7 << 20);
    v2 = (v2 + v7 + m[SIGMA[r + 13]!]!) | 0;
    v13 ^= v2;
    v13 = (v13 >>> 8) | (v13 << 24);
    v8 = (v8 + v13) | 0;
    v7 ^= v8;
    v7 = (v7 >>> 7) | (v7 << 25);

    v3 = (v3 + v4 + m[SIGMA[r + 14]!]!) | 0;
    v14 ^= v3;
    v14 = (v14 >>> 16) | (v14 << 16);
    v9 = (v9 + v14) | 0;
    v4 ^= v9;
    v4 = (v4 >>> 12) | (v4 << 20);
    v3 = (v3 + v4 + m[SIGMA[r + 15]!]!) | 0;
    v14 ^= v3;
    v14 = (v14 >>> 8) | (v14 << 24);
    v9 = (v9 + v14) | 0;
    v4 ^= v9;
    v4 = (v4 >>> 7) | (v4 << 25);
  }
  h[0]! ^= v0 ^ v8;
  h[1]! ^= v1 ^ v9;
  h[2]! ^= v2 ^ v10;
  h[3]! ^= v3 ^ v11;
  h[4]! ^= v4 ^ v12;
  h[5]! ^= v5 ^ v13;
  h[6]! ^= v6 ^ v14;
  h[7]! ^= v7 ^ v15;
}

// One computation at a time runs on this module-level state: the functions below are synchronous
// and never interleave, and reusing it saves three allocations per call.
const h = new Uint32Array(8);
const buffer = new Uint8Array(BLOCK);
let buffered = 0;
let total = 0;

function start(outLen: number, key: Uint8Array | null): void {
  if (!(outLen >= 1 && outLen <= 32))
    throw new RangeError(`BLAKE2s output length must be 1..32, got ${outLen}`);
  const keyLen = key === null ? 0 : key.length;
  if (keyLen > 32) throw new RangeError(`BLAKE2s key must be at most 32 bytes, got ${keyLen}`);
  h[0] = IV0 ^ 0x01010000 ^ (keyLen << 8) ^ outLen;
  h[1] = IV1;
  h[2] = IV2;
  h[3] = IV3;
  h[4] = IV4;
  h[5] = IV5;
  h[6] = IV6;
  h[7] = IV7;
  total = 0;
  buffered = 0;
  if (key !== null && keyLen > 0) {
    buffer.fill(0);
    buffer.set(key);
    buffered = BLOCK; // the key is a full, zero-padded first block
  }
}

function absorb(data: Uint8Array): void {
  let offset = 0;
  const length = data.length;
  while (offset < length) {
    // The last block must be compressed with the final flag, so a full buffer is only compressed
    // once more input is known to follow.
    if (buffered === BLOCK) {
      total += BLOCK;
      compress(h, buffer, 0, total, false);
      buffered = 0;
    }
    if (buffered === 0) {
      while (length - offset > BLOCK) {
        total += BLOCK;
        compress(h, data, offset, total, false);
        offset += BLOCK;
      }
    }
    const take = Math.min(BLOCK - buffered, length - offset);
    for (let i = 0; i < take; i++) buffer[buffered + i] = data[offset + i]!;
    buffered += take;
    offset += take;
  }
}

function finish(outLen: number): Uint8Array {
  total += buffered;
  buffer.fill(0, buffered);
  compress(h, buffer, 0, total, true);
  const out = new Uint8Array(outLen);
  for (let i = 0; i < outLen; i++) out[i] = h[i >>> 2]! >>> (8 * (i & 3));
  h.fill(0);
  buffer.fill(0);
  return out;
}

/** BLAKE2s-256 of the concatenation of `parts`. */
export function blake2s(...parts: Uint8Array[]): Uint8Array {
  start(32, null);
  for (const p of parts) absorb(p);
  return finish(32);
}

/** Keyed BLAKE2s with an `outLen`-byte digest (WireGuard's MAC uses 16). */
export function blake2sKeyed(key: Uint8Array, data: Uint8Array, outLen: number): Uint8Array {
  start(outLen, key);
  absorb(data);
  return finish(outLen);
}

const IPAD = 0x36;
const OPAD = 0x5c;
const pad = new Uint8Array(BLOCK);

/** HMAC (RFC 2104) over BLAKE2s-256, with its 64-byte block. */
export function hmacBlake2s(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  pad.fill(0);
  pad.set(key.length > BLOCK ? blake2s(key) : key);
  for (let i = 0; i < BLOCK; i++) pad[i]! ^= IPAD;
  start(32, null);
  absorb(pad);
  for (const p of parts) absorb(p);
  const inner = finish(32);
  for (let i = 0; i < BLOCK; i++) pad[i]! ^= IPAD ^ OPAD;
  start(32, null);
  absorb(pad);
  absorb(inner);
  pad.fill(0);
  return finish(32);
}
