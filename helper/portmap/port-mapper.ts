/**
 * burrowd's port mapper: asks the default gateway to map the WireGuard UDP port, so that a router
 * that gives every outbound flow a random port (where hole punching cannot work) still forwards
 * one known public port to us. That public endpoint is offered to peers as a candidate.
 *
 * Like Tailscale's portmapper it probes all three services at once from one socket (a PCP
 * ANNOUNCE, a NAT-PMP external address request and an SSDP M-SEARCH) and then maps with the best
 * that answered: PCP, then NAT-PMP, then UPnP. PCP first because it is NAT-PMP's successor on the
 * same port and its nonce ties an answer to our request; UPnP last because it needs HTTP and XML
 * from the router and its implementations are the most often broken. The mapping is renewed at
 * half its lifetime and deleted on close; lifetimes are modest (2 h by default) so that a mapping
 * left behind by a killed burrowd expires on its own.
 *
 * Every answer must come from the gateway asked (others are counted as `wrong-source` and
 * ignored), and every malformed one is refused by the codecs and counted by reason.
 */

import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { buildExternalAddressRequest, NATPMP_PORT, parseNatPmpAnswer } from '../../src/portmap/natpmp.js';
import { buildAnnounceRequest, PCP_NONCE_LENGTH, parsePcpAnswer } from '../../src/portmap/pcp.js';
import type { Parsed, PortmapRefusal } from '../../src/portmap/refusals.js';
import { buildMSearch, parseSsdpAnswer, SSDP_PORT, type SsdpAnswer } from '../../src/portmap/ssdp.js';
import { findGateway, type Gateway } from './gateway.js';
import { GatewaySocket, openAnnounceSocket } from './gateway-socket.js';
import { MAPPING_METHODS, type MappingMethod, type PortMapping } from './mapping-methods.js';
import { type Held, MappingRequests } from './mapping-requests.js';
import { deleteMapping } from './upnp-client.js';

export interface PortMapperOptions {
  /** The WireGuard socket's port (0 while it has none). */
  internalPort: () => number;
  /** The mapping changed (the control server must hear of the endpoints). */
  onChange(): void;
  log(message: string): void;
  /** Seconds asked for; default 7200. */
  lifetime?: number;
  /** The services to use, best first; default all (`BURROW_PORTMAP=pcp,nat-pmp,upnp` or `off`). */
  methods?: readonly MappingMethod[];
  /** How long to wait before asking again after no service answered; default 5 min. */
  retryMs?: number;
  gateway?: () => Promise<Gateway | null>;
  /**
   * SO_MARK for the requests (burrowd: its bypass mark, as its WireGuard socket has), so that they
   * reach the gateway past burrowd's own routes, an exit node's default route among them; none
   * without it. Needs CAP_NET_ADMIN.
   */
  fwmark?: number;
  /**
   * The gateway's ports: 5351 (NAT-PMP and PCP) and 1900 (SSDP), and ours for its restart notices,
   * 5350, unless a test's fake moves them.
   */
  gatewayPorts?: { natpmp: number; ssdp: number; announce?: number };
}

interface Probe {
  pcp: boolean;
  pmpAddress: string | null;
  ssdp: SsdpAnswer | null;
}

export class PortMapper {
  /** Answers refused, by reason (malformed, or from another address than the gateway). */
  readonly refusals = new Map<PortmapRefusal, number>();
  private readonly lifetime: number;
  private readonly methods: readonly MappingMethod[];
  private readonly socket: GatewaySocket;
  private readonly requests: MappingRequests;
  /** Where the gateway's restart notices come (multicast 224.0.0.1:5350). */
  private announceSocket: Socket | null = null;
  /** The gateway's epoch in its last NAT-PMP or PCP answer, and when (ms). */
  private epoch: { value: number; at: number } | null = null;
  private gateway: Gateway | null = null;
  private held: Held | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  /** Ends a UPnP exchange under way when closing: shutdown waits for no gateway's HTTP. */
  private readonly aborter = new AbortController();
  private running: Promise<void> = Promise.resolve();
  private lastNone = '';

  private readonly pmpPort: number;
  private readonly ssdpPort: number;

  constructor(private readonly options: PortMapperOptions) {
    this.pmpPort = options.gatewayPorts?.natpmp ?? NATPMP_PORT;
    this.ssdpPort = options.gatewayPorts?.ssdp ?? SSDP_PORT;
    this.lifetime = options.lifetime ?? 7200;
    this.methods = options.methods ?? [...MAPPING_METHODS];
    this.socket = new GatewaySocket({
      gateway: () => this.gateway,
      fwmark: options.fwmark,
      wrongSource: () => this.refused('wrong-source'),
      log: (message) => options.log(message),
    });
    this.requests = new MappingRequests({
      socket: this.socket,
      pmpPort: this.pmpPort,
      lifetime: this.lifetime,
      signal: this.aborter.signal,
      count: (parsed) => this.count(parsed),
      refused: (reason) => this.refused(reason),
      noteEpoch: (epoch) => this.noteEpoch(epoch),
      log: (message) => options.log(message),
    });
  }

  /** The current mapping, if any. */
  mapping(): PortMapping | null {
    return this.held?.mapping ?? null;
  }

  /** Maps now (and keeps the mapping renewed) unless no method is enabled. */
  start(): void {
    if (this.methods.length === 0 || this.closed) return;
    this.schedule(0);
  }

  /** Deletes the mapping and stops. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.aborter.abort();
    await this.running.catch(() => {});
    await this.release().catch((e) =>
      this.options.log(`portmap: removing the mapping failed: ${(e as Error).message}`),
    );
    this.socket.close();
    this.announceSocket?.close();
    this.announceSocket = null;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.round().catch((e) => this.options.log(`portmap: ${(e as Error).message}`));
    }, ms);
    this.timer.unref();
  }

  /** One round: renews the mapping held, or probes and maps; then schedules the next. */
  private async round(): Promise<void> {
    const internalPort = this.options.internalPort();
    const gateway = internalPort === 0 ? null : await (this.options.gateway ?? findGateway)();
    if (this.closed) return;
    if (gateway === null) return this.none('no default gateway', internalPort === 0 ? 1000 : undefined);
    const moved =
      this.held !== null &&
      (this.held.gateway.gateway !== gateway.gateway || this.held.internalPort !== internalPort);
    if (moved) await this.release().catch(() => {});
    this.gateway = gateway;
    await this.ensureSocket();
    const before = this.held?.mapping.endpoint;
    const mapped = this.held !== null ? await this.renew(this.held) : await this.map(gateway, internalPort);
    if (this.closed) {
      if (mapped !== null) this.held = mapped;
      return;
    }
    this.held = mapped;
    if (mapped === null) return this.none(`no PCP, NAT-PMP or UPnP mapping from ${gateway.gateway}`);
    this.lastNone = '';
    if (mapped.mapping.endpoint !== before) {
      this.options.log(
        `portmap: ${mapped.mapping.method} maps ${mapped.mapping.endpoint} to port ${internalPort} for ${mapped.mapping.lifetime} s`,
      );
      this.options.onChange();
    }
    this.schedule(Math.max(1, mapped.mapping.lifetime / 2) * 1000);
  }

  private none(why: string, retryMs = this.options.retryMs ?? 300_000): void {
    if (this.held !== null) {
      this.held = null;
      this.options.onChange();
    }
    if (why !== this.lastNone) this.options.log(`portmap: none (${why})`);
    this.lastNone = why;
    this.schedule(retryMs);
  }

  private async map(gateway: Gateway, internalPort: number): Promise<Held | null> {
    const probe = await this.probe(gateway);
    for (const method of this.methods) {
      if (this.closed) return null;
      if (method === 'pcp' && probe.pcp) {
        const held = await this.requests.mapPcp(gateway, internalPort, randomBytes(PCP_NONCE_LENGTH));
        if (held) return held;
      }
      if (method === 'nat-pmp' && probe.pmpAddress !== null) {
        const held = await this.requests.mapPmp(gateway, internalPort, probe.pmpAddress);
        if (held) return held;
      }
      if (method === 'upnp' && probe.ssdp !== null) {
        const held = await this.requests.mapUpnp(gateway, internalPort, probe.ssdp).catch((e) => {
          this.options.log(`portmap: upnp: ${(e as Error).message}`);
          return null;
        });
        if (held) return held;
      }
    }
    return null;
  }

  private async renew(held: Held): Promise<Held | null> {
    const { gateway, internalPort } = held;
    const renewed =
      held.mapping.method === 'pcp'
        ? await this.requests.mapPcp(gateway, internalPort, held.nonce!)
        : held.mapping.method === 'nat-pmp'
          ? await this.requests.mapPmp(gateway, internalPort, held.mapping.endpoint.split(':')[0]!)
          : await this.requests.renewUpnp(held).catch(() => null);
    // A gateway that forgot us (rebooted) or stopped answering: start again from the probe.
    return renewed ?? this.map(gateway, internalPort);
  }

  /** Sends the three probes (twice, 250 ms apart) and gathers answers for up to 1 s. */
  private async probe(gateway: Gateway): Promise<Probe> {
    const probe: Probe = { pcp: false, pmpAddress: null, ssdp: null };
    const want = new Set(this.methods);
    const answered = {
      pcp: () => probe.pcp,
      'nat-pmp': () => probe.pmpAddress !== null,
      upnp: () => probe.ssdp !== null,
    };
    // Done once the best method enabled has answered: waiting longer could only find worse ones.
    const done = () => answered[this.methods[0]!]() || this.methods.every((m) => answered[m]());
    const send = () => {
      if (want.has('pcp') && !probe.pcp) this.socket.send(buildAnnounceRequest(gateway.self), this.pmpPort);
      if (want.has('nat-pmp') && probe.pmpAddress === null)
        this.socket.send(buildExternalAddressRequest(), this.pmpPort);
      if (want.has('upnp') && probe.ssdp === null) this.socket.send(buildMSearch(), this.ssdpPort);
    };
    await this.socket.exchange(send, [250], 1000, (from, bytes) => {
      if (from === this.ssdpPort) {
        const answer = this.count(parseSsdpAnswer(bytes, gateway.gateway));
        if (answer !== null) probe.ssdp = answer;
      } else if (from === this.pmpPort && bytes[0] === 2) {
        const answer = this.count(parsePcpAnswer(bytes));
        if (answer?.op === 'announce' && answer.result === 'success') probe.pcp = true;
      } else if (from === this.pmpPort) {
        const answer = this.count(parseNatPmpAnswer(bytes));
        if (answer?.op === 'external-address' && answer.result === 'success')
          probe.pmpAddress = answer.address;
      }
      return done();
    });
    return probe;
  }

  /** Deletes the mapping held, if any. */
  private async release(): Promise<void> {
    const held = this.held;
    this.held = null;
    if (held === null) return;
    await this.ensureSocket();
    this.gateway = held.gateway;
    if (held.mapping.method === 'pcp')
      await this.requests.mapPcp(held.gateway, held.internalPort, held.nonce!, 0);
    else if (held.mapping.method === 'nat-pmp')
      await this.requests.mapPmp(held.gateway, held.internalPort, '', 0);
    else await deleteMapping(held.service!, held.externalPort);
    this.options.log(`portmap: removed the ${held.mapping.method} mapping ${held.mapping.endpoint}`);
  }

  private async ensureSocket(): Promise<void> {
    if (this.socket.isOpen) return;
    await this.socket.open();
    await this.listenForRestarts();
  }

  /**
   * A NAT-PMP or PCP gateway that restarts says so to 224.0.0.1:5350 with an epoch that went back
   * (RFC 6886 §3.6, RFC 6887 §14.1): it lost our mapping, which is asked for again at once rather
   * than at the next renewal, up to an hour later. Not listening (the port taken) costs only that.
   */
  private async listenForRestarts(): Promise<void> {
    if (this.announceSocket !== null || !this.methods.some((m) => m !== 'upnp')) return;
    this.announceSocket = await openAnnounceSocket(
      this.options.gatewayPorts?.announce,
      (bytes, address) => {
        if (this.gateway === null || address !== this.gateway.gateway) {
          this.refused('wrong-source');
          return;
        }
        const answer =
          bytes[0] === 2 ? this.count(parsePcpAnswer(bytes)) : this.count(parseNatPmpAnswer(bytes));
        if (answer !== null && (answer.op === 'announce' || answer.op === 'external-address'))
          this.restartNotice(answer.epoch);
      },
      (message) => this.options.log(message),
    );
  }

  /** The epoch of an answer to one of our requests. */
  private noteEpoch(epoch: number): void {
    this.epoch = { value: epoch, at: Date.now() };
  }

  /** The epoch of a restart notice: if it went back, the gateway forgot our mapping; map again now. */
  private restartNotice(epoch: number): void {
    const last = this.epoch;
    this.noteEpoch(epoch);
    // No timer: a round is under way (its renewal maps again anyway), or we are closed.
    if (last === null || this.held === null || this.held.mapping.method === 'upnp' || this.timer === null)
      return;
    // The epoch counts seconds; a client allows for its clock running 1/8 fast (RFC 6886 §3.6).
    const expected = last.value + ((Date.now() - last.at) / 1000) * (7 / 8) - 2;
    if (epoch >= expected) return;
    this.options.log(`portmap: the gateway restarted (epoch ${last.value} -> ${epoch}); mapping again`);
    this.held = null;
    this.schedule(0);
  }

  private count<T>(parsed: Parsed<T>): T | null {
    if (parsed.ok) return parsed.value;
    this.refused(parsed.refusal);
    return null;
  }

  /** Counts a refusal; false, so that a waiter can `return this.refused(...)` and keep waiting. */
  private refused(reason: PortmapRefusal): false {
    this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1);
    return false;
  }
}
