import { EINVAL, EMSGSIZE } from './errno.js';

/** One request cut from a connection's byte stream. */
export type UapiFrame =
  | { readonly kind: 'get' }
  /** The whole request, from "set=1\n" through the empty line, for parseSet. */
  | { readonly kind: 'set'; readonly text: string }
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
  /** Bytes in one set request, including its first and last line. */
  maxRequestBytes: number;
  /** Bytes in one line, without its newline. */
  maxLineBytes: number;
}

export const DEFAULT_LIMITS: UapiLimits = { maxRequestBytes: 1 << 20, maxLineBytes: 4096 };

/**
 * Cuts a connection's bytes into requests: "get=1\n\n", or "set=1\n" and lines up to an empty one.
 * A connection may carry any number of requests. After an error the framer yields nothing more,
 * since there is no telling where the next request would start.
 */
export class UapiFramer {
  private pending = '';
  private state: 'op' | 'get' | 'set' | 'broken' = 'op';
  private set = '';

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
        this.set = '';
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
          this.set = 'set=1\n';
        } else return this.error(null, EINVAL, `unknown operation ${JSON.stringify(line.slice(0, 64))}`);
        continue;
      }
      this.set += `${line}\n`;
      if (this.set.length > this.limits.maxRequestBytes) {
        return this.error('set', EMSGSIZE, `the request is longer than ${this.limits.maxRequestBytes} bytes`);
      }
      if (line === '') {
        const text = this.set;
        this.set = '';
        this.state = 'op';
        return { kind: 'set', text };
      }
    }
  }

  private error(op: 'get' | 'set' | null, errno: number, message: string): UapiFrame {
    return { kind: 'error', op, errno, message };
  }
}
