import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ControlChannel, socketStream } from '../../src/control/channel.js';
import { encodeFrame, FirstFrameReader, FrameError, MAX_CLIENT_FRAME } from '../../src/control/framing.js';
import {
  type ClientMessage,
  clientHello,
  clientMessage,
  PROTOCOL_VERSION,
  type ServerMessage,
} from '../../src/control/messages.js';
import { serverHandshake } from '../../src/control/noise-session.js';
import { parseJson } from '../../src/control/schema.js';
import type { CryptoProvider } from '../../src/crypto/types.js';
import type { StaticKeyPair } from '../../src/wireguard/noise.js';

export const CONTROL_PATH = '/control/v1';
export const CONTROL_UPGRADE = 'burrow-control/1';
/** First messages older or newer than this are refused; within it, each is accepted once. */
const HELLO_WINDOW_MS = 120_000;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const MAX_HELLO_FRAME = 1024;

export interface ControlListenerOptions {
  crypto: CryptoProvider;
  serverKey: StaticKeyPair;
  random: (n: number) => Uint8Array;
  /** Unix wall-clock ms. */
  now: () => number;
}

export type ServerChannel = ControlChannel<ClientMessage, ServerMessage>;

export interface ControlConnection {
  /** The machine key the device proved it holds. */
  machineKey: Uint8Array;
  channel: ServerChannel;
}

/**
 * Serves the control protocol on an HTTP server: `GET /control/v1` with `Upgrade: burrow-control/1`
 * switches the connection to length-prefixed frames; the device's first frame is a Noise IK message
 * proving its machine key, the server answers, and typed messages follow. First messages are
 * accepted only within a time window and only once (by ephemeral key), so they cannot be replayed.
 */
export function attachControl(
  server: Server,
  options: ControlListenerOptions,
  onConnection: (connection: ControlConnection) => void,
): void {
  const seen = new Map<string, number>();
  const forgetOld = (now: number) => {
    for (const [k, at] of seen) if (now - at > 2 * HELLO_WINDOW_MS) seen.delete(k);
  };

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Other paths belong to other listeners on this server (the relay); serve.ts answers the rest.
    if (request.url !== CONTROL_PATH) return;
    if (request.headers.upgrade?.toLowerCase() !== CONTROL_UPGRADE) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${CONTROL_UPGRADE}\r\nConnection: Upgrade\r\n\r\n`,
    );
    const stream = socketStream(socket);
    const first = new FirstFrameReader(MAX_HELLO_FRAME);
    let channel: ServerChannel | undefined;
    const timer = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(timer);
      channel?.close('connection closed');
    });
    // The device's end of the stream: close ours too (upgraded sockets stay half-open otherwise).
    socket.on('end', () => (channel ? channel.close('connection closed by the device') : socket.destroy()));

    const onFirstFrame = (frame: Uint8Array, rest: Uint8Array) => {
      const accepted = serverHandshake(options.crypto, options.serverKey, frame, options.random);
      if (accepted === null) return socket.destroy();
      const now = options.now();
      let hello: { ts: number };
      try {
        hello = parseJson(clientHello, new TextDecoder().decode(accepted.payload));
      } catch {
        return socket.destroy();
      }
      const id = Buffer.from(accepted.ephemeralKey).toString('hex');
      if (Math.abs(now - hello.ts) > HELLO_WINDOW_MS || seen.has(id)) return socket.destroy();
      forgetOld(now);
      seen.set(id, now);
      const { message, session } = accepted.reply(
        new TextEncoder().encode(JSON.stringify({ v: PROTOCOL_VERSION })),
      );
      socket.write(encodeFrame(message));
      clearTimeout(timer);
      channel = new ControlChannel<ClientMessage, ServerMessage>(
        stream,
        session,
        clientMessage,
        MAX_CLIENT_FRAME,
      );
      onConnection({ machineKey: accepted.machineKey, channel });
      channel.receive(rest);
    };

    const feed = (chunk: Uint8Array) => {
      if (channel) return channel.receive(chunk);
      let got: ReturnType<FirstFrameReader['push']>;
      try {
        got = first.push(chunk);
      } catch (error) {
        if (error instanceof FrameError) return socket.destroy();
        throw error;
      }
      if (got !== null) onFirstFrame(got.frame, got.rest);
    };
    if (head.length > 0) feed(new Uint8Array(head.buffer, head.byteOffset, head.length));
    stream.onData(feed);
  });
}
