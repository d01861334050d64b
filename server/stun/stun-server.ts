/**
 * burrow-server's STUN binding responder (RFC 5389 over UDP): it tells each device the public
 * address and port its NAT gave the socket the request came from, which the device then reports
 * as a candidate endpoint.
 *
 * One socket serves both families: bound to "::" (the default) it is a dual-stack udp6 socket
 * with ipv6Only false, so IPv4 requests arrive from IPv4-mapped addresses, which are answered
 * as plain IPv4 (the address the device's NAT really has). Bound to an IPv4 address it is udp4.
 * One socket keeps one port and one code path, where two sockets would need two binds kept in step.
 *
 * Anything that is not a valid Binding Request is ignored, and counted by reason. Answers are rate
 * limited per source (a token bucket, 20/s with a burst of 40), and IPv6 sources by /64, which is
 * what one host usually holds: the responder must not become a tool for reflecting floods at
 * someone whose address a flooder spoofs. An answer is at most a few times the request's size.
 */

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { parseCidr } from '../../src/packet/ip-text.js';
import { answerBindingRequest } from '../../src/stun/binding.js';
import { STUN_REFUSALS, type StunRefusal } from '../../src/stun/refusals.js';
import { RateLimiter } from '../../src/wireguard/rate-limiter.js';

export const STUN_PORT = 3478;

export interface StunServerOptions {
  /** Address to bind; default "::", both families on one socket. */
  host?: string;
  /** UDP port; default 3478, 0 for one the kernel picks. */
  port?: number;
  /** SOFTWARE attribute for answers; none by default, to keep answers small. */
  software?: string;
  /** Sustained answers per second per source; default 20. */
  answersPerSecond?: number;
  /** Answers a quiet source may get at once; default 40. */
  burst?: number;
  /** Milliseconds, non-decreasing, for the rate limiter; default performance.now. */
  now?: () => number;
}

export type StunServerRefusal = StunRefusal | 'rate-limited';
export const STUN_SERVER_REFUSALS: readonly StunServerRefusal[] = [...STUN_REFUSALS, 'rate-limited'];

/**
 * Counters since start. Every datagram is counted once, so
 * received = answered + errors + the sum of refused.
 */
export interface StunServerStats {
  received: number;
  /** Binding Requests: those answered, those answered with an error, and those rate limited. */
  requests: number;
  /** Binding Success Responses sent. */
  answered: number;
  /** 420 (Unknown Attribute) error responses sent. */
  errors: number;
  /** Datagrams ignored, by reason. */
  refused: Record<StunServerRefusal, number>;
  /** Answers the socket failed to send. */
  sendFailures: number;
}

export interface StunServer {
  /** The bound port (the kernel's pick if 0 was asked for). */
  readonly port: number;
  stats(): StunServerStats;
  close(): Promise<void>;
}

/** Binds the responder; rejects if the address cannot be bound. */
export async function startStunServer(options: StunServerOptions = {}): Promise<StunServer> {
  const { host = '::', port = STUN_PORT, software, now = () => performance.now() } = options;
  const limiter = new RateLimiter({
    packetsPerSecond: options.answersPerSecond ?? 20,
    burst: options.burst ?? 40,
  });
  const stats: StunServerStats = {
    received: 0,
    requests: 0,
    answered: 0,
    errors: 0,
    refused: Object.fromEntries(STUN_SERVER_REFUSALS.map((r) => [r, 0])) as Record<StunServerRefusal, number>,
    sendFailures: 0,
  };
  const socket = host.includes(':')
    ? createSocket({ type: 'udp6', ipv6Only: false })
    : createSocket({ type: 'udp4' });

  socket.on('message', (datagram: Buffer, remote: RemoteInfo) => {
    stats.received++;
    const source = { host: unmapIpv4(remote.address), port: remote.port };
    const reply = answerBindingRequest(datagram, source, software);
    if (reply.reply === 'none') {
      stats.refused[reply.reason]++;
      return;
    }
    stats.requests++;
    if (!limiter.allow(rateKey(source.host), now())) {
      stats.refused['rate-limited']++;
      return;
    }
    if (reply.reply === 'success') stats.answered++;
    else stats.errors++;
    socket.send(reply.response, remote.port, remote.address, (error) => {
      if (error) stats.sendFailures++;
    });
  });

  await bind(socket, host, port);
  // Past the bind, errors reach send callbacks; a late one must not crash the server.
  socket.on('error', () => {
    stats.sendFailures++;
  });

  let closed: Promise<void> | undefined;
  return {
    port: socket.address().port,
    stats: () => ({ ...stats, refused: { ...stats.refused } }),
    close: () => {
      closed ??= new Promise((resolve) => socket.close(() => resolve()));
      return closed;
    },
  };
}

function bind(socket: Socket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      socket.close();
      reject(error);
    };
    socket.once('error', onError);
    socket.bind(port, host, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

const MAPPED_IPV4 = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

/** "::ffff:192.0.2.1", as a dual-stack socket reports an IPv4 source, is "192.0.2.1". */
function unmapIpv4(address: string): string {
  return MAPPED_IPV4.exec(address)?.[1] ?? address;
}

/** The rate-limiter key: the IPv4 address, or the IPv6 /64. */
function rateKey(host: string): string {
  if (!host.includes(':')) return host;
  const { addr } = parseCidr(host.replace(/%.*$/, ''));
  return `${Buffer.from(addr.subarray(0, 8)).toString('hex')}/64`;
}
