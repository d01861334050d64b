import { EINVAL, EMSGSIZE } from './errno.js';
import { MAX_SET_LINES, SetParser, type UapiError, type UapiSetRequest } from './protocol.js';

/** One request cut from a connection's byte stream. */
export type UapiFrame =
  | { readonly kind: 'get' }
  /** A set request, parsed line by line as it came (SetParser): ready to apply, or refused. */
  | { readonly kind: 'set'; readonly request: UapiSetRequest | UapiError }
  /**
   * The stream cannot be read on. The connection answers `errno` in the convention of `op` (null
   * when no operation was recognised, which wireguard-go answers by hanging up) and then closes.
   */
  | {
      readonly kind: 'error';
      readonly op: 'get' | 'set' | null;
      readonly errno: number;
      readonly message: string;
    };

export interface UapiLimits {
  /** Lines in one set request, after its "set=1" (SetParser). */
  maxSetLines: number;
  /** Bytes in one line, without its newline: all the text a connection holds at a time. */
  maxLineBytes: number;
}

export const DEFAULT_LIMITS: UapiLimits = { maxSetLines: MAX_SET_LINES, maxLineBytes: 4096 };

/**
 * Cuts a connection's bytes into requests: "get=1\n\n", or "set=1\n" and lines up to an empty one.
 * A connection may carry any number of requests. A set's lines go to a SetParser as they come, so
 * a request of any length (`wg setconf` of a big file) takes memory for one line of text at a
 * time. After an error the framer yields nothing more, since there is no telling where the next
 * request would start.
 */
export class UapiFramer {
  private pending = '';
  private state: 'op' | 'get' | 'set' | 'broken' = 'op';
  private set: SetParser | null = null;

  constructor(private readonly limits: UapiLimits = DEFAULT_LIMITS) {}

  push(chunk: Uint8Array): UapiFrame[] {
    if (this.state === 'broken') return [];
    // latin1 maps each byte to one character, so lengths are byte counts and a chunk boundary inside
    // a multi-byte character cannot garble anything; the protocol itself is ASCII.
    this.pending += Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
    const frames: UapiFrame[] = [];
    for (;;) {
      const frame = this.next();
      if (frame === null) return frames;
      frames.push(frame);
      if (frame.kind === 'error') {
        this.state = 'broken';
        this.pending = '';
        this.set = null;
        return frames;
      }
    }
  }

  /** The next complete frame in `pending`, or null if more bytes are needed. */
  private next(): UapiFrame | null {
    for (;;) {
      if (this.state === 'get') {
        if (this.pending === '') return null;
        if (this.pending[0] !== '\n')
          return this.error('get', EINVAL, 'get=1 must be followed by an empty line');
        this.pending = this.pending.slice(1);
        this.state = 'op';
        return { kind: 'get' };
      }
      const op = this.state === 'set' ? 'set' : null;
      const newline = this.pending.indexOf('\n');
      const lineLength = newline === -1 ? this.pending.length : newline;
      if (lineLength > this.limits.maxLineBytes) {
        return this.error(op, EMSGSIZE, `a line is longer than ${this.limits.maxLineBytes} bytes`);
      }
      if (newline === -1) return null;
      const line = this.pending.slice(0, newline);
      this.pending = this.pending.slice(newline + 1);
      if (this.state === 'op') {
        if (line === 'get=1') this.state = 'get';
        else if (line === 'set=1') {
          this.state = 'set';
          this.set = new SetParser(this.limits.maxSetLines);
        } else return this.error(null, EINVAL, `unknown operation ${JSON.stringify(line.slice(0, 64))}`);
        continue;
      }
      const set = this.set!;
      if (line !== '') {
        set.push(line);
        continue;
      }
      this.set = null;
      this.state = 'op';
      return { kind: 'set', request: set.finish() };
    }
  }

  private error(op: 'get' | 'set' | null, errno: number, message: string): UapiFrame {
    return { kind: 'error', op, errno, message };
  }
}
