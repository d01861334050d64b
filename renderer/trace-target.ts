/**
 * What the journey view traces, as pure functions: the text of the "Why can't I reach…" field
 * ("webcam", "webcam:80", "100.64.0.2:443", "[fd7a::2]:22") read as `burrow trace` reads its
 * TARGET[:PORT], and the protocol and port a trace asks about.
 */
import type { TraceRequest } from '../src/localapi/api.js';

export type TraceProto = 'tcp' | 'udp' | 'icmp';

/** The protocol and port a trace asks about: a port for tcp and udp, none for a ping (icmp). */
export interface TraceChoice {
  proto: TraceProto;
  port: number | null;
}

/** As `burrow trace NAME` without a port: the packet is a ping. */
export const PING: TraceChoice = { proto: 'icmp', port: null };

/** Offered beside free entry in the port field; a user may type any other. */
export const COMMON_PORTS: readonly { port: number; service: string }[] = [
  { port: 80, service: 'HTTP' },
  { port: 443, service: 'HTTPS' },
  { port: 22, service: 'SSH' },
  { port: 445, service: 'SMB' },
  { port: 3389, service: 'Remote Desktop' },
  { port: 5900, service: 'VNC' },
  { port: 8080, service: 'HTTP (alternate)' },
  { port: 53, service: 'DNS' },
];

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9.])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

/** A port as typed: 1-65535, digits only. */
export function parsePort(text: string): Parsed<number> {
  const t = text.trim();
  if (!/^[0-9]{1,5}$/.test(t) || Number(t) < 1 || Number(t) > 65535)
    return { ok: false, error: `"${t}" is not a port (1-65535)` };
  return { ok: true, value: Number(t) };
}

/** A device name (short or full), a DNS name, or an IP address. */
function checkHost(host: string): string | null {
  if (host === '') return 'Type a device name or an IP address';
  if (host.length > 253) return 'That name is too long';
  const looksLikeAddress = host.includes(':') || /^[0-9.]+$/.test(host);
  if (looksLikeAddress) {
    const valid = host.includes(':') ? IPV6.test(host) && host.split(':').length <= 9 : IPV4.test(host);
    return valid ? null : `"${host}" is not an IP address`;
  }
  return NAME.test(host) ? null : `"${host}" is not a device or host name`;
}

/** The field's text as `burrow trace` reads TARGET[:PORT]; an IPv6 address with a port in brackets. */
export function parseTraceTarget(text: string): Parsed<{ host: string; port: number | null }> {
  const t = text.trim();
  let host = t;
  let portText: string | null = null;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(t);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2] ?? null;
  } else if (t.split(':').length === 2) {
    [host, portText] = t.split(':') as [string, string];
  }
  const hostError = checkHost(host);
  if (hostError !== null) return { ok: false, error: hostError };
  if (portText === null) return { ok: true, value: { host, port: null } };
  const port = parsePort(portText);
  return port.ok ? { ok: true, value: { host, port: port.value } } : port;
}

/** The LocalAPI request for tracing `target` with `choice`. */
export function traceRequestOf(target: string, choice: TraceChoice): TraceRequest {
  return choice.proto === 'icmp' || choice.port === null
    ? { target, proto: 'icmp' }
    : { target, proto: choice.proto, port: choice.port };
}

/** "webcam:80", "webcam:53 (UDP)", "ping webcam": what a trace asks about, for headings. */
export function describeTrace(target: string, choice: TraceChoice): string {
  if (choice.proto === 'icmp' || choice.port === null) return `ping ${target}`;
  const host = target.includes(':') ? `[${target}]` : target;
  return `${host}:${choice.port}${choice.proto === 'udp' ? ' (UDP)' : ''}`;
}
