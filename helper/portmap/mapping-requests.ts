/**
 * The port mapper's requests for one mapping, by method: PCP and NAT-PMP MAP requests (also
 * renewals, and deletions with lifetime 0) and UPnP's AddPortMapping. Each answer is checked
 * against the request (a PCP nonce, the internal port) before it is taken.
 */

import type { IgdService } from '../../src/portmap/igd.js';
import {
  buildMapRequest as buildPmpMap,
  type NatPmpAnswer,
  parseNatPmpAnswer,
} from '../../src/portmap/natpmp.js';
import { buildMapRequest as buildPcpMap, type PcpAnswer, parsePcpAnswer } from '../../src/portmap/pcp.js';
import type { Parsed, PortmapRefusal } from '../../src/portmap/refusals.js';
import type { SsdpAnswer } from '../../src/portmap/ssdp.js';
import type { Gateway } from './gateway.js';
import type { GatewaySocket } from './gateway-socket.js';
import type { MappingMethod, PortMapping } from './mapping-methods.js';
import { addMapping, fetchIgdService, getExternalAddress } from './upnp-client.js';

/** What the requests need of their port mapper. */
export interface MappingContext {
  socket: GatewaySocket;
  /** The gateway's NAT-PMP and PCP port. */
  pmpPort: number;
  /** Seconds asked for. */
  lifetime: number;
  /** Ends a UPnP exchange under way when the mapper closes. */
  signal: AbortSignal;
  /** The value parsed, or null with the refusal counted. */
  count<T>(parsed: Parsed<T>): T | null;
  refused(reason: PortmapRefusal): false;
  /** The gateway's epoch in an answer to our request. */
  noteEpoch(epoch: number): void;
  log(message: string): void;
}

export interface Held {
  mapping: PortMapping;
  gateway: Gateway;
  internalPort: number;
  /** PCP: the nonce a renewal and the deletion must repeat. */
  nonce?: Uint8Array;
  /** UPnP: the service and the external port to delete. */
  service?: IgdService;
  externalPort: number;
}

export class MappingRequests {
  constructor(private readonly c: MappingContext) {}

  async mapPcp(gateway: Gateway, internalPort: number, nonce: Uint8Array, lifetime = this.c.lifetime) {
    const request = buildPcpMap({
      clientAddress: gateway.self,
      nonce,
      internalPort,
      lifetime,
      externalPort: internalPort,
    });
    let answer: (PcpAnswer & { op: 'map' }) | null = null;
    await this.c.socket.exchange(
      () => this.c.socket.send(request, this.c.pmpPort),
      [250, 750],
      2000,
      (from, bytes) => {
        if (from !== this.c.pmpPort || bytes[0] !== 2) return false;
        const parsed = this.c.count(parsePcpAnswer(bytes));
        if (parsed?.op !== 'map') return false;
        if (!equalBytes(parsed.nonce, nonce)) return this.c.refused('nonce-mismatch');
        if (parsed.internalPort !== internalPort) return this.c.refused('wrong-mapping');
        this.c.noteEpoch(parsed.epoch);
        answer = parsed;
        return true;
      },
    );
    const a = answer as (PcpAnswer & { op: 'map' }) | null;
    if (a === null || a.result !== 'success') {
      if (a !== null && lifetime !== 0) this.c.log(`portmap: pcp refused the mapping (${a.result})`);
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

  async mapPmp(gateway: Gateway, internalPort: number, address: string, lifetime = this.c.lifetime) {
    const request = buildPmpMap(internalPort, lifetime === 0 ? 0 : internalPort, lifetime);
    let answer: (NatPmpAnswer & { op: 'map' }) | null = null;
    await this.c.socket.exchange(
      () => this.c.socket.send(request, this.c.pmpPort),
      [250, 750],
      2000,
      (from, bytes) => {
        if (from !== this.c.pmpPort || bytes[0] !== 0) return false;
        const parsed = this.c.count(parseNatPmpAnswer(bytes));
        if (parsed?.op !== 'map' || parsed.protocol !== 'udp') return false;
        if (parsed.internalPort !== internalPort && parsed.result === 'success')
          return this.c.refused('wrong-mapping');
        this.c.noteEpoch(parsed.epoch);
        answer = parsed;
        return true;
      },
    );
    const a = answer as (NatPmpAnswer & { op: 'map' }) | null;
    if (a === null || a.result !== 'success') {
      if (a !== null && lifetime !== 0) this.c.log(`portmap: nat-pmp refused the mapping (${a.result})`);
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

  async mapUpnp(gateway: Gateway, internalPort: number, ssdp: SsdpAnswer): Promise<Held | null> {
    const abort = this.c.signal;
    const service = this.c.count(await fetchIgdService(ssdp.location, gateway.gateway, abort));
    if (service === null) return null;
    const address = this.c.count(await getExternalAddress(service, abort));
    const external =
      address !== null && !address.fault ? address.values.get('NewExternalIPAddress') : undefined;
    if (external === undefined || !/^\d{1,3}(\.\d{1,3}){3}$/.test(external) || external === '0.0.0.0') {
      this.c.refused('bad-address');
      return null;
    }
    const added = await addMapping(
      service,
      {
        internalPort,
        internalClient: gateway.self,
        lease: this.c.lifetime,
        description: `burrow ${internalPort}`,
      },
      abort,
    );
    if ('refused' in added) {
      const r = this.c.count(added.refused);
      this.c.log(
        `portmap: upnp refused the mapping (${r?.fault ? `error ${r.errorCode}` : 'malformed answer'})`,
      );
      return null;
    }
    return this.heldFor(
      'upnp',
      gateway,
      internalPort,
      `${external}:${added.port}`,
      this.c.lifetime,
      added.port,
      { service },
    );
  }

  async renewUpnp(held: Held): Promise<Held | null> {
    const added = await addMapping(
      held.service!,
      {
        internalPort: held.internalPort,
        internalClient: held.gateway.self,
        lease: this.c.lifetime,
        description: `burrow ${held.internalPort}`,
      },
      this.c.signal,
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
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
