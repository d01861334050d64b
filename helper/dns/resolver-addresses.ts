/**
 * The resolver's addresses on the Burrow interface, so that the kernel delivers queries to them
 * locally (over loopback: they never enter the tunnel) while nothing else ever uses them:
 * - 100.100.100.100 with `scope host`: never chosen as the source of a packet to anywhere else,
 *   so tunnel traffic keeps the device's own 100.x address;
 * - the IPv6 one `nodad preferred_lft 0`: usable at once, and deprecated, which source address
 *   selection (RFC 6724 rule 3) avoids while the device's own address is there.
 * They go with the interface (a TUN closes with its process), so a crash leaves none behind.
 */
import { type IpRunner, runIp } from '../routing/ip-command.js';

export class ResolverAddresses {
  private added: string[] = [];

  constructor(
    private readonly iface: string,
    private readonly ip: IpRunner = runIp,
  ) {}

  /**
   * Makes the interface carry exactly `addresses` of the resolver's (of those added here). Returns
   * those it carries: one that cannot be added (IPv6 turned off on this host, say) is left out and
   * reported through `failed`, so the resolver still listens on the others.
   */
  async set(addresses: readonly string[], failed: (error: Error) => void): Promise<string[]> {
    for (const address of this.added.filter((a) => !addresses.includes(a))) await this.remove(address);
    for (const address of addresses) {
      if (this.added.includes(address)) continue;
      const v6 = address.includes(':');
      const added = await this.ip([
        v6 ? '-6' : '-4',
        'address',
        'replace',
        `${address}/${v6 ? 128 : 32}`,
        'dev',
        this.iface,
        ...(v6 ? ['nodad', 'preferred_lft', '0'] : ['scope', 'host']),
      ]).then(
        () => true,
        (error: Error) => {
          failed(error);
          return false;
        },
      );
      if (added) this.added.push(address);
    }
    return addresses.filter((a) => this.added.includes(a));
  }

  /** Removes what `set` added; an interface that is gone took them with it. */
  async clear(): Promise<void> {
    for (const address of [...this.added]) await this.remove(address);
  }

  private async remove(address: string): Promise<void> {
    this.added = this.added.filter((a) => a !== address);
    const v6 = address.includes(':');
    await this.ip([
      v6 ? '-6' : '-4',
      'address',
      'del',
      `${address}/${v6 ? 128 : 32}`,
      'dev',
      this.iface,
    ]).catch(() => undefined);
  }
}
