/**
 * MagicDNS on a mesh node: burrowd's resolver, fed from the map, and the system's DNS pointed at
 * it. While the tunnel is up the resolver listens on 100.100.100.100 and the network's ULA
 * address, answers the names of the devices this one sees and forwards every other name (split-DNS
 * routes to their servers, the rest to the resolvers the system had before, or to the network's
 * servers with "override"). With the acceptDns pref, the system asks it: per link through
 * systemd-resolved (only the base domain, the routes' domains and the mesh's reverse zones, or
 * every name with override), or through /etc/resolv.conf, saved and put back when burrowd stops,
 * also after a kill -9 (at the next start). Without it the system's DNS is left alone.
 */
import { readFile } from 'node:fs/promises';
import { DEFAULT_BASE_DOMAIN, QUAD_100 } from '../../src/control/dns-settings.js';
import type { Netmap } from '../../src/control/messages.js';
import { randomBytes } from '../../src/crypto/index.js';
import { tableFromMap } from '../../src/dns/map-table.js';
import { parseMessage } from '../../src/dns/message.js';
import {
  questionFor,
  rcodeName,
  recordText,
  stubQuery,
  typeName,
  typeNumber,
} from '../../src/dns/presentation.js';
import { DnsResolver } from '../../src/dns/resolver.js';
import { reverseName } from '../../src/dns/reverse-names.js';
import type { Upstream } from '../../src/dns/table.js';
import type { DnsAnswer, DnsStatus } from '../../src/localapi/api.js';
import { parseCidr } from '../../src/packet/ip-text.js';
import { ResolverAddresses } from '../dns/resolver-addresses.js';
import { type Asker, ResolverService } from '../dns/resolver-service.js';
import {
  type DnsSettings,
  openSystemDns,
  RESOLV_CONF,
  restoreStaleDns,
  type SystemDns,
} from '../dns/system-dns.js';
import { LocalApiError } from '../localapi/server.js';
import { monotonic } from './clock.js';
import type { Log } from './log.js';

export interface MeshDnsOptions {
  tun: string;
  stateDir: string;
  log: Log;
}

/** The mesh's IPv4 reverse zones: 100.64.0.0/10 is the /16s 64 to 127 under 100.in-addr.arpa. */
const MESH_REVERSE_V4 = Array.from({ length: 64 }, (_, i) => `${64 + i}.100.in-addr.arpa`);

/** Where this device's resolver listens: 100.100.100.100 and, with a map that names it, its ULA address. */
export function resolverAddresses(map: Netmap): string[] {
  const resolver = map.dns?.resolver;
  return resolver ? [resolver.ipv4, resolver.ipv6] : [QUAD_100];
}

/** The nameservers a resolv.conf names, as upstreams (scoped link-local ones left out). */
export function nameserversIn(text: string): Upstream[] {
  const out: Upstream[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m && !m[1]!.includes('%')) out.push({ host: m[1]!, port: 53 });
  }
  return out;
}

/** What the system's DNS is set to for `map`, by backend. */
export function systemSettings(map: Netmap, backend: SystemDns['backend']): DnsSettings {
  const dns = map.dns;
  const nameservers = [resolverAddresses(map)[0]!];
  const searchDomains = dns?.searchDomains ?? [];
  // resolv.conf sends every name to its servers: there can be no split.
  if (backend === 'file' || dns?.override) return { nameservers, searchDomains, matchDomains: [] };
  const ulaZones = tableFromMap(map, []).reverseZones.map(ip6ArpaZone);
  return {
    nameservers,
    searchDomains,
    matchDomains: [
      dns?.baseDomain ?? DEFAULT_BASE_DOMAIN,
      ...(dns?.routes ?? []).map((r) => r.domain),
      ...MESH_REVERSE_V4,
      ...ulaZones,
    ],
  };
}

/** A ULA /48 as its reverse zone (12 nibbles under ip6.arpa). */
function ip6ArpaZone(prefix: string): string {
  const { addr, cidr } = parseCidr(prefix);
  return reverseName(addr, cidr);
}

export class MeshDns {
  private resolver: DnsResolver<Asker> | null = null;
  private service: ResolverService | null = null;
  private readonly addresses: ResolverAddresses;
  private system: SystemDns | null = null;
  /** The settings the system's DNS has from us (as JSON), null while it has none. */
  private applied: string | null = null;
  /** The system's resolvers before we changed them (read again while we have not). */
  private previous: Upstream[] = [];
  private map: Netmap | null = null;
  private acceptDns = true;
  private problems = '';
  private addressError = '';
  /** What went wrong changing the system's DNS, for `burrow status`. */
  private failure: string | null = null;

  constructor(private readonly options: MeshDnsOptions) {
    this.addresses = new ResolverAddresses(options.tun);
  }

  /** At start: puts back a resolv.conf that a killed burrowd left changed. */
  async start(): Promise<void> {
    await restoreStaleDns((m) => this.options.log.info(`dns: ${m}`), RESOLV_CONF).catch((error) =>
      this.options.log.error(`dns: ${(error as Error).message}`),
    );
  }

  /** Problems to show in `burrow status`. */
  health(): string[] {
    return this.failure === null ? [] : [this.failure];
  }

  /**
   * Brings the resolver and the system's DNS in line with `map` and the acceptDns pref. Never
   * throws: what fails is logged and shown in `burrow status`, and the tunnel carries on without.
   */
  async apply(map: Netmap, acceptDns: boolean): Promise<void> {
    this.map = map;
    this.acceptDns = acceptDns;
    try {
      await this.startResolver(map);
    } catch (error) {
      this.failure = `the DNS resolver could not start: ${(error as Error).message}`;
      this.options.log.error(`dns: ${this.failure}`);
      return;
    }
    try {
      if (acceptDns) await this.setSystem(map);
      else await this.restoreSystem();
      this.failure = null;
    } catch (error) {
      this.failure = `the system's DNS could not be pointed at Burrow: ${(error as Error).message}`;
      this.options.log.error(`dns: ${this.failure}`);
    }
  }

  /** The resolver's addresses, its table from `map`, and its sockets. */
  private async startResolver(map: Netmap): Promise<void> {
    const addresses = await this.addresses.set(resolverAddresses(map), (error) => {
      // Said once, not with every map.
      if (this.addressError === error.message) return;
      this.addressError = error.message;
      this.options.log.error(`dns: the resolver cannot listen there: ${error.message}`);
    });
    if (addresses.length === 0) throw new Error('none of its addresses could be added to the interface');
    if (this.applied === null) this.previous = await this.readPrevious();
    const table = tableFromMap(map, this.previous);
    if (this.resolver === null) {
      this.resolver = new DnsResolver(table, { random: randomBytes });
      this.service = new ResolverService(this.resolver, {
        now: monotonic,
        log: (m) => this.options.log.info(m),
      });
    }
    const problems = this.resolver.setTable(table);
    if (problems.join('\n') !== this.problems) {
      this.problems = problems.join('\n');
      for (const p of problems) this.options.log.error(`dns: left out of the names: ${p}`);
    }
    await this.service!.listen(addresses);
  }

  /** Puts the system's DNS back and stops the resolver (the tunnel goes down). */
  async stop(): Promise<void> {
    await this.restoreSystem().catch((error) => this.options.log.error(`dns: ${(error as Error).message}`));
    this.service?.close();
    this.service = null;
    this.resolver = null;
    await this.addresses.clear();
  }

  status(): DnsStatus {
    const map = this.map;
    const running = this.service !== null;
    const dns = map?.dns;
    const backend = this.applied !== null && this.system !== null ? this.system.backend : null;
    // Where names nobody else claims go, as the table has it (override, the old resolvers, or the
    // network's servers for a system that had none).
    const table = map ? tableFromMap(map, this.previous) : null;
    const upstreams = table ? (table.overrideAll.length > 0 ? table.overrideAll : table.fallback) : [];
    const counters = this.service?.counters ?? { udp: 0, tcp: 0, forwarded: 0, notLocal: 0, tcpBusy: 0 };
    return {
      acceptDns: this.acceptDns,
      running,
      addresses: running ? this.service!.addresses : [],
      baseDomain: map ? (dns?.baseDomain ?? DEFAULT_BASE_DOMAIN) : null,
      backend,
      changed:
        backend === null
          ? null
          : backend === 'file'
            ? `${RESOLV_CONF}: its servers and search domains (the previous file comes back when burrowd stops)`
            : `the DNS of link ${this.options.tun} in systemd-resolved (dropped when burrowd stops)`,
      searchDomains: dns?.searchDomains ?? [],
      routes: (dns?.routes ?? []).map((r) => ({ domain: r.domain, servers: r.servers })),
      upstreams: upstreams.map((u) =>
        u.port === 53 ? u.host : u.host.includes(':') ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`,
      ),
      override: dns?.override ?? false,
      counters: { ...counters },
      refusals: Object.entries(this.resolver?.refusals() ?? {}).map(([reason, count]) => ({
        reason,
        count: count ?? 0,
      })),
    };
  }

  /** Asks the resolver as a program on this device would (`burrow dns query`). */
  async query(name: string, type: string | undefined): Promise<DnsAnswer> {
    const service = this.service;
    if (service === null) throw new LocalApiError(409, 'the resolver is not running (burrowd is not up)');
    const number = type === undefined ? null : typeNumber(type);
    if (number === null && type !== undefined) throw new LocalApiError(400, `unknown record type "${type}"`);
    const question = questionFor(name, number);
    const random = randomBytes(2);
    const id = (random[0]! << 8) | random[1]!;
    let query: Uint8Array;
    try {
      query = stubQuery(id, question.name, question.type);
    } catch {
      throw new LocalApiError(400, `"${name}" is not a DNS name`);
    }
    const reply = parseMessage(await service.ask(query));
    return {
      name: question.name,
      type: typeName(question.type),
      rcode: rcodeName(reply.header.rcode | ((reply.opt?.extendedRcode ?? 0) << 4)),
      authoritative: reply.header.aa,
      answers: reply.answers.map((r) => ({
        name: r.name,
        type: typeName(r.type),
        ttl: r.ttl,
        data: recordText(r),
      })),
    };
  }

  private async setSystem(map: Netmap): Promise<void> {
    this.system ??= await openSystemDns({
      iface: this.options.tun,
      stateDir: this.options.stateDir,
      log: (m) => this.options.log.info(`dns: ${m}`),
      resolvConf: RESOLV_CONF,
    });
    const settings = systemSettings(map, this.system.backend);
    const key = JSON.stringify(settings);
    if (key === this.applied) return;
    // The file backend keeps one backup: the old settings go before the new ones are made.
    if (this.applied !== null) await this.system.restore();
    this.applied = null;
    await this.system.set(settings);
    this.applied = key;
    this.options.log.info(`dns: the system asks ${settings.nameservers.join(', ')} (${this.system.backend})`);
  }

  private async restoreSystem(): Promise<void> {
    if (this.applied === null || this.system === null) return;
    this.applied = null;
    await this.system.restore();
    this.options.log.info('dns: the system’s DNS is as it was');
  }

  /** The resolvers in resolv.conf now (none if it cannot be read). */
  private async readPrevious(): Promise<Upstream[]> {
    const text = await readFile(RESOLV_CONF, 'utf8').catch(() => '');
    return nameserversIn(text);
  }
}
