import type { Action } from '../../src/wireguard/actions.js';
import type { Device } from '../../src/wireguard/device.js';
import type { Peer } from '../../src/wireguard/peer.js';
import type { Datagram, Origin, UdpBind } from '../bind/bind.js';
import type { TunDevice } from '../tun/tun.js';

/** Decides, per packet, what may cross the tunnel (burrowd's packet filter sits here). */
export interface PacketGate {
  /** A packet from the TUN, about to be encrypted; false drops it. */
  outbound(packet: Uint8Array, now: number): boolean;
  /**
   * A packet decrypted from `peer`, about to be written to the TUN; false drops it. `origin` is
   * where its datagram came from (null only for packets that did not come from the network).
   */
  inbound(packet: Uint8Array, peer: Peer, now: number, origin: Origin | null): boolean;
}

export interface FastEngineHandlers {
  rekey(peers: Peer[]): void;
  /** A packet of each outbound flow the engine sent, for the gate to record. */
  flows(packets: Uint8Array[]): void;
  /** Inbound packets for the gate to judge. */
  judge(packets: { packet: Uint8Array; peer: Peer; origin: Origin }[]): void;
}

/**
 * A transport fast path's I/O (helper/fastpath/engine.ts): once started it carries established
 * sessions' packets between the TUN and the bind itself; the datapath gets only what it punts.
 */
export interface FastEngine {
  /**
   * Takes over reading the TUN and `bind`. `gated`: the datapath has a packet gate, so the engine
   * delivers inbound only what the gate is sure to pass, and hands it the rest and the outbound flows.
   */
  start(bind: UdpBind, handlers: FastEngineHandlers, gated: boolean): void;
  stop(): void;
  /** When the datapath's timer fires: the engine reports deadlines it sets before that. */
  armed: number;
}

/**
 * Drives the I/O-free protocol core: batches from the TUN and the UDP bind go in, the core's
 * actions come out as batches to the bind and the TUN, and one timer follows the core's next wake-up.
 */
export class Datapath {
  private bind: UdpBind;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;

  constructor(
    readonly device: Device,
    private readonly tun: TunDevice,
    bind: UdpBind,
    private readonly clock: () => number,
    private readonly gate: PacketGate | null = null,
    private readonly engine: FastEngine | null = null,
  ) {
    this.bind = bind;
  }

  start(): void {
    this.tun.onPackets((packets) => {
      const now = this.clock();
      const actions: Action[] = [];
      for (const packet of packets) {
        if (this.gate !== null && !this.gate.outbound(packet, now)) continue;
        for (const a of this.device.send(packet, now)) actions.push(a);
      }
      this.apply(actions);
    });
    this.listen(this.bind);
    this.engine?.start(this.bind, this.engineHandlers, this.gate !== null);
    this.schedule();
  }

  /** Moves the datapath to another UDP bind (a new listen port); the caller closes the old one. */
  replaceBind(bind: UdpBind): void {
    this.engine?.stop();
    this.bind = bind;
    this.listen(bind);
    this.engine?.start(bind, this.engineHandlers, this.gate !== null);
  }

  private readonly engineHandlers: FastEngineHandlers = {
    rekey: (peers) => this.rekey(peers),
    flows: (packets) => {
      const now = this.clock();
      for (const packet of packets) this.gate?.outbound(packet, now);
    },
    judge: (packets) => {
      if (this.stopped) return;
      const now = this.clock();
      const pass: Uint8Array[] = [];
      for (const { packet, peer, origin } of packets) {
        if (this.gate === null || this.gate.inbound(packet, peer, now, origin)) pass.push(packet);
      }
      if (pass.length > 0) this.tun.write(pass);
    },
  };

  /** The engine found these peers' sessions due for a handshake (or only set an earlier deadline). */
  private rekey(peers: Peer[]): void {
    const now = this.clock();
    const actions: Action[] = [];
    for (const peer of peers) for (const a of this.device.rekey(peer, now)) actions.push(a);
    this.apply(actions);
  }

  private listen(bind: UdpBind): void {
    bind.onDatagrams((datagrams) => {
      if (bind !== this.bind) return;
      const now = this.clock();
      const actions: Action[] = [];
      // Each action's datagram's origin, so that the gate knows which way each packet came.
      const origins: Origin[] = [];
      for (const d of datagrams) {
        for (const a of this.device.receive(d.data, d, now)) {
          actions.push(a);
          origins.push(d.origin ?? d);
        }
      }
      this.apply(actions, origins);
    });
  }

  /**
   * Performs the core's actions, for callers that invoke the core directly (UAPI, keepalives);
   * `origins`, when the actions answer received datagrams, holds each action's datagram's origin.
   */
  apply(actions: Action[], origins?: readonly Origin[]): void {
    if (this.stopped) return;
    const datagrams: Datagram[] = [];
    const packets: Uint8Array[] = [];
    const now = this.gate === null ? 0 : this.clock();
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i]!;
      if (a.kind === 'send') datagrams.push({ data: a.data, host: a.endpoint.host, port: a.endpoint.port });
      else if (this.gate === null || this.gate.inbound(a.packet, a.peer, now, origins?.[i] ?? null))
        packets.push(a.packet);
    }
    if (datagrams.length > 0) this.bind.send(datagrams);
    if (packets.length > 0) this.tun.write(packets);
    this.schedule();
  }

  private schedule(): void {
    this.device.syncFastPath();
    const wake = this.device.nextWake;
    if (this.stopped || wake >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = wake;
    if (this.engine !== null) this.engine.armed = wake;
    if (wake === Number.POSITIVE_INFINITY) return;
    this.timer = setTimeout(
      () => {
        this.timerAt = Number.POSITIVE_INFINITY;
        if (this.engine !== null) this.engine.armed = Number.POSITIVE_INFINITY;
        this.apply(this.device.tick(this.clock()));
      },
      Math.max(0, Math.ceil(wake - this.clock())),
    );
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.engine?.stop();
  }
}
