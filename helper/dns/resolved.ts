/**
 * DNS through systemd-resolved: the settings belong to the link, made with resolvectl, and resolved
 * drops them itself when the link goes (so a crash leaves nothing to undo). For every name (wg-quick's
 * DNS): the routing domain "~." and the link as default route; for split DNS: "~DOMAIN" for each
 * domain, and not the default route.
 */
import { type CommandRunner, DnsError, type DnsSettings, type SystemDns } from './types.js';

export class ResolvedDns implements SystemDns {
  readonly backend = 'resolved';
  private changed = false;

  constructor(
    private readonly iface: string,
    private readonly run: CommandRunner,
    private readonly log: (message: string) => void,
  ) {}

  async set(settings: DnsSettings): Promise<void> {
    const split = settings.matchDomains.length > 0;
    const routing = split ? settings.matchDomains.map((d) => `~${d}`) : ['~.'];
    this.changed = true;
    try {
      await this.run('resolvectl', ['dns', this.iface, ...settings.nameservers]);
      await this.run('resolvectl', ['domain', this.iface, ...settings.searchDomains, ...routing]);
      await this.run('resolvectl', ['default-route', this.iface, split ? 'false' : 'true']);
    } catch (error) {
      await this.restore();
      throw new DnsError(`systemd-resolved: ${(error as Error).message}`);
    }
  }

  async restore(): Promise<void> {
    if (!this.changed) return;
    this.changed = false;
    await this.run('resolvectl', ['revert', this.iface]).catch((error: Error) =>
      // A link that is gone took its settings with it.
      this.log(`systemd-resolved: ${error.message}`),
    );
  }
}
