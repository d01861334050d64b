import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { RelayRegion } from '../../src/control/messages.js';
import type { EndpointKind } from '../../src/disco/message.js';
import type { StunEndpoint } from '../../src/stun/address.js';
import { StunClient } from '../stun/stun-client.js';

/** How often the STUN-mapped endpoint is asked for again (NAT mappings expire and move). */
const RESTUN_MS = 20_000;
/** STUN servers asked per round: two answers with different mapped ports reveal a symmetric NAT. */
const MAX_STUN_SERVERS = 2;

export interface EndpointFinderOptions {
  /** Our tunnel interface, whose own addresses are no endpoints. */
  tunName: string;
  /** The UDP socket's port. */
  port: () => number;
  /** Sends a datagram from the WireGuard socket (STUN must use that socket's NAT mapping). */
  send(data: Uint8Array, host: string, port: number): void;
  /** The endpoints changed (the control server must hear of them). */
  onChange(): void;
  log(message: string): void;
  /** A STUN server's name as an address; default `resolveStunHost`, the system's resolver. */
  resolve?(host: string): Promise<string>;
}

/**
 * The address to ask a STUN server at by name: its first IPv4 address, else its first IPv6 one. The
 * mapping NAT traversal needs is IPv4's (IPv6 addresses are candidates as the interfaces have
 * them), and answers from two families would look like a NAT that maps per destination.
 */
export async function resolveStunHost(host: string): Promise<string> {
  const addresses = await lookup(host, { all: true });
  const chosen = addresses.find((a) => a.family === 4) ?? addresses[0];
  if (chosen === undefined) throw new Error('no address');
  return chosen.address;
}

/**
 * The device's candidate endpoints: its interface addresses with the WireGuard port (for peers on
 * the same LAN) and the public endpoint a NAT maps the socket to, as the relay regions' STUN
 * servers see it (for peers elsewhere). Behind a symmetric NAT the mapped port differs per
 * destination, so that endpoint is not offered: peers would only waste pings on it.
 */
export class EndpointFinder {
  readonly stun: StunClient;
  /** As the relay map names them: a name is resolved again at each refresh (it may move). */
  private servers: StunEndpoint[] = [];
  /** The last failure to resolve each name, so that it is logged when it starts, not every round. */
  private readonly unresolved = new Map<string, string>();
  private mapped: string[] = [];
  /** The public endpoint the gateway maps to our port on request (helper/portmap), if any. */
  private portMapped: string | null = null;
  private last = '';
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(private readonly options: EndpointFinderOptions) {
    this.stun = new StunClient({ send: (d, host, port) => options.send(d, host, port) });
    this.timer = setInterval(() => void this.refresh(), RESTUN_MS);
    this.timer.unref();
  }

  /** The relay map's STUN servers; a change asks them at once. */
  setRegions(regions: readonly RelayRegion[]): void {
    const servers = regions
      .map((r) => r.stun)
      .filter((s): s is string => s !== undefined)
      .slice(0, MAX_STUN_SERVERS)
      .map(parseEndpoint);
    if (JSON.stringify(servers) === JSON.stringify(this.servers)) return;
    this.servers = servers;
    void this.refresh();
  }

  endpoints(): string[] {
    return this.candidates().map((c) => c.endpoint);
  }

  /** The endpoints, each with how we know it (a call-me-maybe tells peers both). */
  candidates(): { endpoint: string; kind: EndpointKind }[] {
    const port = this.options.port();
    if (port === 0) return [];
    const out = new Map<string, EndpointKind>();
    // The port-mapped endpoint first: it is the one that works behind a router that randomises ports.
    if (this.portMapped !== null) out.set(this.portMapped, 'port-mapping');
    for (const m of this.mapped) if (!out.has(m)) out.set(m, 'stun');
    for (const [ifname, addrs] of Object.entries(networkInterfaces())) {
      if (ifname === this.options.tunName) continue;
      for (const a of addrs ?? []) {
        if (a.internal || (a.family === 'IPv6' && a.scopeid !== 0)) continue;
        const e = a.family === 'IPv6' ? `[${a.address}]:${port}` : `${a.address}:${port}`;
        if (!out.has(e)) out.set(e, 'local');
      }
    }
    return [...out].slice(0, 32).map(([endpoint, kind]) => ({ endpoint, kind }));
  }

  /**
   * Whether `host` is on one of our interfaces' subnets (but the tunnel's): a peer's address there
   * is reached over the LAN, not across the internet.
   */
  onLink(host: string): boolean {
    const family = isIP(host);
    if (family === 0) return false;
    const subnets = new BlockList();
    for (const [ifname, addrs] of Object.entries(networkInterfaces())) {
      if (ifname === this.options.tunName) continue;
      for (const a of addrs ?? []) {
        if (a.internal || a.cidr === null) continue;
        const [network, bits] = a.cidr.split('/');
        subnets.addSubnet(network!, Number(bits), a.family === 'IPv6' ? 'ipv6' : 'ipv4');
      }
    }
    return subnets.check(host, family === 6 ? 'ipv6' : 'ipv4');
  }

  /** Asks the STUN servers for the mapped endpoint and tells `onChange` if the endpoints moved. */
  async refresh(): Promise<void> {
    const answers = await Promise.all(
      this.servers.map(async (server) => {
        const address = await this.address(server);
        if (address === null) return null;
        return this.stun.requestBinding(address, { timeoutMs: 3000 }).catch(() => null);
      }),
    );
    const seen = answers.filter((a): a is StunEndpoint => a !== null).map(endpointText);
    const unique = [...new Set(seen)];
    if (unique.length > 1) {
      this.options.log(
        `endpoints: the NAT maps this socket differently per destination (${unique.join(', ')})`,
      );
      this.mapped = [];
    } else this.mapped = unique;
    this.changed();
  }

  /** A server as an address to send to (the socket takes addresses only); null if its name fails. */
  private async address(server: StunEndpoint): Promise<StunEndpoint | null> {
    if (isIP(server.host)) return server;
    try {
      const host = await (this.options.resolve ?? resolveStunHost)(server.host);
      this.unresolved.delete(server.host);
      return { host, port: server.port };
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      if (this.unresolved.get(server.host) !== reason)
        this.options.log(`endpoints: cannot resolve the STUN server ${server.host} (${reason})`);
      this.unresolved.set(server.host, reason);
      return null;
    }
  }

  /** The gateway's port mapping for our port changed (null: none). */
  setPortMapped(endpoint: string | null): void {
    this.portMapped = endpoint;
    this.changed();
  }

  /** Tells `onChange` if the endpoints differ from the last ones told. */
  changed(): void {
    const text = JSON.stringify(this.endpoints());
    if (text === this.last) return;
    this.last = text;
    this.options.onChange();
  }

  close(): void {
    clearInterval(this.timer);
    this.stun.close();
  }
}

function endpointText(e: StunEndpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/** `host:port` or `[ip6]:port` (the control schema has checked the form). */
export function parseEndpoint(text: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(text);
  if (m === null) throw new Error(`not an endpoint: ${text}`);
  return { host: m[1]!, port: Number(m[2]) };
}
