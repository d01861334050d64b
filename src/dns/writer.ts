/**
 * Where messages are encoded: one buffer of the largest message size, reused by every encode (the
 * core is single-threaded and encoding never re-enters), so answering allocates only the copy it
 * hands out. Names written through it are compressed against the names already written.
 */

import { MAX_MESSAGE } from './constants.js';

/** Compression pointers hold 14 bits: names past this offset can point back but not be pointed at. */
const MAX_POINTER_TARGET = 0x3fff;
/** Suffixes kept for compression: plenty for any answer the resolver builds. */
const MAX_REMEMBERED = 128;

export class Writer {
  pos = 0;
  private readonly buf = new Uint8Array(MAX_MESSAGE);
  /**
   * Where each suffix of each name written so far starts: the name, the index in its text where the
   * suffix begins, and the offset it was written at. A short list scanned without allocating beats
   * hashing a new string per label in messages of a few names, and it is bounded, so a large
   * message only compresses less.
   */
  private readonly texts: string[] = [];
  private readonly starts: number[] = [];
  private readonly offsets: number[] = [];

  reset(): void {
    this.pos = 0;
    this.texts.length = 0;
    this.starts.length = 0;
    this.offsets.length = 0;
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

  /** The offset of an earlier copy of the suffix of `name` from `start`, if a pointer reaches one. */
  pointerTo(name: string, start: number): number | undefined {
    const length = name.length - start;
    for (let i = 0; i < this.texts.length; i++) {
      const text = this.texts[i]!;
      const from = this.starts[i]!;
      if (text.length - from !== length) continue;
      let j = 0;
      while (j < length && text.charCodeAt(from + j) === name.charCodeAt(start + j)) j++;
      if (j === length) return this.offsets[i];
    }
    return undefined;
  }

  /** Notes that the suffix of `name` from `start` is written here, for later names to point to. */
  remember(name: string, start: number): void {
    if (this.pos <= MAX_POINTER_TARGET && this.texts.length < MAX_REMEMBERED) {
      this.texts.push(name);
      this.starts.push(start);
      this.offsets.push(this.pos);
    }
  }

  /** A copy of what was written. */
  take(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  private room(n: number): void {
    if (this.pos + n > MAX_MESSAGE) throw new RangeError(`DNS message longer than ${MAX_MESSAGE} bytes`);
  }
}
