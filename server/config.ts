import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  canonicalDomain,
  checkDnsSettings,
  DEFAULT_BASE_DOMAIN,
  type DnsSettings,
  DnsSettingsError,
} from '../src/control/dns-settings.js';
import { type RelayRegion, relayRegion } from '../src/control/messages.js';
import {
  array,
  boolean,
  type Infer,
  integer,
  object,
  optional,
  SchemaError,
  string,
} from '../src/control/schema.js';
import { HujsonError, parseHujson } from '../src/policy/index.js';
import { parsePrefix } from '../src/policy/prefix.js';
import { UsageError } from './cli/args.js';
import type { HandshakeLimits } from './control/listener.js';
import type { LoginLimits } from './coordinator/pending-logins.js';
import type { StrangerLimits } from './coordinator/strangers.js';
import type { RelayLimits } from './relay/relay-limits.js';

/**
 * burrow-server's config file (HuJSON: comments and trailing commas allowed), for what does not
 * fit on a command line. Relative paths are relative to the file. Unknown keys are errors, named
 * with their path, so a typo never silently falls back to a default.
 *
 *   {
 *     "db": "burrow.db",
 *     "listen": "0.0.0.0:8080",
 *     "publicUrl": "https://burrow.example.com",
 *     "stunPort": 3478, // STUN, so devices learn their public endpoint (the default; 0: none)
 *     // Relays every device is told about besides this server's own (the relay map in each full map).
 *     // A relay whose publicKey is here may follow this server's key feed (burrow-server relay
 *     // --control-url), and so serve the devices registered here.
 *     "relays": [{ "id": 1, "name": "home", "url": "https://relay.example.com", "publicKey": "...", "stun": "203.0.113.1:3478" }],
 *     // This server's own relay region (default 900, "burrow-server"). Instances on one database
 *     // each need their own id, and each lists the others in relays (an entry with its own id is
 *     // itself, so every instance may be given the same list). See server/README.md.
 *     "region": { "id": 2, "name": "east" },
 *     // What one device may cost this server's relay (defaults: 8 MiB/s, 1 MiB burst, 20,000
 *     // frames/s, 2,000 burst, 1 MiB queued toward a slow receiver), and how many connections one
 *     // address may hold (default 256: devices behind one NAT share an address).
 *     "relayLimits": { "bytesPerSecond": 16777216 },
 *     // Networks whose policy is kept in a file: applied at start and on SIGHUP, tests first.
 *     "policyFiles": [{ "network": "family", "file": "family.hujson" }],
 *     // Reverse proxies whose X-Forwarded-For names the client (default: this host's loopback).
 *     "trustedProxies": ["127.0.0.1", "::1"],
 *     // What strangers may cost, per client address (defaults shown in packaging/server/config.hujson).
 *     "controlLimits": { "handshakesPerSecond": 10 },
 *     // Device names are HOST.NETWORK.<baseDomain> (default burrow.internal; read at start). A
 *     // network listed here gets these DNS settings at start and on SIGHUP, replacing what
 *     // `burrow-server dns` set for it; networks not listed keep theirs.
 *     "dns": {
 *       "baseDomain": "burrow.internal",
 *       "networks": [{ "network": "family", "nameservers": ["10.1.0.53"], "searchDomains": ["corp.example"],
 *                      "routes": [{ "domain": "corp.example", "servers": ["10.1.0.53"] }], "override": false }]
 *     }
 *   }
 */
const configSchema = object({
  /** The SQLite file; or, instead, `database`. */
  db: optional(string({ min: 1, max: 4096 })),
  /** A PostgreSQL database several instances may share, as a postgres:// URL. */
  database: optional(
    string({ min: 1, max: 4096, pattern: /^postgres(ql)?:\/\/[^\s]+$/i, what: 'a postgres:// URL' }),
  ),
  /** The server's key (default: beside the SQLite file, as DB.key); required with `database`. */
  keyFile: optional(string({ min: 1, max: 4096 })),
  listen: optional(string({ min: 1, max: 300 })),
  publicUrl: optional(string({ min: 1, max: 2048, pattern: /^https?:\/\/[^\s]+$/, what: 'an http(s) URL' })),
  /** UDP port for STUN binding requests on the listen address (default 3478; 0: none). */
  stunPort: optional(integer({ min: 0, max: 65535 })),
  relays: optional(array(relayRegion, { max: 64 })),
  region: optional(
    object({
      id: integer({ min: 1, max: 65535 }),
      name: string({ min: 1, max: 64 }),
    }),
  ),
  relayLimits: optional(
    object({
      bytesPerSecond: optional(integer({ min: 1024, max: 2 ** 40 })),
      byteBurst: optional(integer({ min: 65536, max: 2 ** 40 })),
      packetsPerSecond: optional(integer({ min: 10, max: 10_000_000 })),
      packetBurst: optional(integer({ min: 10, max: 10_000_000 })),
      maxQueueBytes: optional(integer({ min: 65536, max: 2 ** 32 })),
      maxConnectionsPerAddress: optional(integer({ min: 1, max: 1_000_000 })),
    }),
  ),
  policyFiles: optional(
    array(object({ network: string({ min: 1, max: 128 }), file: string({ min: 1, max: 4096 }) }), {
      max: 10_000,
    }),
  ),
  trustedProxies: optional(array(string({ min: 1, max: 64 }), { max: 256 })),
  controlLimits: optional(
    object({
      /** Control handshakes per second per client address, and the burst (a NAT of devices starting). */
      handshakesPerSecond: optional(integer({ min: 1, max: 1_000_000 })),
      handshakeBurst: optional(integer({ min: 1, max: 1_000_000 })),
      /** Connections per client address that have not registered a device (yet). */
      unregisteredPerAddress: optional(integer({ min: 1, max: 1_000_000 })),
      /** Key-less registrations (each makes a login link) per minute per client address, and the burst. */
      loginsPerMinute: optional(integer({ min: 1, max: 1_000_000 })),
      loginBurst: optional(integer({ min: 1, max: 1_000_000 })),
      /** Logins waiting for a sign-in, server-wide. */
      maxPendingLogins: optional(integer({ min: 1, max: 1_000_000 })),
    }),
  ),
  dns: optional(
    object({
      baseDomain: optional(string({ min: 1, max: 253 })),
      networks: optional(
        array(
          object({
            network: string({ min: 1, max: 128 }),
            nameservers: optional(array(string({ min: 1, max: 64 }), { max: 64 })),
            routes: optional(
              array(
                object({
                  domain: string({ min: 1, max: 254 }),
                  servers: array(string({ min: 1, max: 64 }), { max: 64 }),
                }),
                { max: 10_000 },
              ),
            ),
            searchDomains: optional(array(string({ min: 1, max: 254 }), { max: 64 })),
            override: optional(boolean),
          }),
          { max: 10_000 },
        ),
      ),
    }),
  ),
});

/** The config's dns section: the base domain, and the networks whose DNS settings the file holds. */
export interface DnsFileConfig {
  baseDomain: string;
  networks: { network: string; settings: DnsSettings }[];
}

/** The config's controlLimits, as startServer takes them. */
export interface ControlLimits {
  handshakes?: Partial<HandshakeLimits>;
  logins?: Partial<LoginLimits>;
  strangers?: Partial<StrangerLimits>;
}

export interface ServerConfig {
  /** Where the store is: the SQLite file's path, or the PostgreSQL database's URL. */
  db: string;
  /** The server key's file, when the config names one. */
  keyFile?: string;
  listen?: string;
  publicUrl?: string;
  stunPort?: number;
  relays: RelayRegion[];
  /** This server's own relay region, when the config names one. */
  region?: { id: number; name: string };
  relayLimits: Partial<RelayLimits>;
  policyFiles: { network: string; file: string }[];
  trustedProxies?: string[];
  controlLimits: ControlLimits;
  dns: DnsFileConfig;
}

/** Reads and checks a config file; throws UsageError naming the file and the bad key. */
export function loadConfig(path: string): ServerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read config ${path}: ${(error as Error).message}`);
  }
  let parsed: Infer<typeof configSchema>;
  try {
    parsed = configSchema.parse(parseHujson(text, path), 'config');
  } catch (error) {
    if (error instanceof SchemaError || error instanceof HujsonError)
      throw new UsageError(`${path}: ${error.message}`);
    throw error;
  }
  const ids = new Set<number>();
  for (const r of parsed.relays ?? []) {
    if (ids.has(r.id)) throw new UsageError(`${path}: config.relays: id ${r.id} is used twice`);
    ids.add(r.id);
  }
  const own = parsed.region;
  const sameName = own && (parsed.relays ?? []).find((r) => r.name === own.name && r.id !== own.id);
  if (own && sameName)
    throw new UsageError(
      `${path}: config.region: the name "${own.name}" is relay region ${sameName.id}'s in config.relays`,
    );
  // Reloads apply every file or none; two files for one network would leave which one wins unclear.
  const policyNetworks = new Set<string>();
  for (const { network } of parsed.policyFiles ?? []) {
    if (policyNetworks.has(network.toLowerCase()))
      throw new UsageError(`${path}: config.policyFiles: network "${network}" has two files`);
    policyNetworks.add(network.toLowerCase());
  }
  for (const [i, entry] of (parsed.trustedProxies ?? []).entries()) {
    try {
      parsePrefix(entry);
    } catch (error) {
      throw new UsageError(`${path}: config.trustedProxies[${i}]: ${(error as Error).message}`);
    }
  }
  const dns = dnsConfig(path, parsed.dns ?? {});
  const base = dirname(resolve(path));
  if ((parsed.db === undefined) === (parsed.database === undefined))
    throw new UsageError(
      `${path}: config.db: give db (a SQLite file) or database (a postgres:// URL), one of them`,
    );
  if (parsed.database !== undefined && parsed.keyFile === undefined)
    throw new UsageError(
      `${path}: config.keyFile: required with database (every instance must share the key)`,
    );
  return {
    db: parsed.database ?? resolve(base, parsed.db as string),
    ...(parsed.keyFile !== undefined ? { keyFile: resolve(base, parsed.keyFile) } : {}),
    ...(parsed.listen !== undefined ? { listen: parsed.listen } : {}),
    ...(parsed.publicUrl !== undefined ? { publicUrl: parsed.publicUrl } : {}),
    ...(parsed.stunPort !== undefined ? { stunPort: parsed.stunPort } : {}),
    relays: parsed.relays ?? [],
    ...(own ? { region: own } : {}),
    relayLimits: withoutUndefined(parsed.relayLimits ?? {}),
    policyFiles: (parsed.policyFiles ?? []).map((p) => ({ network: p.network, file: resolve(base, p.file) })),
    ...(parsed.trustedProxies !== undefined ? { trustedProxies: parsed.trustedProxies } : {}),
    controlLimits: controlLimits(parsed.controlLimits ?? {}),
    dns,
  };
}

/**
 * The dns section, checked as far as the file alone allows (each network's own resolver address,
 * and whether the network exists, are checked when the settings are applied to the database).
 */
function dnsConfig(path: string, d: NonNullable<Infer<typeof configSchema>['dns']>): DnsFileConfig {
  let baseDomain = DEFAULT_BASE_DOMAIN;
  try {
    if (d.baseDomain !== undefined) baseDomain = canonicalDomain(d.baseDomain);
  } catch (error) {
    throw new UsageError(`${path}: config.dns.baseDomain: ${(error as Error).message}`);
  }
  const seen = new Set<string>();
  const networks = (d.networks ?? []).map((n, i) => {
    const at = `config.dns.networks[${i}]`;
    if (seen.has(n.network.toLowerCase()))
      throw new UsageError(`${path}: ${at}.network: network "${n.network}" is listed twice`);
    seen.add(n.network.toLowerCase());
    try {
      const settings = checkDnsSettings(
        {
          nameservers: n.nameservers ?? [],
          routes: n.routes ?? [],
          searchDomains: n.searchDomains ?? [],
          override: n.override ?? false,
        },
        { baseDomain },
      );
      return { network: n.network, settings };
    } catch (error) {
      if (error instanceof DnsSettingsError) throw new UsageError(`${path}: ${at}.${error.message}`);
      throw error;
    }
  });
  return { baseDomain, networks };
}

function controlLimits(c: NonNullable<Infer<typeof configSchema>['controlLimits']>): ControlLimits {
  return {
    handshakes: withoutUndefined({
      perAddressPerSecond: c.handshakesPerSecond,
      perAddressBurst: c.handshakeBurst,
    }),
    strangers: withoutUndefined({ perAddress: c.unregisteredPerAddress }),
    logins: withoutUndefined({
      perAddressPerMinute: c.loginsPerMinute,
      perAddressBurst: c.loginBurst,
      maxPending: c.maxPendingLogins,
    }),
  };
}

function withoutUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}
