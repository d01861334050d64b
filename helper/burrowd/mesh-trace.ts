import type { Netmap } from '../../src/control/messages.js';
import type { BackendState, Prefs } from '../../src/localapi/api.js';
import type { RouteFacts } from '../../src/trace/facts.js';
import type { TraceReport } from '../../src/trace/report.js';
import { buildTraceReport } from '../../src/trace/trace-report.js';
import { encodeKey } from '../../src/wireguard/keys.js';
import type { Peer } from '../../src/wireguard/peer.js';
import { routeGet } from '../routing/route-get.js';
import { routeStage } from '../routing/route-stage.js';
import { monotonic } from './clock.js';
import type { MeshDns } from './mesh-dns.js';
import type { InboundTap, MeshFilter } from './mesh-filter.js';
import { planMesh } from './peer-sync.js';
import type { Pinger } from './pinger.js';
import { type TraceQuery, traceFacts } from './trace.js';
import { DeliveryProber } from './trace-delivery.js';
import { ProbeTransport } from './trace-probes.js';
import type { Tunnel } from './tunnel.js';

export interface MeshTraceOptions {
  netmap: () => Netmap | null;
  prefs: () => Prefs;
  /** Burrow's interface (burrow0). */
  iface: string;
  backendState: () => BackendState;
  tunnel: () => Tunnel | null;
  filter: MeshFilter;
  dns: MeshDns;
  pinger: Pinger;
}

/**
 * `burrow trace` in a mesh node: the two things it sends into the tunnel and takes answers of out
 * of it (trace probes to and from peers, and the delivery SYNs), and the trace itself.
 */
export class MeshTrace {
  readonly probes: ProbeTransport;
  private readonly delivery: DeliveryProber;

  constructor(private readonly options: MeshTraceOptions) {
    const inject = (packet: Uint8Array) => options.tunnel()?.inject(packet);
    this.delivery = new DeliveryProber(inject, monotonic);
    this.probes = new ProbeTransport({
      inject,
      clock: monotonic,
      selfAddresses: () => options.netmap()?.self.ips ?? [],
      explain: (packet, from, now) => options.filter.inbound.explain(packet, from, now),
      askerOf: (peer) => this.askerOf(peer),
    });
  }

  /** What the datapath's gate hands inbound packets to first (see MeshFilter.gate). */
  get taps(): InboundTap[] {
    return [this.probes, this.delivery];
  }

  /** Follows a packet (see traceFacts) and judges it. */
  async trace(query: TraceQuery): Promise<TraceReport> {
    const o = this.options;
    const facts = await traceFacts(
      {
        netmap: o.netmap,
        prefs: o.prefs,
        backendState: o.backendState,
        tunnel: o.tunnel,
        route: async (ip) => this.route(query, ip),
        resolve: (name) => this.resolve(name),
        ping: (src, dst, timeoutMs) => o.pinger.ping(src, dst, timeoutMs),
        probe: (question) => this.probes.ask(question),
        deliver: (protocol, src, dst, port, timeoutMs) =>
          this.delivery.probe(protocol, src, dst, port, timeoutMs),
        now: Date.now,
        monotonic,
      },
      query,
    );
    return buildTraceReport(facts);
  }

  /**
   * Stage 2: the kernel's route for the packet, as the asking user would send it (`ip route get`
   * through netlink), read with what burrowd knows of the map and its prefs.
   */
  private route(query: TraceQuery, ip: string): RouteFacts {
    const started = monotonic();
    const map = this.options.netmap();
    const prefs = this.options.prefs();
    const exitNode = prefs.exitNode === null ? null : map?.peers.find((p) => p.id === prefs.exitNode);
    const protocol = { tcp: 6, udp: 17, icmp: ip.includes(':') ? 58 : 1 }[query.protocol];
    let lookup: ReturnType<typeof routeGet>;
    try {
      lookup = routeGet({
        dst: ip,
        ipProto: protocol,
        ...(query.port !== null ? { dport: query.port } : {}),
        ...(query.uid !== undefined ? { uid: query.uid } : {}),
      });
    } catch (error) {
      const why = `the route lookup failed: ${(error as Error).message}`;
      return { kind: 'unreachable', error: why, ms: monotonic() - started };
    }
    return routeStage(
      lookup,
      {
        iface: this.options.iface,
        exitNode: prefs.exitNode === null ? null : (exitNode?.name ?? prefs.exitNode),
        exitNodeMissing: map !== null && planMesh(map, prefs, Date.now()).exitNodeMissing,
        acceptRoutes: prefs.acceptRoutes,
        offeredRoutes: (map?.peers ?? []).flatMap((p) => p.routes.map((cidr) => ({ peer: p.name, cidr }))),
      },
      monotonic() - started,
    );
  }

  counters() {
    return this.probes.counters();
  }

  cancelAll(): void {
    this.probes.cancelAll();
    this.delivery.cancelAll();
  }

  /** The A (then AAAA) records burrowd's resolver answers for `name`, null if it is not running. */
  private async resolve(name: string): Promise<string[] | null> {
    try {
      for (const type of ['A', 'AAAA']) {
        const answer = await this.options.dns.query(name, type);
        const ips = answer.answers.filter((r) => r.type === type).map((r) => r.data);
        if (ips.length > 0) return ips;
      }
      return [];
    } catch {
      return null;
    }
  }

  /** The map's peer behind a WireGuard peer, as a probe's asker (its own addresses, its quarantine). */
  private askerOf(peer: Peer) {
    const key = encodeKey(peer.publicKey);
    const node = this.options.netmap()?.peers.find((p) => p.nodeKey === key);
    if (node === undefined) return null;
    return { id: node.id, addresses: node.ips, quarantined: this.options.filter.quarantined(peer) };
  }
}
