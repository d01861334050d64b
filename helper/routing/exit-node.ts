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

const SYSCTLS = {
  ipv4: '/proc/sys/net/ipv4/ip_forward',
  ipv6: '/proc/sys/net/ipv6/conf/all/forwarding',
} as const;

/** The forwarding sysctls' values, as read from /proc. */
export type ForwardingValues = Record<keyof typeof SYSCTLS, string>;

/**
 * Where the forwarding values from before burrowd turned forwarding on are kept (the state
 * directory): on disk, so that after a `kill -9` the next start can still put them back.
 */
export interface ForwardingRecord {
  load(): ForwardingValues | null;
  save(values: ForwardingValues | null): void;
}

const readForwarding = (): ForwardingValues => ({
  ipv4: readFileSync(SYSCTLS.ipv4, 'utf8').trim(),
  ipv6: readFileSync(SYSCTLS.ipv6, 'utf8').trim(),
});

function writeForwarding(values: ForwardingValues): void {
  writeFileSync(SYSCTLS.ipv4, values.ipv4);
  writeFileSync(SYSCTLS.ipv6, values.ipv6);
}

/** nftables table names carry the interface, so that instances in one namespace cannot collide. */
const tableName = (iface: string) => `burrow_exit_${iface.replace(/[^A-Za-z0-9_]/g, '_')}`;

/**
 * Serving as an exit node: forwarding on, and traffic arriving from the tunnel leaves masqueraded
 * as this machine (IPv4 and IPv6), in an nftables table of our own. `disable` removes the table
 * and puts the forwarding sysctls back as they were, so nothing stays behind; `removeStale` does
 * the same for what a killed instance left: its table, and forwarding as it was recorded before
 * that instance turned it on. The record is written before the table is made and cleared after
 * it is deleted, so without a record there is no table: most starts (a device that never served)
 * then need no nft at all, which costs some 10 ms to start.
 */
export class ExitNodeNat {
  /** The values from before `enable`, while enabled. */
  private saved: ForwardingValues | null = null;

  constructor(
    private readonly iface: string,
    private readonly record: ForwardingRecord,
  ) {}

  async removeStale(): Promise<void> {
    const recorded = this.record.load();
    if (recorded === null) return;
    await run('nft', ['delete', 'table', 'inet', tableName(this.iface)]).catch(() => undefined);
    writeForwarding(recorded);
    this.record.save(null);
  }

  async enable(): Promise<void> {
    if (this.saved !== null) return;
    const table = tableName(this.iface);
    // Recorded on disk before anything changes: however burrowd ends from here on, it or the next
    // start deletes the table and puts the values back.
    const saved = readForwarding();
    this.record.save(saved);
    try {
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
    } catch (error) {
      this.record.save(null);
      throw error;
    }
    this.saved = saved;
    writeForwarding({ ipv4: '1', ipv6: '1' });
  }

  async disable(): Promise<void> {
    if (this.saved === null) return;
    // The table first: the record goes last (see the class comment).
    await run('nft', ['delete', 'table', 'inet', tableName(this.iface)]).catch(() => undefined);
    writeForwarding(this.saved);
    this.saved = null;
    this.record.save(null);
  }
}
