/**
 * TAI64N timestamps, as carried (encrypted) in a handshake initiation: 8 bytes of big-endian
 * seconds offset by 2^62 + 10, then 4 bytes of big-endian nanoseconds. A responder keeps the
 * greatest timestamp seen per peer and drops initiations that are not newer, which stops
 * replayed initiations. Like wireguard-go, the seconds count is simply Unix time plus the
 * offset (no leap-second table): only the ordering matters.
 */

export const TAI64N_LENGTH = 12;

// Nanoseconds are rounded down to a multiple of 2^24 (about 16.8 ms), as wireguard-go does, so
// the stamp gives whoever decrypts it (the responder) no precise reading of the sender's clock.
// 2^24 ns is the largest power of two below the 20 ms WireGuard leaves between initiations,
// so successive initiations still carry increasing stamps.
const WHITENER_MASK = ~0xffffff;

const TWO_32 = 2 ** 32;
const TAI_OFFSET_HIGH = 0x40000000; // the 2^62 of the offset, in the upper 32-bit word
const TAI_OFFSET_LOW = 10;

/**
 * Encodes the Unix time `unixMs` (milliseconds, may be fractional or negative) into `out`
 * (12 bytes are written at its start; a new array by default) and returns `out`.
 */
export function encodeTai64n(unixMs: number, out: Uint8Array = new Uint8Array(TAI64N_LENGTH)): Uint8Array {
  if (!Number.isFinite(unixMs)) throw new RangeError(`unixMs must be a finite number, got ${unixMs}`);
  if (out.length < TAI64N_LENGTH) {
    throw new RangeError(`out must hold ${TAI64N_LENGTH} bytes, got ${out.length}`);
  }
  const seconds = Math.floor(unixMs / 1000);
  const nanos = Math.floor((unixMs - seconds * 1000) * 1e6) & WHITENER_MASK;
  // The 64-bit count is 2^62 + (seconds + 10); seconds + 10 is a safe integer, split exactly.
  const count = seconds + TAI_OFFSET_LOW;
  const highWord = Math.floor(count / TWO_32);
  writeUint32(out, 0, TAI_OFFSET_HIGH + highWord);
  writeUint32(out, 4, count - highWord * TWO_32);
  writeUint32(out, 8, nanos);
  return out;
}

/**
 * Orders two TAI64N timestamps (bytewise, big-endian): negative if `a` is earlier, 0 if equal,
 * positive if `a` is later. Only the first 12 bytes of each are compared.
 */
export function compareTai64n(a: Uint8Array, b: Uint8Array): number {
  if (a.length < TAI64N_LENGTH || b.length < TAI64N_LENGTH) {
    throw new RangeError(`TAI64N timestamps are ${TAI64N_LENGTH} bytes, got ${a.length} and ${b.length}`);
  }
  for (let i = 0; i < TAI64N_LENGTH; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

function writeUint32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value >>> 24;
  out[offset + 1] = value >>> 16;
  out[offset + 2] = value >>> 8;
  out[offset + 3] = value;
}
