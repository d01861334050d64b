import { parseCidr } from '../../src/packet/ip-text.js';

/** What `burrow trace TARGET[:PORT]` names: a host (a device name, a DNS name or an address) and a port. */
export interface TraceTarget {
  host: string;
  /** The host as an address, when it was written as one. */
  ip: string | null;
  /** null without one: the trace then follows a ping (ICMP echo). */
  port: number | null;
}

const NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9.])?$/;

/**
 * Parses "webcam:80", "webcam", "100.64.0.2:80", "fd7a::2" or "[fd7a::2]:80". Throws an Error
 * saying what is wrong; the LocalAPI turns it into a 400.
 */
export function parseTraceTarget(text: string): TraceTarget {
  let host = text;
  let portText: string | null = null;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed !== null) {
    host = bracketed[1]!;
    portText = bracketed[2] ?? null;
  } else if (text.split(':').length === 2) {
    [host, portText] = text.split(':') as [string, string];
  }
  let port: number | null = null;
  if (portText !== null) {
    if (!/^[1-9][0-9]{0,4}$/.test(portText) || Number(portText) > 65535)
      throw new Error(`"${portText}" is not a port (1-65535)`);
    port = Number(portText);
  }
  const looksLikeAddress = host.includes(':') || /^[0-9.]+$/.test(host);
  if (looksLikeAddress) {
    try {
      if (host.includes('/')) throw new Error('a prefix');
      parseCidr(host);
    } catch {
      throw new Error(`"${host}" is not an IP address`);
    }
  }
  const ip = looksLikeAddress ? host : null;
  if (ip === null && (!NAME.test(host) || host.length > 253))
    throw new Error(`"${host}" is not a device or host name`);
  return { host, ip, port };
}
