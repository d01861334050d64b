/** `burrow status` and `burrow ip`: what burrowd knows of this device and its peers. */
import type { PathFound, PeerStatus, Status } from '../../src/localapi/api.js';
import { UsageError } from './args.js';
import { CliError, type Command, printJson, table } from './command.js';

/** How a direct path was found, in words. */
const FOUND: Record<PathFound, string> = {
  lan: 'LAN',
  stun: 'STUN',
  'peer-reflexive': 'peer-reflexive',
  'port-mapping': 'port mapping',
};

/** The state column: what a user asks of a peer first (can I reach it, and how). */
function peerState(peer: PeerStatus): string {
  const notes: string[] = [];
  if (peer.shared) notes.push('shared');
  if (peer.exitNode) notes.push('exit node');
  if (!peer.online) notes.push('offline');
  else if (peer.path === 'direct') notes.push(peer.endpoint ? `direct ${peer.endpoint}` : 'direct');
  else if (peer.path === 'relay') notes.push(peer.relay ? `relay "${peer.relay}"` : 'relay');
  if (peer.online && peer.path !== 'none' && peer.latencyMs !== null) notes.push(`${peer.latencyMs} ms`);
  if (peer.online && peer.path === 'direct' && peer.found !== null)
    notes.push(`found by ${FOUND[peer.found]}`);
  return notes.length ? notes.join('; ') : '-';
}

/** The address to show in a table: the IPv4 one, which is shorter and what people type. */
export const firstIp = (ips: readonly string[]) => ips.find((ip) => ip.includes('.')) ?? ips[0] ?? '-';

const NOT_RUNNING: Record<Exclude<Status['backendState'], 'running'>, string> = {
  stopped: 'Burrow is stopped; `burrow up` connects it.',
  'needs-login': 'Logged out.',
  starting: 'Starting...',
};

/**
 * Like `tailscale status`: this device first, then its peers by name, then health warnings. Each
 * device shows the name that resolves on its own (`ping NAME`, `curl http://NAME/`) and its full
 * DNS name.
 */
function formatStatus(status: Status): string {
  let text = '';
  if (status.backendState !== 'running') {
    text += `${NOT_RUNNING[status.backendState]}\n`;
    if (status.authUrl) text += `Log in at: ${status.authUrl}\n`;
    // burrowd shows the URL only to those who may use it: anyone else needs to know who can.
    else if (status.backendState === 'needs-login')
      text += "Log in with `burrow up`, as root or burrowd's operator (only they see the login URL).\n";
  }
  if (status.self) {
    const { self } = status;
    const peers = [...status.peers].sort((a, b) => a.shortName.localeCompare(b.shortName));
    text += table([
      [firstIp(self.ips), self.shortName, self.dnsName, self.user, '-'],
      ...peers.map((p) => [firstIp(p.ips), p.shortName, p.dnsName, p.user, peerState(p)]),
    ]);
  }
  const pm = status.portMapping;
  if (pm?.mapping)
    text += `\n# Port mapping: ${pm.mapping.method} ${pm.mapping.endpoint} (offered to peers)\n`;
  if (status.health.length)
    text += `\n# Health check:\n${status.health.map((h) => `#     - ${h}\n`).join('')}`;
  return text;
}

export const statusCommand: Command = {
  usage: 'status [--json]',
  flags: {},
  operands: [],
  async run(ctx) {
    const status = await ctx.client().call('status', {});
    if (ctx.json) printJson(ctx, status);
    else ctx.io.out(formatStatus(status));
    return 0;
  },
};

/**
 * A device as a user names it: id or address, then its short name or full DNS name (with or
 * without the final dot), which are unique, then its host name (which a shared device may share).
 */
function findDevice(status: Status, ref: string): { hostName: string; ips: string[] } {
  const want = ref.toLowerCase().replace(/\.$/, '');
  const devices = [...(status.self ? [status.self] : []), ...status.peers];
  const tiers = [
    devices.filter((d) => d.id === ref || d.ips.includes(ref)),
    devices.filter((d) => d.shortName === want || d.dnsName.replace(/\.$/, '') === want),
    devices.filter((d) => d.hostName.toLowerCase() === want),
  ];
  const matches = tiers.find((t) => t.length > 0) ?? [];
  if (matches.length === 0) throw new CliError(`no peer "${ref}"`);
  if (matches.length > 1) throw new CliError(`"${ref}" names several peers; use its DNS name or id`);
  return matches[0]!;
}

export const ipCommand: Command = {
  usage: 'ip [-4 | -6] [PEER] [--json]',
  flags: { '-4': 'bool', '-6': 'bool' },
  operands: ['PEER?'],
  async run(ctx, args) {
    const v4 = args.bool('-4') === true;
    const v6 = args.bool('-6') === true;
    if (v4 && v6) throw new UsageError('-4 and -6: give one or neither');
    const status = await ctx.client().call('status', {});
    const [ref] = args.positional;
    let device: { hostName: string; ips: string[] };
    if (ref !== undefined) device = findDevice(status, ref);
    else if (status.self) device = status.self;
    else throw new CliError(`this device has no addresses yet (burrowd is ${status.backendState})`);
    const ips = device.ips.filter((ip) => (v4 ? ip.includes('.') : v6 ? ip.includes(':') : true));
    if (ips.length === 0)
      throw new CliError(`${device.hostName} has no ${v4 ? 'IPv4 ' : v6 ? 'IPv6 ' : ''}address`);
    if (ctx.json) printJson(ctx, { ips });
    else ctx.io.out(ips.map((ip) => `${ip}\n`).join(''));
    return 0;
  },
};
