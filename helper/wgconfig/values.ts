/**
 * Value syntax shared by config files and the UAPI: numbers, IP literals, hostnames, endpoints.
 * Each parser throws an Error whose message is only the reason; callers add where and which key.
 */
import { formatAddr, parseCidr } from '../../src/packet/ip-text.js';
import type { WgEndpoint } from './types.js';

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

/** A decimal integer in [min, max], without sign, spaces or leading zeros. */
export function parseDecimal(text: string, min: number, max: number): number {
  if (!DECIMAL.test(text)) throw new Error(`expected a decimal number, got ${JSON.stringify(text)}`);
  const n = Number(text);
  if (n < min || n > max) throw new Error(`${text} is out of range (${min}-${max})`);
  return n;
}

/** An IPv4 or IPv6 address without prefix length, or null if `text` is not one. */
export function parseIpLiteral(text: string): { addr: Uint8Array; family: 4 | 6 } | null {
  if (text.includes('/')) return null;
  try {
    const { addr, family } = parseCidr(text);
    return { addr, family };
  } catch {
    return null;
  }
}

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** An RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
export function isHostname(text: string): boolean {
  return text.length > 0 && text.length <= 253 && text.split('.').every((label) => LABEL.test(label));
}

// An interface name or index after "%" in a link-local IPv6 address.
const ZONE = /^[A-Za-z0-9_.-]{1,15}$/;

/**
 * "192.0.2.1:51820", "[2001:db8::1]:51820" (a zone such as "%eth0" is allowed inside the
 * brackets) or, if `allowHostname`, "vpn.example.com:51820". IP literals come back in canonical
 * text, as a socket reports them; hostnames as written. Port 0 is refused: nothing can be sent to it.
 */
export function parseEndpoint(text: string, allowHostname: boolean): WgEndpoint {
  let hostText: string;
  let portText: string;
  let host: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1 || text[close + 1] !== ':') {
      throw new Error(`expected [address]:port, got ${JSON.stringify(text)}`);
    }
    hostText = text.slice(1, close);
    portText = text.slice(close + 2);
    const percent = hostText.indexOf('%');
    const zone = percent === -1 ? '' : hostText.slice(percent + 1);
    const ip = parseIpLiteral(percent === -1 ? hostText : hostText.slice(0, percent));
    if (ip === null || ip.family !== 6 || (percent !== -1 && !ZONE.test(zone))) {
      throw new Error(`${JSON.stringify(hostText)} is not an IPv6 address`);
    }
    host = formatAddr(ip.addr) + (percent === -1 ? '' : `%${zone}`);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon === -1) throw new Error(`expected host:port, got ${JSON.stringify(text)}`);
    hostText = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (hostText.includes(':')) {
      throw new Error(
        `an IPv6 address needs brackets, as in [2001:db8::1]:51820; got ${JSON.stringify(text)}`,
      );
    }
    host = parseHost(hostText, allowHostname);
  }
  let port: number;
  try {
    port = parseDecimal(portText, 1, 65535);
  } catch (err) {
    throw new Error(`port: ${(err as Error).message}`);
  }
  return { host, port };
}

function parseHost(text: string, allowHostname: boolean): string {
  const ip = parseIpLiteral(text);
  if (ip !== null) return formatAddr(ip.addr);
  // All digits and dots is meant as an IPv4 address ("10.0.1"), never as a host name.
  if (allowHostname && !/^[0-9.]*$/.test(text) && isHostname(text)) return text;
  throw new Error(`${JSON.stringify(text)} is not an IP address${allowHostname ? ' or host name' : ''}`);
}
