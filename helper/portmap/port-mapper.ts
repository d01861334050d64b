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
import { createSocket, type Socket } from 'node:dgram';
import type { IgdService } from '../../src/portmap/igd.js';
import {
  buildExternalAddressRequest,
  buildMapRequest as buildPmpMap,
  NATPMP_PORT,
  type NatPmpAnswer,
  parseNatPmpAnswer,
} from '../../src/portmap/natpmp.js';
import {
  buildAnnounceRequest,
  buildMapRequest as buildPcpMap,
  PCP_NONCE_LENGTH,
  type PcpAnswer,
  parsePcpAnswer,
} from '../../src/portmap/pcp.js';
import type { Parsed, PortmapRefusal } from '../../src/portmap/refusals.js';
import { buildMSearch, parseSsdpAnswer, SSDP_PORT, type SsdpAnswer } from '../../src/portmap/ssdp.js';
import { openBind } from '../bind/linux-bind.js';
import { findGateway, type Gateway } from './gateway.js';
import { addMapping, deleteMapping, fetchIgdService, getExternalAddress } from './upnp-client.js';

export type MappingMethod = 'pcp' | 'nat-pmp' | 'upnp';
/** Where NAT-PMP and PCP gateways announce a restart: all hosts, port 5350. */
const NATPMP_ANNOUNCE_PORT = 5350;
const ALL_HOSTS = '224.0.0.1';
export const MAPPING_METHODS: readonly MappingMethod[] = ['pcp', 'nat-pmp', 'upnp'];

export interface PortMapping {
  method: MappingMethod;
  /** The public endpoint, `a.b.c.d:port`. */
  endpoint: string;
  /** Seconds the gateway granted. */
  lifetime: number;
}

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

/** The methods `BURROW_PORTMAP` asks for: a comma-separated list, or `off`. */
export function methodsFromEnv(value: string | undefined): MappingMethod[] {
  if (value === undefined || value === '') return [...MAPPING_METHODS];
  if (value === 'off') return [];
  const asked = value.split(',').map((s) => s.trim());
  const bad = asked.filter((m) => !MAPPING_METHODS.includes(m as MappingMethod));
  if (bad.length > 0)
    throw new Error(`BURROW_PORTMAP: unknown method ${bad.join(', ')} (pcp, nat-pmp, upnp, off)`);
  return MAPPING_METHODS.filter((m) => asked.includes(m));
}

interface Probe {
  pcp: boolean;
  pmpAddress: string | null;
  ssdp: SsdpAnswer | null;
}

interface Held {
  mapping: PortMapping;
  gateway: Gateway;
  internalPort: number;
  /** PCP: the nonce a renewal and the deletion must repeat. */
  nonce?: Uint8Array;
  /** UPnP: the service and the external port to delete. */
  service?: IgdService;
  externalPort: number;
}

type Waiter = (from: number, bytes: Uint8Array) => boolean;

export class PortMapper {
  /** Answers refused, by reason (malformed, or from another address than the gateway). */
  readonly refusals = new Map<PortmapRefusal, number>();
  private readonly lifetime: number;
  private readonly methods: readonly MappingMethod[];
  private socket: { send(bytes: Uint8Array, port: number, host: string): void; close(): void } | null = null;
  /** Where the gateway's restart notices come (multicast 224.0.0.1:5350). */
  private announceSocket: Socket | null = null;
  /** The gateway's epoch in its last NAT-PMP or PCP answer, and when (ms). */
  private epoch: { value: number; at: number } | null = null;
  private gateway: Gateway | null = null;
  private held: Held | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private waiters = new Set<Waiter>();
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
    this.socket?.close();
    this.socket = null;
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
        const held = await this.mapPcp(gateway, internalPort, randomBytes(PCP_NONCE_LENGTH));
        if (held) return held;
      }
      if (method === 'nat-pmp' && probe.pmpAddress !== null) {
        const held = await this.mapPmp(gateway, internalPort, probe.pmpAddress);
        if (held) return held;
      }
      if (method === 'upnp' && probe.ssdp !== null) {
        const held = await this.mapUpnp(gateway, internalPort, probe.ssdp).catch((e) => {
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
        ? await this.mapPcp(gateway, internalPort, held.nonce!)
        : held.mapping.method === 'nat-pmp'
          ? await this.mapPmp(gateway, internalPort, held.mapping.endpoint.split(':')[0]!)
          : await this.renewUpnp(held).catch(() => null);
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
      if (want.has('pcp') && !probe.pcp) this.send(buildAnnounceRequest(gateway.self), this.pmpPort);
      if (want.has('nat-pmp') && probe.pmpAddress === null)
        this.send(buildExternalAddressRequest(), this.pmpPort);
      if (want.has('upnp') && probe.ssdp === null) this.send(buildMSearch(), this.ssdpPort);
    };
    await this.exchange(send, [250], 1000, (from, bytes) => {
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

  private async mapPcp(gateway: Gateway, internalPort: number, nonce: Uint8Array, lifetime = this.lifetime) {
    const request = buildPcpMap({
      clientAddress: gateway.self,
      nonce,
      internalPort,
      lifetime,
      externalPort: internalPort,
    });
    let answer: (PcpAnswer & { op: 'map' }) | null = null;
    await this.exchange(
      () => this.send(request, this.pmpPort),
      [250, 750],
      2000,
      (from, bytes) => {
        if (from !== this.pmpPort || bytes[0] !== 2) return false;
        const parsed = this.count(parsePcpAnswer(bytes));
        if (parsed?.op !== 'map') return false;
        if (!equalBytes(parsed.nonce, nonce)) return this.refused('nonce-mismatch');
        if (parsed.internalPort !== internalPort) return this.refused('wrong-mapping');
        this.noteEpoch(parsed.epoch);
        answer = parsed;
        return true;
      },
    );
    const a = answer as (PcpAnswer & { op: 'map' }) | null;
    if (a === null || a.result !== 'success') {
      if (a !== null && lifetime !== 0) this.options.log(`portmap: pcp refused the mapping (${a.result})`);
      return null;
    }
    return this.heldFor(
      'pcp',
      gateway,
      internalPort,
      `${a.externalAddress}:${a.externalPort}`,
      a.lifetime,
      a.externalPort,
      { nonce },
    );
  }

  private async mapPmp(gateway: Gateway, internalPort: number, address: string, lifetime = this.lifetime) {
    const request = buildPmpMap(internalPort, lifetime === 0 ? 0 : internalPort, lifetime);
    let answer: (NatPmpAnswer & { op: 'map' }) | null = null;
    await this.exchange(
      () => this.send(request, this.pmpPort),
      [250, 750],
      2000,
      (from, bytes) => {
        if (from !== this.pmpPort || bytes[0] !== 0) return false;
        const parsed = this.count(parseNatPmpAnswer(bytes));
        if (parsed?.op !== 'map' || parsed.protocol !== 'udp') return false;
        if (parsed.internalPort !== internalPort && parsed.result === 'success')
          return this.refused('wrong-mapping');
        this.noteEpoch(parsed.epoch);
        answer = parsed;
        return true;
      },
    );
    const a = answer as (NatPmpAnswer & { op: 'map' }) | null;
    if (a === null || a.result !== 'success') {
      if (a !== null && lifetime !== 0)
        this.options.log(`portmap: nat-pmp refused the mapping (${a.result})`);
      return null;
    }
    return this.heldFor(
      'nat-pmp',
      gateway,
      internalPort,
      `${address}:${a.externalPort}`,
      a.lifetime,
      a.externalPort,
    );
  }

  private async mapUpnp(gateway: Gateway, internalPort: number, ssdp: SsdpAnswer): Promise<Held | null> {
    const abort = this.aborter.signal;
    const service = this.count(await fetchIgdService(ssdp.location, gateway.gateway, abort));
    if (service === null) return null;
    const address = this.count(await getExternalAddress(service, abort));
    const external =
      address !== null && !address.fault ? address.values.get('NewExternalIPAddress') : undefined;
    if (external === undefined || !/^\d{1,3}(\.\d{1,3}){3}$/.test(external) || external === '0.0.0.0') {
      this.refused('bad-address');
      return null;
    }
    const added = await addMapping(
      service,
      {
        internalPort,
        internalClient: gateway.self,
        lease: this.lifetime,
        description: `burrow ${internalPort}`,
      },
      abort,
    );
    if ('refused' in added) {
      const r = this.count(added.refused);
      this.options.log(
        `portmap: upnp refused the mapping (${r?.fault ? `error ${r.errorCode}` : 'malformed answer'})`,
      );
      return null;
    }
    return this.heldFor(
      'upnp',
      gateway,
      internalPort,
      `${external}:${added.port}`,
      this.lifetime,
      added.port,
      { service },
    );
  }

  private async renewUpnp(held: Held): Promise<Held | null> {
    const added = await addMapping(
      held.service!,
      {
        internalPort: held.internalPort,
        internalClient: held.gateway.self,
        lease: this.lifetime,
        description: `burrow ${held.internalPort}`,
      },
      this.aborter.signal,
    );
    if ('refused' in added || added.port !== held.externalPort) return null;
    return held;
  }

  private heldFor(
    method: MappingMethod,
    gateway: Gateway,
    internalPort: number,
    endpoint: string,
    lifetime: number,
    externalPort: number,
    extra: { nonce?: Uint8Array; service?: IgdService } = {},
  ): Held | null {
    if (lifetime === 0) return null;
    return { mapping: { method, endpoint, lifetime }, gateway, internalPort, externalPort, ...extra };
  }

  /** Deletes the mapping held, if any. */
  private async release(): Promise<void> {
    const held = this.held;
    this.held = null;
    if (held === null) return;
    await this.ensureSocket();
    this.gateway = held.gateway;
    if (held.mapping.method === 'pcp') await this.mapPcp(held.gateway, held.internalPort, held.nonce!, 0);
    else if (held.mapping.method === 'nat-pmp') await this.mapPmp(held.gateway, held.internalPort, '', 0);
    else await deleteMapping(held.service!, held.externalPort);
    this.options.log(`portmap: removed the ${held.mapping.method} mapping ${held.mapping.endpoint}`);
  }

  private async ensureSocket(): Promise<void> {
    if (this.socket !== null) return;
    const received = (bytes: Uint8Array, address: string, port: number) => {
      if (this.gateway === null || address !== this.gateway.gateway) {
        this.refused('wrong-source');
        return;
      }
      for (const waiter of this.waiters) if (waiter(port, bytes)) this.waiters.delete(waiter);
    };
    const { fwmark } = this.options;
    if (fwmark !== undefined && fwmark !== 0) {
      // node:dgram cannot mark its packets; the addon's socket can.
      const bind = openBind(0, { fwmark, bufferSize: 0, batchSize: 8 });
      bind.onDatagrams((datagrams) => {
        for (const d of datagrams) received(d.data.slice(), d.host, d.port);
      });
      this.socket = {
        send: (data, port, host) => bind.send([{ data, host, port }]),
        close: () => bind.close(),
      };
    } else {
      const socket = createSocket('udp4');
      socket.on('message', (bytes, rinfo) => received(new Uint8Array(bytes), rinfo.address, rinfo.port));
      socket.on('error', (e) => this.options.log(`portmap: socket: ${e.message}`));
      await new Promise<void>((resolve) => socket.bind(0, resolve));
      socket.unref();
      this.socket = {
        send: (data, port, host) => socket.send(data, port, host, () => {}),
        close: () => socket.close(),
      };
    }
    await this.listenForRestarts();
  }

  /**
   * A NAT-PMP or PCP gateway that restarts says so to 224.0.0.1:5350 with an epoch that went back
   * (RFC 6886 §3.6, RFC 6887 §14.1): it lost our mapping, which is asked for again at once rather
   * than at the next renewal, up to an hour later. Not listening (the port taken) costs only that.
   */
  private async listenForRestarts(): Promise<void> {
    if (this.announceSocket !== null || !this.methods.some((m) => m !== 'upnp')) return;
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    socket.on('message', (bytes, rinfo) => {
      if (this.gateway === null || rinfo.address !== this.gateway.gateway) {
        this.refused('wrong-source');
        return;
      }
      const answer =
        bytes[0] === 2 ? this.count(parsePcpAnswer(bytes)) : this.count(parseNatPmpAnswer(bytes));
      if (answer !== null && (answer.op === 'announce' || answer.op === 'external-address'))
        this.restartNotice(answer.epoch);
    });
    const bound = await new Promise<boolean>((resolve) => {
      socket.once('error', (e) => {
        this.options.log(`portmap: not listening for gateway restarts: ${e.message}`);
        resolve(false);
      });
      socket.bind(this.options.gatewayPorts?.announce ?? NATPMP_ANNOUNCE_PORT, () => resolve(true));
    });
    if (!bound) {
      socket.close();
      return;
    }
    try {
      socket.addMembership(ALL_HOSTS);
    } catch {
      // No multicast route (a test on loopback): unicast notices still come.
    }
    socket.unref();
    this.announceSocket = socket;
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

  private send(bytes: Uint8Array, port: number): void {
    if (this.socket === null || this.gateway === null) return;
    this.socket.send(bytes, port, this.gateway.gateway);
  }

  /** Sends now and after each of `resends` ms, until `take` says done or `timeoutMs` passes. */
  private exchange(send: () => void, resends: number[], timeoutMs: number, take: Waiter): Promise<void> {
    return new Promise((resolve) => {
      const timers: ReturnType<typeof setTimeout>[] = [];
      const finish = () => {
        for (const t of timers) clearTimeout(t);
        this.waiters.delete(waiter);
        resolve();
      };
      const waiter: Waiter = (from, bytes) => {
        const done = take(from, bytes);
        if (done) setImmediate(finish);
        return done;
      };
      this.waiters.add(waiter);
      send();
      for (const ms of resends) timers.push(setTimeout(send, ms));
      timers.push(setTimeout(finish, timeoutMs));
    });
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

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
