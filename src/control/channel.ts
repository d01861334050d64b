import { encodeFrame, FrameReader } from './framing.js';
import type { ControlSession } from './noise-session.js';
import { parseJson, type Schema, SchemaError } from './schema.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The byte stream under a channel: a socket, or anything with the same three operations. */
export interface ByteStream {
  write(bytes: Uint8Array): void;
  end(): void;
  onData(callback: (chunk: Uint8Array) => void): void;
  /** Bytes queued for writing, if the stream can tell. */
  backlog?(): number;
}

/** The shape of a Node socket, described here so that this file needs no Node import. */
export interface DuplexLike {
  write(bytes: Uint8Array): unknown;
  end(): unknown;
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  readonly writableLength?: number;
}

/** A socket as a ByteStream (Node's Buffers are Uint8Arrays). */
export function socketStream(socket: DuplexLike): ByteStream {
  return {
    write: (bytes) => socket.write(bytes),
    end: () => socket.end(),
    onData: (callback) => socket.on('data', callback),
    backlog: () => socket.writableLength ?? 0,
  };
}

/**
 * Typed messages over an established Noise session: each message is one sealed JSON frame. An
 * undecryptable frame, malformed JSON or a message that fails its schema closes the channel with
 * the reason; nothing invalid reaches the handler.
 */
export class ControlChannel<In, Out> {
  private readonly reader: FrameReader;
  private handler: ((message: In) => void) | undefined;
  private closeHandlers: ((reason: string) => void)[] = [];
  private closedWith: string | null = null;
  private backlog: In[] = [];

  constructor(
    private readonly stream: ByteStream,
    private readonly session: ControlSession,
    incoming: Schema<In>,
    maxFrame?: number,
    /** Turns a frame's text into a message; by default parses it as JSON and checks `incoming`. */
    private readonly read: (text: string) => In = (text) => parseJson(incoming, text),
  ) {
    this.reader = new FrameReader(maxFrame);
  }

  /** Feeds bytes that arrived on the stream (the owner wires the stream's data to this). */
  receive(chunk: Uint8Array): void {
    if (this.closedWith !== null) return;
    let frames: Uint8Array[];
    try {
      frames = this.reader.push(chunk);
    } catch (error) {
      this.close(`bad frame: ${(error as Error).message}`);
      return;
    }
    for (const frame of frames) {
      const payload = this.session.open(frame);
      if (payload === null) {
        this.close('a frame failed to authenticate');
        return;
      }
      let message: In;
      try {
        message = this.read(decoder.decode(payload));
      } catch (error) {
        const reason = error instanceof SchemaError ? error.message : 'payload is not UTF-8';
        this.close(`invalid message: ${reason}`);
        return;
      }
      if (this.handler) this.handler(message);
      else this.backlog.push(message);
      if (this.closedWith !== null) return;
    }
  }

  onMessage(handler: (message: In) => void): void {
    this.handler = handler;
    const backlog = this.backlog;
    this.backlog = [];
    for (const m of backlog) handler(m);
  }

  onClose(handler: (reason: string) => void): void {
    if (this.closedWith !== null) handler(this.closedWith);
    else this.closeHandlers.push(handler);
  }

  send(message: Out): void {
    this.sendJson(JSON.stringify(message));
  }

  /**
   * Sends a message the caller has already serialised, so one JSON text can go to many channels
   * (a fan-out) or be assembled from cached parts (a full map). The caller vouches that it is the
   * JSON of an `Out`; the receiving side validates it as it validates everything.
   */
  sendJson(json: string): void {
    if (this.closedWith !== null) return;
    this.stream.write(encodeFrame(this.session.seal(encoder.encode(json))));
  }

  /** Bytes written but not yet taken by the stream (a slow reader's backlog). */
  get unsentBytes(): number {
    return this.stream.backlog?.() ?? 0;
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  close(reason = 'closed'): void {
    if (this.closedWith !== null) return;
    this.closedWith = reason;
    this.session.close();
    this.stream.end();
    for (const h of this.closeHandlers) h(reason);
    this.closeHandlers = [];
  }
}
