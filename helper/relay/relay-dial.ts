/**
 * One attempt to reach a relay: the HTTP upgrade to the relay protocol, the Noise handshake that
 * proves the pinned key, and the hellos that settle the protocol version; then the keepalive pings
 * of the connection it made, until it ends.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { encodeFrame, FrameReader, handshakeFeed } from '../../src/control/framing.js';
import { type ControlSession, clientHandshake } from '../../src/control/noise-session.js';
import { MAX_SEALED_RELAY_FRAME, type RelayVersion, SendBatch } from '../../src/relay/frames.js';
import {
  encodeClientHello,
  isRelayHello,
  MAX_HELLO_FRAME,
  RELAY_PATH,
  RELAY_PROLOGUE,
  RELAY_UPGRADE,
  RELAY_VERSIONS_HEADER,
  versionOffered,
} from '../../src/relay/hello.js';
import type { RelayClientOptions } from './relay-client.js';

/** A connection to the relay that finished its handshake. */
export interface Link {
  socket: Socket;
  session: ControlSession;
  since: number;
  corked: boolean;
  /** The protocol version the hellos agreed on. */
  version: RelayVersion;
  /** Version 2: the packets sent this turn of the event loop, to one destination, not yet sealed. */
  batch: SendBatch | null;
}

export interface DialEvents {
  /** The handshake finished and `link` is up; returns what takes the bytes that follow. */
  established(link: Link, reader: FrameReader, end: (reason: string) => void): (chunk: Uint8Array) => void;
  /** Pings the relay (the keepalive): rejects if no pong comes within `timeoutMs`. */
  ping(timeoutMs: number): Promise<number>;
  /** The attempt failed, or the connection it made ended: called once. */
  ended(reason: string): void;
}

/** Dials the relay; returns what ends the attempt, or the connection it made, with a reason. */
export function dialRelay(options: RelayClientOptions, events: DialEvents): (reason: string) => void {
  const url = new URL(RELAY_PATH, options.url);
  if (url.protocol === 'ws:') url.protocol = 'http:';
  if (url.protocol === 'wss:') url.protocol = 'https:';
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = request(url, {
    method: 'GET',
    headers: { Connection: 'Upgrade', Upgrade: RELAY_UPGRADE },
    ...(options.lookup ? { lookup: options.lookup } : {}),
  });
  let socket: Socket | undefined;
  let keepalive: ReturnType<typeof setInterval> | undefined;
  let ended = false;
  const end = (reason: string) => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    clearInterval(keepalive);
    req.destroy();
    socket?.destroy();
    events.ended(reason);
  };
  const timer = setTimeout(
    () => end('timed out connecting to the relay'),
    options.connectTimeoutMs ?? 10_000,
  );
  req.on('error', (e) => end(e.message));
  req.on('response', (res) => {
    res.resume();
    end(`${url.host} answered ${res.statusCode} instead of upgrading to the relay protocol`);
  });
  req.on('upgrade', (res, upgraded: Socket, head: Buffer) => {
    socket = upgraded;
    // The relay lists its versions before the handshake; the hellos then settle the one in force.
    const version = Math.min(
      versionOffered(res.headers[RELAY_VERSIONS_HEADER.toLowerCase()]),
      options.maxVersion ?? 2,
    ) as RelayVersion;
    socket.setNoDelay(true);
    socket.on('error', (e) => end(e.message));
    socket.on('close', () => end('the relay closed the connection'));
    socket.on('end', () => end('the relay closed the connection'));
    const handshake = clientHandshake(
      options.crypto,
      options.node,
      options.relayPublicKey,
      encodeClientHello(options.now(), version),
      options.random,
      RELAY_PROLOGUE,
    );
    const reader = new FrameReader(MAX_SEALED_RELAY_FRAME);
    const onReply = (frame: Uint8Array) => {
      const done = handshake.finish(frame);
      if (done === null) return void end('the relay did not prove the pinned key');
      if (!isRelayHello(done.payload, version)) {
        return void end('the relay speaks another version of the protocol');
      }
      clearTimeout(timer);
      const link: Link = {
        socket: upgraded,
        session: done.session,
        since: performance.now(),
        corked: false,
        version,
        batch: version >= 2 ? new SendBatch() : null,
      };
      const keepaliveMs = options.keepaliveMs ?? 30_000;
      keepalive = setInterval(() => {
        events.ping(keepaliveMs).catch(() => end('the relay stopped answering pings'));
      }, keepaliveMs);
      return events.established(link, reader, end);
    };
    const feed = handshakeFeed(MAX_HELLO_FRAME, onReply, () => end('bad handshake frame from the relay'));
    socket.write(encodeFrame(handshake.message));
    if (head.length > 0) feed(new Uint8Array(head.buffer, head.byteOffset, head.length));
    socket.on('data', (d: Buffer) => feed(new Uint8Array(d.buffer, d.byteOffset, d.length)));
  });
  req.end();
  return end;
}
