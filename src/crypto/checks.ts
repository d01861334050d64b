/** Argument checks and nonce layout shared by the crypto providers. */

export function requireLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length) throw new RangeError(`${what} must be ${length} bytes, got ${bytes.length}`);
}

export function isCounter(counter: number): boolean {
  return Number.isSafeInteger(counter) && counter >= 0;
}

/** Writes `counter` as the little-endian 64-bit tail of a WireGuard nonce (bytes 0..3 stay zero). */
export function writeCounter(nonce: DataView, counter: number): void {
  nonce.setUint32(4, counter >>> 0, true);
  nonce.setUint32(8, Math.floor(counter / 2 ** 32), true);
}
