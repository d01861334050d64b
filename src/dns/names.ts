/**
 * Domain names. In memory a name is its presentation text without the final dot ("webcam.family.
 * burrow.internal"; the root is ""), with a label's '.' and '\' escaped by a backslash and any byte
 * outside printable ASCII as \DDD, so that every wire name has exactly one text and back. Case is
 * kept as sent (clients randomise it, RFC 5452 §9.2, and check that answers echo it); lookups use
 * `nameKey`.
 */

import { HEADER_LENGTH, MAX_LABEL_LENGTH, MAX_NAME_LENGTH } from './constants.js';
import { DnsParseError } from './parse-error.js';
import { Writer } from './writer.js';

/** Where a reader is in a message. */
export interface Cursor {
  pos: number;
}

const DOT = 0x2e;
const MAX_POINTER_HOPS = 127;
const BACKSLASH = 0x5c;

/**
 * Reads the name at `cursor.pos` and moves the cursor past it (past its first pointer, if any).
 * Each pointer must point before the start of the labels it interrupts, and so before the previous
 * pointer's target: the walk therefore always ends. A name is at most 127 labels, each reached by
 * at most one pointer, so a longer chain (pointers to pointers, which no encoder writes) is refused
 * too: it would make each name cost a walk through the whole message.
 */
export function readName(bytes: Uint8Array, cursor: Cursor): string {
  let pos = cursor.pos;
  let segmentStart = pos;
  let jumped = false;
  let wireLength = 1;
  let hops = 0;
  let name = '';
  for (;;) {
    if (pos >= bytes.length) throw new DnsParseError('truncated', pos);
    const length = bytes[pos]!;
    if (length === 0) {
      if (!jumped) cursor.pos = pos + 1;
      return name;
    }
    const kind = length & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= bytes.length) throw new DnsParseError('truncated', pos);
      const target = ((length & 0x3f) << 8) | bytes[pos + 1]!;
      if (target >= segmentStart || target < HEADER_LENGTH || ++hops > MAX_POINTER_HOPS) {
        throw new DnsParseError('bad-pointer', pos);
      }
      if (!jumped) cursor.pos = pos + 2;
      jumped = true;
      pos = segmentStart = target;
      continue;
    }
    if (kind !== 0) throw new DnsParseError('bad-label-type', pos);
    wireLength += length + 1;
    if (wireLength > MAX_NAME_LENGTH) throw new DnsParseError('name-too-long', pos);
    const end = pos + 1 + length;
    if (end > bytes.length) throw new DnsParseError('truncated', pos);
    if (name.length > 0) name += '.';
    for (let i = pos + 1; i < end; i++) {
      const c = bytes[i]!;
      if (c > 0x20 && c < 0x7f)
        name += c === DOT || c === BACKSLASH ? `\\${String.fromCharCode(c)}` : String.fromCharCode(c);
      else name += c < 10 ? `\\00${c}` : c < 100 ? `\\0${c}` : `\\${c}`;
    }
    pos = end;
  }
}

/**
 * Writes `name`, compressed: the longest suffix already in the message becomes a pointer. Throws a
 * RangeError for a name that is not valid presentation text (our own values: a bug, not input).
 */
export function writeName(w: Writer, name: string): void {
  let start = 0;
  let wireLength = 1;
  while (start < name.length) {
    const pointer = w.pointerTo(name, start);
    if (pointer !== undefined) {
      // The suffix was checked when it was written; the whole name still has to fit.
      if (start > 0 && wireLength + wireLengthOf(name.slice(start)) - 1 > MAX_NAME_LENGTH)
        throw tooLong(name);
      w.u16(0xc000 | pointer);
      return;
    }
    w.remember(name, start);
    const lengthAt = w.pos;
    w.u8(0);
    let i = start;
    for (; i < name.length; i++) {
      let c = name.charCodeAt(i);
      if (c === DOT) break;
      if (c === BACKSLASH) [c, i] = escapedByte(name, i);
      else if (c <= 0x20 || c >= 0x7f)
        throw new RangeError(`bad character in DNS name ${JSON.stringify(name)}`);
      w.u8(c);
    }
    const length = w.pos - lengthAt - 1;
    if (length === 0 || length > MAX_LABEL_LENGTH) {
      throw new RangeError(`label of ${length} bytes in DNS name ${JSON.stringify(name)}`);
    }
    wireLength += length + 1;
    if (wireLength > MAX_NAME_LENGTH) throw tooLong(name);
    w.patch8(lengthAt, length);
    if (i === name.length - 1) throw new RangeError(`empty last label in DNS name ${JSON.stringify(name)}`);
    start = i + 1;
  }
  w.u8(0);
}

function tooLong(name: string): RangeError {
  return new RangeError(`DNS name over ${MAX_NAME_LENGTH} bytes: ${JSON.stringify(name)}`);
}

/** The wire length of a valid name's text: a length byte per label, the label bytes, the root. */
function wireLengthOf(name: string): number {
  let n = 2;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === BACKSLASH) {
      const next = name.charCodeAt(i + 1);
      i += next >= 0x30 && next <= 0x39 ? 3 : 1;
    }
    n++;
  }
  return n;
}

/** The byte an escape at `at` stands for, and the index of its last character. */
function escapedByte(name: string, at: number): [number, number] {
  const next = name.charCodeAt(at + 1);
  if (next >= 0x30 && next <= 0x39) {
    const digits = name.slice(at + 1, at + 4);
    const value = Number(digits);
    if (!/^[0-9]{3}$/.test(digits) || value > 255)
      throw new RangeError(`bad escape in DNS name ${JSON.stringify(name)}`);
    return [value, at + 3];
  }
  if (next !== DOT && next !== BACKSLASH)
    throw new RangeError(`bad escape in DNS name ${JSON.stringify(name)}`);
  return [next, at + 1];
}

/**
 * The form names are looked up by: ASCII letters lowered (RFC 4343; escapes are digits and
 * punctuation, so lowering the text lowers exactly the label bytes A-Z).
 */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

/**
 * A name given by configuration ("Webcam.family.burrow.internal."), as the key the resolver files it
 * under, or null if it is not a valid DNS name: a trailing dot is dropped and letters lowered.
 */
export function configName(text: string): string | null {
  const name = nameKey(text.endsWith('.') && !text.endsWith('\\.') ? text.slice(0, -1) : text);
  if (name === '') return null;
  try {
    checkWriter.reset();
    writeName(checkWriter, name);
  } catch {
    return null;
  }
  return name;
}

/** Whether `name` is `suffix` or below it; both keys. */
export function isAtOrBelow(name: string, suffix: string): boolean {
  if (suffix === '') return true;
  if (name.length === suffix.length) return name === suffix;
  return (
    name.length > suffix.length &&
    name.endsWith(suffix) &&
    name.charCodeAt(name.length - suffix.length - 1) === DOT &&
    !escapedAt(name, name.length - suffix.length - 1)
  );
}

/** Whether the character at `i` is escaped (preceded by an odd run of backslashes). */
function escapedAt(text: string, i: number): boolean {
  let n = 0;
  while (i - n - 1 >= 0 && text.charCodeAt(i - n - 1) === BACKSLASH) n++;
  return n % 2 === 1;
}

const checkWriter = new Writer();
