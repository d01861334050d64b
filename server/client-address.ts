import type { IncomingMessage } from 'node:http';
import { isIP, isIPv6 } from 'node:net';
import { containsAddress, type Prefix, parseAddress, parsePrefix } from '../src/policy/prefix.js';

/** Reverse proxies on this host: their X-Forwarded-For is believed unless configured otherwise. */
export const DEFAULT_TRUSTED_PROXIES = ['127.0.0.0/8', '::1/128'];

/**
 * Who a request is from. Behind a reverse proxy (the TLS front the README recommends) every
 * connection comes from the proxy, so per-address limits would put all users in one bucket: when
 * the connection comes from a trusted proxy, the client is the right-most X-Forwarded-For entry
 * that is not itself a trusted proxy (entries further left are whatever the client claimed).
 */
export class ClientAddresses {
  private readonly trusted: Prefix[];

  /** Throws naming the entry if one is not an address or CIDR. */
  constructor(trustedProxies: readonly string[] = DEFAULT_TRUSTED_PROXIES) {
    this.trusted = trustedProxies.map((p) => parsePrefix(p));
  }

  of(req: IncomingMessage): string {
    const peer = req.socket.remoteAddress ?? '';
    if (!this.isTrusted(peer)) return peer;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((h) => h.trim());
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (!isIP(hop)) break; // garbage from a client: the last proxy-recorded hop stands
      client = hop;
      if (!this.isTrusted(hop)) break;
    }
    return client;
  }

  private isTrusted(address: string): boolean {
    const plain = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address;
    if (!isIP(plain) || plain.includes('%')) return false;
    const { addr } = parseAddress(plain);
    return this.trusted.some((p) => containsAddress(p, addr));
  }
}

/**
 * The key per-address limits count under: an IPv4 address as itself (IPv4-mapped IPv6 included), an
 * IPv6 address by its /64, since one subscriber is normally given a whole /64 and could otherwise
 * take a fresh address for every attempt.
 */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** An address as people read it: IPv4-mapped IPv6 shown as IPv4. */
export function displayAddress(address: string | undefined): string {
  if (!address) return '';
  return /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address;
}
