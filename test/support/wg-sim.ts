import type { CryptoProvider } from '../../src/crypto/types.js';
import { parseCidr } from '../../src/packet/ip-text.js';
import type { Action, Endpoint } from '../../src/wireguard/actions.js';
import { DEFAULT_LIMITS, type ProtocolLimits } from '../../src/wireguard/constants.js';
import { Device } from '../../src/wireguard/device.js';
import type { FastPath } from '../../src/wireguard/fast-path.js';
import { generatePrivateKey } from '../../src/wireguard/keys.js';
import type { Peer } from '../../src/wireguard/peer.js';
import { ipv4, readSeq, seqPayload } from './ip-packet.js';
import { Rng } from './rng.js';

/** Conditions on the simulated wire between nodes. Probabilities are per datagram. */
export interface Conditions {
  /** Loss of handshake messages (types 1–3). */
  handshakeLoss: number;
  /** Loss of transport messages (type 4). */
  transportLoss: number;
  duplicate: number;
  /** One-way delay is uniform in [delayMin, delayMax] ms, so a spread reorders datagrams. */
  delayMin: number;
  delayMax: number;
}

export const PERFECT: Conditions = {
  handshakeLoss: 0,
  transportLoss: 0,
  duplicate: 0,
  delayMin: 1,
  delayMax: 1,
};

/**
 * When set, every device a Sim makes gets a transport fast path from this factory: the simulation
 * tests then run against it (helper/fastpath/sim.test.ts), and must pass unchanged.
 */
export const simFastPath: {
  make: ((options: { limits: ProtocolLimits; mtu: number; roaming: boolean }) => FastPath) | null;
} = { make: null };

export class SimNode {
  readonly delivered: { from: Peer; packet: Uint8Array; at: number }[] = [];
  /** Everything this node put on the wire, for inspection. */
  readonly sent: { to: Endpoint; data: Uint8Array }[] = [];

  constructor(
    readonly name: string,
    readonly device: Device,
    public endpoint: Endpoint,
    readonly address: string,
  ) {}

  seqsFrom(peer: Peer): number[] {
    return this.delivered.filter((d) => d.from === peer).map((d) => readSeq(d.packet));
  }
}

interface InFlight {
  at: number;
  order: number;
  to: Endpoint;
  from: Endpoint;
  data: Uint8Array;
}

const key = (e: Endpoint) => `${e.host}|${e.port}`;

/**
 * A deterministic network of protocol cores: datagrams travel with seeded loss, duplication and
 * delay, and time advances from event to event, so hours of protocol time run in milliseconds.
 */
export class Sim {
  now: number;
  readonly rng: Rng;
  readonly nodes: SimNode[] = [];
  private readonly byEndpoint = new Map<string, SimNode>();
  private queue: InFlight[] = [];
  private order = 0;
  /** Datagrams to endpoints no node owns (e.g. cookie replies to a spoofed sender). */
  readonly unrouted: InFlight[] = [];

  constructor(
    readonly crypto: CryptoProvider,
    seed: number,
    public conditions: Conditions = PERFECT,
    readonly limits?: ProtocolLimits,
    start = 1_700_000_000_000,
  ) {
    this.rng = new Rng(seed);
    this.now = start;
  }

  addNode(
    name: string,
    address: string,
    endpoint: Endpoint,
    options: { underLoadThreshold?: number; handshakesPerSecond?: number; roaming?: boolean } = {},
  ): SimNode {
    const random = (n: number) => this.rng.bytes(n);
    const device = new Device({
      crypto: this.crypto,
      privateKey: generatePrivateKey(random),
      random,
      ...(this.limits ? { limits: this.limits } : {}),
      ...(options.underLoadThreshold !== undefined ? { underLoadThreshold: options.underLoadThreshold } : {}),
      ...(options.handshakesPerSecond !== undefined
        ? { handshakesPerSecond: options.handshakesPerSecond }
        : {}),
      ...(options.roaming !== undefined ? { roaming: options.roaming } : {}),
    });
    if (simFastPath.make !== null) {
      const limits = this.limits ?? DEFAULT_LIMITS;
      device.attachFastPath(simFastPath.make({ limits, mtu: device.mtu, roaming: options.roaming ?? true }));
    }
    const node = new SimNode(name, device, endpoint, address);
    this.nodes.push(node);
    this.byEndpoint.set(key(endpoint), node);
    return node;
  }

  /** Moves a node to a new address (roaming). */
  move(node: SimNode, endpoint: Endpoint): void {
    this.byEndpoint.delete(key(node.endpoint));
    node.endpoint = endpoint;
    this.byEndpoint.set(key(endpoint), node);
  }

  /** Makes `a` and `b` peers of each other, each knowing the other's endpoint unless told otherwise. */
  connect(
    a: SimNode,
    b: SimNode,
    options: { psk?: Uint8Array; aKnowsB?: boolean; bKnowsA?: boolean } = {},
  ): [Peer, Peer] {
    const pa = a.device.addPeer({
      publicKey: b.device.publicKey,
      presharedKey: options.psk ?? null,
      endpoint: options.aKnowsB === false ? null : b.endpoint,
    });
    const pb = b.device.addPeer({
      publicKey: a.device.publicKey,
      presharedKey: options.psk ?? null,
      endpoint: options.bKnowsA === false ? null : a.endpoint,
    });
    const ba = parseCidr(b.address);
    a.device.allowedIps.insert(ba.addr, ba.cidr, pa);
    const ab = parseCidr(a.address);
    b.device.allowedIps.insert(ab.addr, ab.cidr, pb);
    return [pa, pb];
  }

  /** `from` sends one tunnel packet carrying `seq` to `to`'s tunnel address. */
  sendData(from: SimNode, to: SimNode, seq: number, size = 64): void {
    const host = (cidr: string) => cidr.split('/')[0]!;
    this.apply(
      from,
      from.device.send(ipv4(host(from.address), host(to.address), seqPayload(seq, size)), this.now),
    );
  }

  /** Injects a raw datagram as if `from` had sent it to `to`. */
  inject(to: SimNode, from: Endpoint, data: Uint8Array): void {
    this.apply(to, to.device.receive(data, from, this.now));
  }

  apply(node: SimNode, actions: Action[]): void {
    for (const action of actions) {
      if (action.kind === 'deliver') {
        node.delivered.push({ from: action.peer, packet: action.packet, at: this.now });
        continue;
      }
      node.sent.push({ to: action.endpoint, data: action.data });
      this.transmit(node.endpoint, action.endpoint, action.data);
    }
  }

  private transmit(from: Endpoint, to: Endpoint, data: Uint8Array): void {
    const c = this.conditions;
    const loss = data[0] === 4 ? c.transportLoss : c.handshakeLoss;
    const copies = this.rng.chance(c.duplicate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      if (this.rng.chance(loss)) continue;
      const at = this.now + c.delayMin + this.rng.next() * (c.delayMax - c.delayMin);
      this.enqueue({ at, order: this.order++, to, from, data });
    }
  }

  private enqueue(item: InFlight): void {
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.queue[mid]!;
      if (m.at < item.at || (m.at === item.at && m.order < item.order)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, item);
  }

  /** Runs events and timers until `until` (absolute ms), or until nothing is left to do. */
  runUntil(until: number): void {
    for (;;) {
      const wake = Math.min(...this.nodes.map((n) => n.device.nextWake));
      const head = this.queue[0];
      const next = Math.min(head ? head.at : Number.POSITIVE_INFINITY, wake);
      if (next > until) break;
      this.now = Math.max(this.now, next);
      if (head && head.at <= this.now) {
        this.queue.shift();
        const node = this.byEndpoint.get(key(head.to));
        if (node) this.apply(node, node.device.receive(head.data, head.from, this.now));
        else this.unrouted.push(head);
      }
      for (const node of this.nodes) {
        if (node.device.nextWake <= this.now) this.apply(node, node.device.tick(this.now));
      }
    }
    this.now = Math.max(this.now, until);
  }

  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  get inFlight(): number {
    return this.queue.length;
  }
}
