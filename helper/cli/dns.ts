/** `burrow dns status` and `burrow dns query`: burrowd's resolver (MagicDNS), read-only. */
import type { DnsAnswer, DnsStatus } from '../../src/localapi/api.js';
import { operations } from '../../src/localapi/api.js';
import { checkRequest } from './args.js';
import { type Command, printJson, table } from './command.js';

function formatDnsStatus(s: DnsStatus): string {
  const lines: string[] = [];
  if (!s.running) lines.push('Resolver: not running (Burrow is not up).');
  else lines.push(`Resolver: ${s.addresses.join(', ')}`);
  if (s.baseDomain !== null) lines.push(`Device names: HOST and HOST.NETWORK.${s.baseDomain}`);
  lines.push(
    s.acceptDns
      ? `System DNS: ${s.changed ?? 'not changed yet'}`
      : 'System DNS: left alone (--accept-dns=false)',
  );
  if (s.searchDomains.length > 0) lines.push(`Search domains: ${s.searchDomains.join(' ')}`);
  for (const r of s.routes) lines.push(`Route: ${r.domain} -> ${r.servers.join(', ')}`);
  lines.push(
    `Other names: ${s.upstreams.length > 0 ? s.upstreams.join(', ') : 'nowhere (no resolver known)'}${s.override ? ' (the network’s servers, override)' : ''}`,
  );
  const c = s.counters;
  lines.push(
    `Queries: ${c.udp} over UDP, ${c.tcp} over TCP, ${c.forwarded} forwarded; ${c.notLocal} from outside this device dropped`,
  );
  if (s.refusals.length > 0)
    lines.push(`Refused: ${s.refusals.map((r) => `${r.reason} ${r.count}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

function formatAnswer(a: DnsAnswer): string {
  const head = `${a.name} ${a.type}: ${a.rcode}${a.authoritative ? ' (a Burrow name)' : ''}\n`;
  if (a.answers.length === 0) return head;
  return (
    head +
    table([['NAME', 'TYPE', 'TTL', 'DATA'], ...a.answers.map((r) => [r.name, r.type, String(r.ttl), r.data])])
  );
}

export const dnsStatusCommand: Command = {
  usage: 'dns status [--json]',
  flags: {},
  operands: [],
  async run(ctx) {
    const status = await ctx.client().call('dnsStatus', {});
    if (ctx.json) printJson(ctx, status);
    else ctx.io.out(formatDnsStatus(status));
    return 0;
  },
};

export const dnsQueryCommand: Command = {
  usage: 'dns query NAME|IP [TYPE] [--json]',
  flags: {},
  operands: ['NAME', 'TYPE?'],
  async run(ctx, args) {
    const [name, type] = args.positional as [string, string | undefined];
    const request = checkRequest(
      operations.dnsQuery.request,
      { name, ...(type !== undefined ? { type } : {}) },
      { name: 'NAME', type: 'TYPE' },
    );
    const answer = await ctx.client().call('dnsQuery', request);
    if (ctx.json) printJson(ctx, answer);
    else ctx.io.out(formatAnswer(answer));
    // Like host(1): a name that does not resolve is a failure.
    return answer.rcode === 'NOERROR' ? 0 : 1;
  },
};
