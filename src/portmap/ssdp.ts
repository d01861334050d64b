/**
 * SSDP discovery of a UPnP Internet Gateway Device: an M-SEARCH sent to the gateway's port 1900
 * (unicast, as Tailscale does: only the default gateway can map our port), and the parser of the
 * HTTP-over-UDP answer, which must be a 200 with a LOCATION on the gateway itself.
 */
import { accept, type Parsed, refuse } from './refusals.js';

export const SSDP_PORT = 1900;
/** An SSDP answer is one datagram; real ones are a few hundred bytes. */
const MAX_ANSWER = 2048;
const MAX_HEADERS = 32;
export const IGD_SEARCH_TARGET = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1';

export function buildMSearch(): Uint8Array {
  return new TextEncoder().encode(
    'M-SEARCH * HTTP/1.1\r\n' +
      'HOST: 239.255.255.250:1900\r\n' +
      'MAN: "ssdp:discover"\r\n' +
      'MX: 1\r\n' +
      `ST: ${IGD_SEARCH_TARGET}\r\n\r\n`,
  );
}

export interface SsdpAnswer {
  /** The device description's URL (http, on the gateway). */
  location: URL;
  searchTarget: string;
}

/** An M-SEARCH answer from `gateway` (its IPv4 address): the LOCATION must point at it. */
export function parseSsdpAnswer(bytes: Uint8Array, gateway: string): Parsed<SsdpAnswer> {
  if (bytes.length > MAX_ANSWER) return refuse('bad-http');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return refuse('bad-http');
  }
  const end = text.indexOf('\r\n\r\n');
  const lines = (end === -1 ? text : text.slice(0, end)).split('\r\n');
  if (!/^HTTP\/1\.1 200 OK$/i.test(lines[0] ?? '')) return refuse('bad-http');
  if (lines.length - 1 > MAX_HEADERS) return refuse('bad-http');
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return refuse('bad-http');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const raw = headers.get('location');
  if (raw === undefined) return refuse('bad-location');
  const location = gatewayUrl(raw, gateway);
  if (location === null) return refuse('bad-location');
  return accept({ location, searchTarget: headers.get('st') ?? '' });
}

/** `text` as an http URL whose host is `gateway` itself; null otherwise (no redirection elsewhere). */
export function gatewayUrl(text: string, gateway: string, base?: URL): URL | null {
  let url: URL;
  try {
    url = base === undefined ? new URL(text) : new URL(text, base);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' || url.hostname !== gateway || url.username !== '' || url.password !== '')
    return null;
  return url;
}
