/**
 * The default IPv4 gateway, where a port mapping is asked for, and this host's address toward it
 * (PCP puts it in the request, UPnP in NewInternalClient). Read from /proc/net/route of burrowd's
 * own network namespace: the table's default route with the lowest metric.
 */
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';

export interface Gateway {
  /** The gateway's IPv4 address. */
  gateway: string;
  /** Ours on the gateway's link: the source address the kernel picks toward it. */
  self: string;
}

/** The default gateway in /proc/net/route's text; null if there is none. */
export function parseRouteTable(text: string): string | null {
  let best: { gateway: string; metric: number } | null = null;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [, destination, gatewayHex, flagsHex, , , metricText, mask] = f;
    const flags = Number.parseInt(flagsHex!, 16);
    // RTF_UP (1) and RTF_GATEWAY (2), destination and mask 0: a default route through a gateway.
    if (destination !== '00000000' || mask !== '00000000' || (flags & 3) !== 3) continue;
    const metric = Number(metricText);
    const gateway = hexAddress(gatewayHex!);
    if (gateway !== null && (best === null || metric < best.metric)) best = { gateway, metric };
  }
  return best?.gateway ?? null;
}

/** /proc/net/route writes addresses as the host's (little-endian) 32-bit number in hex. */
function hexAddress(hex: string): string | null {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return null;
  const n = Number.parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join('.');
}

export async function findGateway(): Promise<Gateway | null> {
  const gateway = parseRouteTable(await readFile('/proc/net/route', 'utf8').catch(() => ''));
  if (gateway === null) return null;
  const self = await sourceAddressToward(gateway).catch(() => null);
  return self === null ? null : { gateway, self };
}

/** Connecting a UDP socket sends nothing: it only makes the kernel choose the route and source. */
function sourceAddressToward(host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', (error) => {
      socket.close();
      reject(error);
    });
    socket.connect(9, host, () => {
      const { address } = socket.address();
      socket.close();
      resolve(address);
    });
  });
}
