/**
 * Where messages are encoded: one buffer of the largest message size, reused by every encode (the
 * core is single-threaded and encoding never re-enters), so answering allocates only the copy it
 * hands out. Names written through it are compressed against the names already written.
 */

import { MAX_MESSAGE } from './constants.js';

/** Compression pointers hold 14 bits: names past this offset can point back but not be pointed at. */
const MAX_POINTER_TARGET = 0x3fff;

export class Writer {
  pos = 0;
  private readonly buf = new Uint8Array(MAX_MESSAGE);
  /** Names written so far (each suffix of each name, as its presentation text) and their offsets. */
  private readonly names = new Map<string, number>();

  reset(): void {
    this.pos = 0;
    this.names.clear();
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.room(2);
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v & 0xff;
  }

  u32(v: number): void {
    this.room(4);
    this.buf[this.pos++] = v >>> 24;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A byte written earlier. */
  at(i: number): number {
    return this.buf[i]!;
  }

  /** Overwrites a byte written earlier (a label's length, once the label is written). */
  patch8(at: number, v: number): void {
    this.buf[at] = v;
  }

  /** Overwrites a 16-bit field written earlier (an rdata length, once the rdata is written). */
  patch16(at: number, v: number): void {
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v & 0xff;
  }

  /** The offset of an earlier copy of the name `suffix`, if one was written where a pointer reaches. */
  pointerTo(suffix: string): number | undefined {
    return this.names.get(suffix);
  }

  /** Notes that the name `suffix` starts here, so later names may point to it. */
  remember(suffix: string): void {
    if (this.pos <= MAX_POINTER_TARGET && !this.names.has(suffix)) this.names.set(suffix, this.pos);
  }

  /** A copy of what was written. */
  take(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  private room(n: number): void {
    if (this.pos + n > MAX_MESSAGE) throw new RangeError(`DNS message longer than ${MAX_MESSAGE} bytes`);
  }
}
