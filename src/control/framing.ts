/**
 * Length-prefixed frames for the control channel: a 4-byte big-endian length, then that many bytes.
 * The reader takes a byte stream in arbitrary chunks and yields whole frames; a frame larger than
 * the limit is an error (the connection is then closed), never a buffer that grows without bound.
 */

export const FRAME_HEADER = 4;
/**
 * Largest frame a device accepts: the full map of a 20,000-device network (the schema's limit)
 * fits. The server reads with a much smaller limit (MAX_CLIENT_FRAME): devices send small messages.
 */
export const MAX_FRAME = 64 << 20;
/** Largest frame the server accepts from a device. */
export const MAX_CLIENT_FRAME = 1 << 20;

export class FrameError extends Error {}

export function encodeFrame(payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_FRAME)
    throw new FrameError(`frame of ${payload.length} bytes exceeds ${MAX_FRAME}`);
  const out = new Uint8Array(FRAME_HEADER + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, FRAME_HEADER);
  return out;
}

export class FrameReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  constructor(private readonly maxFrame = MAX_FRAME) {}

  /** Adds bytes from the stream and returns every frame now complete, in order. Throws FrameError
   * for an oversize frame; the reader must not be used after that. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.buffered < FRAME_HEADER) return frames;
      const header = this.peek(FRAME_HEADER);
      const length = new DataView(header.buffer, header.byteOffset, FRAME_HEADER).getUint32(0);
      if (length > this.maxFrame) throw new FrameError(`frame of ${length} bytes exceeds ${this.maxFrame}`);
      if (this.buffered < FRAME_HEADER + length) return frames;
      this.take(FRAME_HEADER);
      frames.push(this.take(length));
    }
  }

  /** Bytes received that do not yet form a whole frame. */
  get pending(): number {
    return this.buffered;
  }

  /** Removes and returns the bytes not yet forming a frame (to hand the stream to another reader). */
  drain(): Uint8Array {
    return this.take(this.buffered);
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    return this.gather(n, false);
  }

  private take(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    return this.gather(n, true);
  }

  private gather(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    let i = 0;
    while (filled < n) {
      const chunk = this.chunks[i]!;
      const part = chunk.subarray(0, n - filled);
      out.set(part, filled);
      filled += part.length;
      if (consume) {
        if (part.length === chunk.length) this.chunks.shift();
        else this.chunks[0] = chunk.subarray(part.length);
      } else {
        i++;
      }
    }
    if (consume) this.buffered -= n;
    return out;
  }
}

/**
 * Reads a stream's first frame (a handshake message) and hands back, with it, the bytes that
 * followed it, which belong to whatever reads the stream next.
 */
export class FirstFrameReader {
  private readonly reader: FrameReader;

  constructor(maxFrame: number) {
    this.reader = new FrameReader(maxFrame);
  }

  /** Null until the first frame is complete; throws FrameError for an oversize one. */
  push(chunk: Uint8Array): { frame: Uint8Array; rest: Uint8Array } | null {
    const frames = this.reader.push(chunk);
    if (frames.length === 0) return null;
    const parts = [...frames.slice(1).map(encodeFrame), this.reader.drain()];
    const rest = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      rest.set(p, at);
      at += p.length;
    }
    return { frame: frames[0]!, rest };
  }
}

/**
 * What reads a stream that opens with a handshake frame (control, relay and key-feed connections):
 * the first frame, whole, goes to `onFirst`, which answers with what takes every byte after it,
 * or nothing when it refused the stream; an oversize first frame goes to `onBad`. The bytes that
 * came in behind the first frame go on to the taker at once; after a refusal the rest is ignored.
 */
export function handshakeFeed(
  maxFrame: number,
  onFirst: (frame: Uint8Array) => ((chunk: Uint8Array) => void) | undefined,
  onBad: (error: FrameError) => void,
): (chunk: Uint8Array) => void {
  const first = new FirstFrameReader(maxFrame);
  let next: ((chunk: Uint8Array) => void) | undefined;
  let over = false;
  return (chunk) => {
    if (next) return next(chunk);
    if (over) return;
    let got: ReturnType<FirstFrameReader['push']>;
    try {
      got = first.push(chunk);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      over = true;
      return onBad(error);
    }
    if (got === null) return;
    over = true;
    next = onFirst(got.frame);
    next?.(got.rest);
  };
}
