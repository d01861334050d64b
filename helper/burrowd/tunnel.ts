import { networkInterfaces } from 'node:os';
import { randomBytes } from '../../src/crypto/index.js';
import { Device } from '../../src/wireguard/device.js';
import type { Peer } from '../../src/wireguard/peer.js';
import type { UdpBind } from '../bind/bind.js';
import { openBind } from '../bind/linux-bind.js';
import { helperCrypto } from '../crypto/native-crypto.js';
import { BYPASS_MARK, LinuxRouting } from '../routing/linux-routing.js';
import { openTun } from '../tun/linux-tun.js';
import type { TunDevice } from '../tun/tun.js';
import { monotonic, protocolLimits, wallTime } from './clock.js';
import { Datapath, type PacketGate } from './datapath.js';
import type { Log } from './log.js';
import { type MeshPlan, syncDevice } from './peer-sync.js';

/** IPv6's minimum: the tunnel fits inside any path, other tunnels included, without fragmenting. */
const MTU = 1280;

/**
 * The data plane of a mesh node: the TUN interface, the UDP socket, the WireGuard core and the
 * routing (table 52 and its rules). Opened when the node goes up, closed when it goes down; in
 * between the control side hands it plans (peers and routes) to apply.
 */
export class Tunnel {
  readonly device: Device;
  private readonly routing: LinuxRouting;
  private tun: TunDevice | null = null;
  private bind: UdpBind | null = null;
  private datapath: Datapath | null = null;
  private addresses: string[] | null = null;
  private readonly reported = new Map<string, string>();

  constructor(
    private readonly name: string,
    privateKey: Uint8Array,
    private readonly log: Log,
  ) {
    const crypto = helperCrypto((why) => log.info(`native AEAD unavailable (${why}); using node:crypto`));
    this.device = new Device({
      crypto,
      privateKey,
      random: randomBytes,
      limits: protocolLimits(),
      mtu: MTU,
      wallTime,
    });
    this.routing = new LinuxRouting(name);
  }

  /** Opens the interface and the socket; the interface gets its addresses with the first plan. */
  async open(port: number, gate: PacketGate): Promise<void> {
    await this.routing.removeStale();
    this.tun = openTun(this.name);
    try {
      this.bind = await openBind(port, { fwmark: BYPASS_MARK });
    } catch (error) {
      this.tun.close();
      this.tun = null;
      throw error;
    }
    this.datapath = new Datapath(this.device, this.tun, this.bind, monotonic, gate);
    this.datapath.start();
  }

  get port(): number {
    return this.bind?.port ?? 0;
  }

  /** Where peers can reach this device: its addresses outside the tunnel, with the socket's port. */
  endpoints(): string[] {
    const port = this.port;
    if (port === 0) return [];
    const out: string[] = [];
    for (const [ifname, addrs] of Object.entries(networkInterfaces())) {
      if (ifname === this.name) continue;
      for (const a of addrs ?? []) {
        if (a.internal || (a.family === 'IPv6' && a.scopeid !== 0)) continue;
        out.push(a.family === 'IPv6' ? `[${a.address}]:${port}` : `${a.address}:${port}`);
      }
    }
    return out.slice(0, 32);
  }

  /** Applies a plan: the device's own addresses, its peers, and table 52. */
  async apply(selfIps: string[], plan: MeshPlan, throws: string[]): Promise<void> {
    const addresses = selfIps.map((ip) => (ip.includes(':') ? `${ip}/128` : `${ip}/32`));
    if (this.addresses === null || addresses.join() !== this.addresses.join()) {
      // New addresses (the first map, or a re-registration): the interface is set up again.
      if (this.addresses !== null) await this.routing.down();
      await this.routing.up({ name: this.name, mtu: MTU, addresses });
      this.addresses = addresses;
    }
    syncDevice(this.device, plan, this.reported);
    await this.routing.setRoutes(plan.routes, throws);
  }

  /** Sends a packet into the tunnel as if the kernel had (burrowd's own ping). */
  inject(packet: Uint8Array): void {
    this.datapath?.apply(this.device.send(packet, monotonic()));
  }

  peerByKey(publicKey: Uint8Array): Peer | undefined {
    return this.device.getPeer(publicKey);
  }

  async close(): Promise<void> {
    this.datapath?.stop();
    await this.routing.down().catch((e) => this.log.error(`routing down: ${(e as Error).message}`));
    this.bind?.close();
    this.tun?.close();
    this.datapath = null;
    this.bind = null;
    this.tun = null;
    this.addresses = null;
  }
}
