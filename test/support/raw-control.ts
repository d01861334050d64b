/**
 * Strangers on burrow-server's control protocol, as an attacker would run them: raw channels with
 * fresh machine keys (connectControl, the protocol's real client side), and the plain HTTP the
 * sign-in page takes, from any loopback source address (127.0.0.0/8 all reach a 127.0.0.1 server).
 */
import { request } from 'node:http';
import { type ClientChannel, connectControl } from '../../helper/control/connect.js';
import type { ServerMessage } from '../../src/control/messages.js';
import { randomBytes, selectCrypto } from '../../src/crypto/index.js';
import { clampPrivateKey, encodeKey } from '../../src/wireguard/keys.js';

const crypto = selectCrypto();

/** The server's control key, as a device pins it. */
export async function controlKey(url: string): Promise<Uint8Array> {
  const { publicKey } = (await (await fetch(`${url}/control/key`)).json()) as { publicKey: string };
  return new Uint8Array(Buffer.from(publicKey, 'base64'));
}

export interface RawChannel {
  channel: ClientChannel;
  machineKey: string;
  inbox: ServerMessage[];
  closed: Promise<string>;
  /** Sends a key-less register (which asks for a login link). */
  register(hostname?: string): void;
  /** The next message from `from` on that `match` accepts. */
  next(match: (m: ServerMessage) => boolean, from?: number, timeoutMs?: number): Promise<ServerMessage>;
}

/**
 * A control channel with a fresh machine key, from `localAddress` if given; rejects if the server
 * refuses the handshake.
 */
export async function rawChannel(
  url: string,
  serverKey: Uint8Array,
  localAddress?: string,
): Promise<RawChannel> {
  const privateKey = clampPrivateKey(randomBytes(32));
  const machine = { privateKey, publicKey: crypto.x25519PublicKey(privateKey) };
  const channel = await connectControl(url, {
    crypto,
    machine,
    serverPublicKey: serverKey,
    random: randomBytes,
    now: Date.now,
    ...(localAddress ? { localAddress } : {}),
  });
  const inbox: ServerMessage[] = [];
  const waiters = new Set<() => void>();
  channel.onMessage((m) => {
    inbox.push(m);
    for (const w of waiters) w();
  });
  const closed = new Promise<string>((resolve) => channel.onClose(resolve));
  const raw: RawChannel = {
    channel,
    machineKey: Buffer.from(machine.publicKey).toString('base64'),
    inbox,
    closed,
    register: (hostname = 'laptop') =>
      channel.send({
        type: 'register',
        nodeKey: encodeKey(randomBytes(32)),
        discoKey: encodeKey(randomBytes(32)),
        hostname,
      }),
    next: (match, from = 0, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = inbox.slice(from).find(match);
          if (!found) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching message; got ${JSON.stringify(inbox.slice(from, from + 5))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
  return raw;
}

export const isRegisterResult = (
  m: ServerMessage,
): m is Extract<ServerMessage, { type: 'register-result' }> => m.type === 'register-result';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request from `localAddress` (a loopback address of the caller's choice). */
export function http(
  url: string,
  options: { method?: string; body?: string; localAddress?: string; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        localAddress: options.localAddress,
        headers: {
          ...(options.body !== undefined
            ? {
                'content-type': 'application/x-www-form-urlencoded',
                'content-length': Buffer.byteLength(options.body),
              }
            : {}),
          ...options.headers,
        },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A sign-in attempt on a login link's page. */
export const signIn = (link: string, name: string, password: string, localAddress?: string) =>
  http(link, {
    method: 'POST',
    body: new URLSearchParams({ name, password }).toString(),
    ...(localAddress ? { localAddress } : {}),
  });

/** A value of burrow-server's /metrics (the first sample whose line starts with `series`). */
export async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(series));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}
