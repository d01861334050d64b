import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import { ControlChannel, socketStream } from '../../src/control/channel.js';
import { encodeFrame, handshakeFeed, MAX_FRAME } from '../../src/control/framing.js';
import {
  type ClientMessage,
  PROTOCOL_VERSION,
  type ServerMessage,
  serverHello,
  serverMessage,
} from '../../src/control/messages.js';
import { clientHandshake } from '../../src/control/noise-session.js';
import { parseJson } from '../../src/control/schema.js';
import type { CryptoProvider } from '../../src/crypto/types.js';
import type { StaticKeyPair } from '../../src/wireguard/noise.js';

export type ClientChannel = ControlChannel<ServerMessage, ClientMessage>;

export interface ConnectOptions {
  crypto: CryptoProvider;
  machine: StaticKeyPair;
  serverPublicKey: Uint8Array;
  random: (n: number) => Uint8Array;
  /** Unix wall-clock ms. */
  now: () => number;
  timeoutMs?: number;
  /**
   * Replaces the parsing and checking of each message from the server. Only for load generators
   * (bench:control), whose thousands of simulated devices would otherwise spend the run re-parsing
   * the same large maps; a device always uses the default.
   */
  readMessage?: (text: string) => ServerMessage;
  /**
   * The source address to connect from. Only for tests and load generators on one machine, which
   * play devices at different addresses from loopback (127.0.0.0/8 all reach a loopback server).
   */
  localAddress?: string;
  /** How the server's host name is looked up; by default, DNS. */
  lookup?: LookupFunction;
}

const CONTROL_PATH = '/control/v1';
const CONTROL_UPGRADE = 'burrow-control/1';

/**
 * Opens the control channel to a burrow-server at `baseUrl` (http:// or, behind a TLS proxy,
 * https://): HTTP upgrade, then the Noise IK handshake with the pinned server key. Rejects if the
 * server does not prove that key.
 */
export function connectControl(baseUrl: string, options: ConnectOptions): Promise<ClientChannel> {
  const url = new URL(CONTROL_PATH, baseUrl);
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, {
      method: 'GET',
      headers: { Connection: 'Upgrade', Upgrade: CONTROL_UPGRADE },
      timeout: options.timeoutMs ?? 10_000,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      ...(options.lookup ? { lookup: options.lookup } : {}),
    });
    req.on('timeout', () => req.destroy(new Error(`control connection to ${url.host} timed out`)));
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      reject(
        new Error(`${url.host} answered ${res.statusCode} instead of upgrading to the control protocol`),
      );
    });
    req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
      const hello = new TextEncoder().encode(JSON.stringify({ v: PROTOCOL_VERSION, ts: options.now() }));
      const handshake = clientHandshake(
        options.crypto,
        options.machine,
        options.serverPublicKey,
        hello,
        options.random,
      );
      let channel: ClientChannel | undefined;
      const fail = (why: string) => {
        socket.destroy();
        reject(new Error(why));
      };
      const onReply = (frame: Uint8Array) => {
        const done = handshake.finish(frame);
        if (done === null) return void fail('the server did not prove the pinned key');
        try {
          parseJson(serverHello, new TextDecoder().decode(done.payload));
        } catch (error) {
          return void fail(`bad server hello: ${(error as Error).message}`);
        }
        const opened = new ControlChannel<ServerMessage, ClientMessage>(
          socketStream(socket),
          done.session,
          serverMessage,
          MAX_FRAME,
          options.readMessage,
        );
        channel = opened;
        socket.on('close', () => opened.close('connection closed'));
        socket.on('end', () => opened.close('connection closed by the server'));
        resolve(opened);
        return (chunk: Uint8Array) => opened.receive(chunk);
      };
      const feed = handshakeFeed(1024, onReply, (error) => fail(`bad handshake frame: ${error.message}`));
      socket.on('error', (e) => (channel ? channel.close(e.message) : fail(e.message)));
      socket.on('close', () => {
        if (!channel) fail(`${url.host} closed the control connection during the handshake`);
      });
      socket.write(encodeFrame(handshake.message));
      if (head.length > 0) feed(new Uint8Array(head.buffer, head.byteOffset, head.length));
      socket.on('data', (d: Buffer) => feed(new Uint8Array(d.buffer, d.byteOffset, d.length)));
    });
    req.end();
  });
}
