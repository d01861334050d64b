import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

/** Runs a command with an argument vector and optional stdin; rejects with its own message. */
function run(command: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

const SYSCTLS = ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv6/conf/all/forwarding'] as const;

/** nftables table names carry the interface, so that instances in one namespace cannot collide. */
const tableName = (iface: string) => `burrow_exit_${iface.replace(/[^A-Za-z0-9_]/g, '_')}`;

/**
 * Serving as an exit node: forwarding on, and traffic arriving from the tunnel leaves masqueraded
 * as this machine (IPv4 and IPv6), in an nftables table of our own. `disable` removes the table
 * and puts the forwarding sysctls back as they were, so nothing stays behind; `removeStale`
 * clears a table a killed instance left.
 */
export class ExitNodeNat {
  private saved: string[] | null = null;

  constructor(private readonly iface: string) {}

  async removeStale(): Promise<void> {
    await run('nft', ['delete', 'table', 'inet', tableName(this.iface)]).catch(() => undefined);
  }

  get enabled(): boolean {
    return this.saved !== null;
  }

  async enable(): Promise<void> {
    if (this.saved !== null) return;
    const table = tableName(this.iface);
    // Replaces the table whole, in one transaction: a half-written rule set never applies.
    await run(
      'nft',
      ['-f', '-'],
      `table inet ${table}
delete table inet ${table}
table inet ${table} {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    iifname "${this.iface}" oifname != "${this.iface}" masquerade
  }
}
`,
    );
    this.saved = SYSCTLS.map((path) => readFileSync(path, 'utf8').trim());
    for (const path of SYSCTLS) writeFileSync(path, '1');
  }

  async disable(): Promise<void> {
    if (this.saved === null) return;
    const saved = this.saved;
    this.saved = null;
    SYSCTLS.forEach((path, i) => {
      writeFileSync(path, saved[i]!);
    });
    await run('nft', ['delete', 'table', 'inet', tableName(this.iface)]).catch(() => undefined);
  }
}
