/** `burrow-server dns`: a network's DNS settings, which every device of the network is sent. */
import { DEFAULT_BASE_DOMAIN, type DnsSettings } from '../../src/control/dns-settings.js';
import type { ServerConfig } from '../config.js';
import { dnsSection } from '../coordinator/dns-section.js';
import type { Store } from '../store/store.js';
import type { Network } from '../store/types.js';
import { type Io, targetNetwork } from './admin.js';
import { CommandError, parseArgs, UsageError } from './args.js';

export const DNS_USAGE = `usage: burrow-server dns COMMAND [--network NET] (--db PATH | --config FILE)
  dns show [--json]                    what the network's devices are sent
  dns set [--nameservers IP,...] [--search-domains DOMAIN,...] [--override true|false]
                                       each flag given replaces that setting ("" clears a list)
  dns route add DOMAIN SERVER...       names under DOMAIN go to these servers (replaces its route)
  dns route remove DOMAIN
  dns clear                            no name servers, routes or search domains`;

/** `burrow-server dns --help`. */
export const DNS_HELP = `${DNS_USAGE}

Every device resolves its network's devices as HOST and HOST.NETWORK.<base domain> (the config's
dns.baseDomain, default ${DEFAULT_BASE_DOMAIN}), through its own resolver at 100.100.100.100, and
sends other names to the resolvers it had before, unless told otherwise here:
  --nameservers     extra name servers: IP, IP:PORT or [IPv6]:PORT
  --override true   use those name servers for every name, not the device's own resolvers
  --search-domains  tried after NETWORK.<base domain>, which always comes first
  route add         split DNS: names under DOMAIN are asked of SERVER... only
--network NET may be left out when there is only one network. Changes reach connected devices at
once. A network listed in the config file's dns.networks gets the file's settings back whenever
burrow-server starts or reloads (SIGHUP).`;

const splitList = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The base domain commands check routes against: the config's, or the default without one. */
const baseDomainOf = (config: ServerConfig | null) => config?.dns.baseDomain ?? DEFAULT_BASE_DOMAIN;

/** Saves the settings (checked whole by the store) and says what the devices now get. */
async function save(
  store: Store,
  network: Network,
  settings: DnsSettings,
  io: Io,
  now: number,
  config: ServerConfig | null,
): Promise<void> {
  const saved = await store.setDnsSettings(network.id, settings, now, baseDomainOf(config));
  io.err(`DNS settings of network ${network.name} updated\n`);
  if (config?.dns.networks.some((n) => n.network.toLowerCase() === network.name.toLowerCase()))
    io.err(
      `note: the config file sets network ${network.name}'s DNS settings: they replace these when ` +
        'burrow-server starts or reloads\n',
    );
  io.out(showText(network, saved, baseDomainOf(config), config !== null));
}

function showText(network: Network, settings: DnsSettings, baseDomain: string, fromConfig: boolean): string {
  const d = dnsSection(network, settings, baseDomain);
  const width = Math.max(0, ...d.routes.map((r) => r.domain.length));
  const lines = [
    `network ${network.name}`,
    `  device names:    HOST and HOST.${d.searchDomains[0]}${fromConfig ? '' : ' (base domain: the default; serve --config FILE may set another)'}`,
    `  resolver:        ${d.resolver.ipv4} and ${d.resolver.ipv6}, on each device`,
    `  name servers:    ${d.nameservers.join(', ') || '-'}`,
    `  for every name:  ${d.override ? 'yes: the name servers above' : "no: each device's own resolvers"}`,
    `  search domains:  ${d.searchDomains.join(', ')}`,
    `  routes:          ${d.routes.length ? '' : '-'}`,
  ];
  const routes = d.routes.map((r) => `    ${r.domain.padEnd(width)}  ${r.servers.join(', ')}`);
  return `${[...lines, ...routes].join('\n')}\n`;
}

export async function dnsCommand(
  store: Store,
  argv: string[],
  io: Io,
  now: number,
  config: ServerConfig | null,
): Promise<void> {
  try {
    await run(store, argv, io, now, config);
  } catch (error) {
    // A usage error says how the dns commands are used, not the whole program.
    if (error instanceof UsageError && error.usage === undefined)
      throw new UsageError(error.message, DNS_USAGE);
    throw error;
  }
}

async function run(
  store: Store,
  argv: string[],
  io: Io,
  now: number,
  config: ServerConfig | null,
): Promise<void> {
  const { flags, positional } = parseArgs(argv, {
    network: 'string',
    json: 'boolean',
    nameservers: 'string',
    'search-domains': 'string',
    override: 'string',
  });
  const [verb, ...rest] = positional;
  const used = Object.keys(flags).filter((f) => f !== 'network');
  const onlyFlags = (allowed: string[]) => {
    const other = used.find((f) => !allowed.includes(f));
    if (other !== undefined) throw new UsageError(`dns ${verb}: --${other} does not apply`, DNS_USAGE);
  };
  const network = () => targetNetwork(store, flags.network);
  const current = async (n: Network): Promise<DnsSettings> => {
    const { nameservers, routes, searchDomains, override } = await store.getDnsSettings(n.id);
    return { nameservers, routes, searchDomains, override };
  };
  switch (verb) {
    case 'show': {
      onlyFlags(['json']);
      if (rest.length) throw new UsageError('dns show takes no arguments', DNS_USAGE);
      const n = await network();
      const settings = await store.getDnsSettings(n.id);
      if (flags.json)
        io.out(
          `${JSON.stringify({ network: n.name, ...dnsSection(n, settings, baseDomainOf(config)), updatedAt: settings.updatedAt }, null, 2)}\n`,
        );
      else io.out(showText(n, settings, baseDomainOf(config), config !== null));
      return;
    }
    case 'set': {
      onlyFlags(['nameservers', 'search-domains', 'override']);
      if (rest.length || used.length === 0)
        throw new UsageError('dns set: give --nameservers, --search-domains or --override', DNS_USAGE);
      const { override } = flags;
      if (override !== undefined && override !== 'true' && override !== 'false')
        throw new UsageError(`--override: "${override}" is neither true nor false`);
      const n = await network();
      const settings = await current(n);
      if (typeof flags.nameservers === 'string') settings.nameservers = splitList(flags.nameservers);
      if (typeof flags['search-domains'] === 'string')
        settings.searchDomains = splitList(flags['search-domains']);
      if (override !== undefined) settings.override = override === 'true';
      await save(store, n, settings, io, now, config);
      return;
    }
    case 'route': {
      onlyFlags([]);
      const [op, domain, ...servers] = rest;
      if (op === 'add' && domain !== undefined && servers.length > 0) {
        const n = await network();
        const settings = await current(n);
        const key = domain.toLowerCase().replace(/\.$/, '');
        settings.routes = [...settings.routes.filter((r) => r.domain !== key), { domain, servers }];
        await save(store, n, settings, io, now, config);
        return;
      }
      if (op === 'remove' && domain !== undefined && servers.length === 0) {
        const n = await network();
        const settings = await current(n);
        const key = domain.toLowerCase().replace(/\.$/, '');
        if (!settings.routes.some((r) => r.domain === key))
          throw new CommandError(`network ${n.name} has no route for ${key}`);
        settings.routes = settings.routes.filter((r) => r.domain !== key);
        await save(store, n, settings, io, now, config);
        return;
      }
      throw new UsageError('dns route: add DOMAIN SERVER... or remove DOMAIN', DNS_USAGE);
    }
    case 'clear': {
      onlyFlags([]);
      if (rest.length) throw new UsageError('dns clear takes no arguments', DNS_USAGE);
      const n = await network();
      await save(
        store,
        n,
        { nameservers: [], routes: [], searchDomains: [], override: false },
        io,
        now,
        config,
      );
      return;
    }
    default:
      throw new UsageError(`unknown command "dns ${verb}"`, DNS_USAGE);
  }
}
