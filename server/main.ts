/**
 * burrow-server: the coordination server, and its admin commands. Every admin subcommand takes the
 * same --db PATH as `serve` and works while the server runs (SQLite in WAL mode; the server picks
 * up changes from the change feed).
 * Exit codes: 0 success (and --help), 1 failure, 2 usage error.
 */
import { pathToFileURL } from 'node:url';
import { randomBytes, selectCrypto } from '../src/crypto/index.js';
import { AddonError } from '../src/packaged.js';
import { HujsonError, PolicyError } from '../src/policy/index.js';
import { decodeKey } from '../src/wireguard/keys.js';
import {
  apikeysCreate,
  apikeysList,
  apikeysRevoke,
  authkeysCreate,
  checkPolicy,
  devicesDelete,
  devicesExpiry,
  devicesList,
  devicesRename,
  type Io,
  policyCommand,
  readPolicyFile,
  routesApprove,
  sharesList,
} from './cli/admin.js';
import { CommandError, parseArgs, parseListen, UsageError } from './cli/args.js';
import { DNS_HELP, DNS_USAGE, dnsCommand } from './cli/dns.js';
import { readHiddenLine } from './cli/password-prompt.js';
import { usersCreate, usersPasswd } from './cli/users.js';
import { loadConfig, type ServerConfig } from './config.js';
import { KeyFeedClient } from './relay/key-feed-client.js';
import { startRelay } from './relay/relay-server.js';
import { startServer } from './serve.js';
import { StoreError } from './store/errors.js';
import { openStore } from './store/open-store.js';
import type { Store } from './store/store.js';
import type { Network } from './store/types.js';
import { STUN_PORT } from './stun/stun-server.js';

const USAGE = `usage: burrow-server COMMAND (--db PATH | --config FILE) [options]
  serve --listen HOST:PORT [--public-url URL] [--stun-port N]   (or these in the config file)
        STUN on UDP port N of the listen address, 3478 unless told (0: none); --public-url is
        needed when HOST is 0.0.0.0 or ::
  relay --listen HOST:PORT --key PATH --control-url URL --control-key KEY
        a relay on its own (no --db): serves only the devices registered at the burrow-server at
        URL, whose control key (printed by serve, and at URL/control/key) is KEY; it refuses to
        start without them, and that server must list this relay's key in its config's relays
  users create NAME [--network NET] [--password-file PATH]
  users passwd NAME [--password-file PATH]     (asks at the terminal without it)
  authkeys create --user NAME [--reusable] [--ephemeral] [--expiry DUR] [--tags tag:a,...]
  apikeys create --network NET [--expiry DUR]                     (expires in 90d unless told)
  apikeys list [--json] | revoke ID|PREFIX
  devices list [--network NET] [--json]
  devices rename DEVICE NEW-NAME [--network NET]
  devices delete DEVICE [--network NET]
  devices expiry DEVICE (DURATION | never) [--network NET]
  routes approve DEVICE (--exit-node | CIDR...) [--network NET]
  shares list [--user NAME] [--json]
  policy get | set FILE | test FILE [--network NET]
  dns show | set | route add | route remove | clear [--network NET]   (dns --help tells more)
  migrate --from sqlite:PATH --to postgres://URL [--overwrite]   (no --db)
        copies every table into PostgreSQL in one transaction and checks each table's row count;
        refuses a database that holds data unless --overwrite; the server key stays PATH.key`;

type Command = (
  store: Store,
  argv: string[],
  io: Io,
  now: number,
  config: ServerConfig | null,
) => Promise<void>;

const dns =
  (verb: string): Command =>
  (store, argv, io, now, config) =>
    dnsCommand(store, [verb, ...argv], io, now, config);

const COMMANDS: Record<string, Command> = {
  'users create': usersCreate,
  'users passwd': usersPasswd,
  'authkeys create': authkeysCreate,
  'apikeys create': apikeysCreate,
  'apikeys list': apikeysList,
  'apikeys revoke': apikeysRevoke,
  'devices list': devicesList,
  'devices rename': devicesRename,
  'devices delete': devicesDelete,
  'devices expiry': devicesExpiry,
  'routes approve': routesApprove,
  'shares list': sharesList,
  'policy get': (store, argv, io, now) => policyCommand(store, ['get', ...argv], io, now),
  'policy set': (store, argv, io, now) => policyCommand(store, ['set', ...argv], io, now),
  'policy test': (store, argv, io, now) => policyCommand(store, ['test', ...argv], io, now),
  'dns show': dns('show'),
  'dns set': dns('set'),
  'dns route': dns('route'),
  'dns clear': dns('clear'),
};

const isHelp = (arg: string | undefined) => arg === 'help' || arg === '--help' || arg === '-h';

/**
 * Takes --db PATH or --config FILE out of argv (either may stand anywhere): every command, `serve`
 * and the admin ones, finds the database the same way. Returns the database, the config if one was
 * given, and the other arguments.
 */
function takeDb(argv: string[]): {
  db: string;
  config: ServerConfig | null;
  configPath?: string;
  rest: string[];
} {
  const rest: string[] = [];
  const given: Record<'db' | 'config', string | undefined> = { db: undefined, config: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = (['db', 'config'] as const).find((n) => arg === `--${n}` || arg.startsWith(`--${n}=`));
    if (name === undefined) {
      rest.push(arg);
      continue;
    }
    if (given[name] !== undefined) throw new UsageError(`--${name} given more than once`);
    const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
    if (!value) throw new UsageError(`--${name} needs a value`);
    given[name] = value;
  }
  if (given.db !== undefined && given.config !== undefined)
    throw new UsageError('give --db PATH or --config FILE, not both');
  if (given.config !== undefined) {
    const config = loadConfig(given.config);
    return { db: config.db, config, configPath: given.config, rest };
  }
  if (given.db === undefined) throw new UsageError('--db PATH (or --config FILE) is required');
  return { db: given.db, config: null, rest };
}

export async function main(argv: string[], io: Io, now = Date.now()): Promise<number> {
  if (isHelp(argv[0])) {
    io.out(`${USAGE}\n`);
    return 0;
  }
  if (argv[0] === 'dns' && (argv[1] === undefined || argv[1].startsWith('-') || argv.slice(1).some(isHelp))) {
    io.out(`${DNS_HELP}\n`);
    return 0;
  }
  try {
    if (argv[0] === 'migrate') {
      // Loaded only here: it brings in the PostgreSQL driver.
      const { migrateCommand } = await import('./cli/migrate.js');
      await migrateCommand(argv.slice(1), io, now);
      return 0;
    }
    const key = argv.slice(0, 2).join(' ');
    const command = COMMANDS[key];
    if (!command && argv[0] === 'dns') throw new UsageError(`unknown command "${key}"`, DNS_USAGE);
    if (!command) throw new UsageError(argv.length ? `unknown command "${key}"` : 'no command given');
    const { db, config, rest } = takeDb(argv.slice(2));
    const store = await openStore(db);
    try {
      await command(store, rest, io, now, config);
    } finally {
      await store.close();
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`burrow-server: ${error.message}\n${error.usage ?? USAGE}\n`);
      return 2;
    }
    if (
      error instanceof CommandError ||
      error instanceof StoreError ||
      error instanceof PolicyError ||
      error instanceof HujsonError ||
      error instanceof AddonError
    ) {
      io.err(`burrow-server: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

/** Resolves on SIGINT or SIGTERM: how the long-running commands are stopped. */
function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

/** Runs `serve` or `relay` to its end: 0 after a clean stop, 2 on a usage error, 1 otherwise. */
async function runLongCommand(io: Io, body: () => Promise<void>): Promise<number> {
  try {
    await body();
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`burrow-server: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    io.err(`burrow-server: ${(error as Error).message}\n`);
    return 1;
  }
}

/**
 * Applies the config's policy files to their networks, all or none: every file is read, parsed
 * and its tests run before any policy changes, and the changes are then made in one transaction.
 * Throws naming the file and the failing case, having changed nothing.
 */
async function applyPolicyFiles(db: string, config: ServerConfig | null, io: Io): Promise<void> {
  if (!config?.policyFiles.length) return;
  const store = await openStore(db);
  try {
    const changed: { network: Network; file: string; text: string }[] = [];
    for (const { network: name, file } of config.policyFiles) {
      const network = await store.findNetworkByName(name);
      if (!network) throw new UsageError(`policyFiles: no network "${name}"`);
      const text = readPolicyFile(file);
      await checkPolicy(store, network.id, text, file);
      if ((await store.getPolicy(network.id))?.text !== text) changed.push({ network, file, text });
    }
    const now = Date.now();
    await store.transaction(async () => {
      for (const { network, text } of changed) await store.setPolicy(network.id, text, now);
    });
    for (const { network, file } of changed) io.err(`policy of network ${network.name} set from ${file}\n`);
  } finally {
    await store.close();
  }
}

/**
 * Gives the networks the config's dns.networks lists their settings from the file, all or none:
 * every one is checked (the network exists, and its settings pass against it) before any changes,
 * in one transaction. Networks not listed keep what `burrow-server dns` set.
 */
async function applyDnsConfig(db: string, config: ServerConfig | null, io: Io): Promise<void> {
  if (!config?.dns.networks.length) return;
  const store = await openStore(db);
  try {
    const now = Date.now();
    const changed = await store.transaction(async () => {
      const names: string[] = [];
      for (const [i, { network: name, settings }] of config.dns.networks.entries()) {
        const network = await store.findNetworkByName(name);
        if (!network) throw new UsageError(`dns.networks[${i}]: no network "${name}"`);
        const before = (await store.getDnsSettings(network.id)).updatedAt;
        let after: number | null;
        try {
          after = (await store.setDnsSettings(network.id, settings, now, config.dns.baseDomain)).updatedAt;
        } catch (error) {
          if (error instanceof StoreError) throw new UsageError(`dns.networks[${i}].${error.message}`);
          throw error;
        }
        if (after !== before) names.push(network.name);
      }
      return names;
    });
    for (const name of changed) io.err(`DNS settings of network ${name} set from the config file\n`);
  } finally {
    await store.close();
  }
}

const isHttpUrl = (text: string) => {
  try {
    return ['http:', 'https:'].includes(new URL(text).protocol) && /^https?:\/\/[^\s]+$/.test(text);
  } catch {
    return false;
  }
};

const isWildcard = (host: string) => host === '0.0.0.0' || /^[0:]+$/.test(host);

/**
 * The STUN port: --stun-port, else the config's stunPort, else 3478 (devices behind NAT need STUN
 * to go direct, so it is on unless turned off); 0 means none.
 */
function stunPortOf(flag: string | boolean | undefined, config: ServerConfig | null): number {
  if (typeof flag !== 'string') return config?.stunPort ?? STUN_PORT;
  if (!/^\d{1,5}$/.test(flag) || Number(flag) > 65535)
    throw new UsageError(`--stun-port: "${flag}" is not a port (0 for no STUN)`);
  return Number(flag);
}

/** `serve`: runs until SIGINT or SIGTERM; SIGHUP re-applies the config's policy files. */
function serve(argv: string[], io: Io): Promise<number> {
  return runLongCommand(io, async () => {
    const { db, config, configPath, rest } = takeDb(argv);
    const { flags, positional } = parseArgs(rest, {
      listen: 'string',
      'public-url': 'string',
      'stun-port': 'string',
    });
    const listen = typeof flags.listen === 'string' ? flags.listen : config?.listen;
    if (positional.length || listen === undefined)
      throw new UsageError(
        'usage: burrow-server serve (--db PATH | --config FILE) --listen HOST:PORT [--public-url URL] [--stun-port N]',
      );
    const { host, port } = parseListen(listen);
    const publicUrl = typeof flags['public-url'] === 'string' ? flags['public-url'] : config?.publicUrl;
    if (publicUrl !== undefined && !isHttpUrl(publicUrl))
      throw new UsageError(`--public-url: "${publicUrl}" is not an http(s) URL`);
    // Devices are sent this server's URL (for its relay and STUN) and browsers its sign-in links:
    // a wildcard address reaches nobody but this host, so it must be told what does.
    if (publicUrl === undefined && isWildcard(host))
      throw new UsageError(
        `--public-url URL is needed with --listen ${listen}: devices and browsers are sent this ` +
          'server as the URL they reach it at (e.g. --public-url http://203.0.113.7:8080)',
      );
    const stunPort = stunPortOf(flags['stun-port'], config);
    await applyPolicyFiles(db, config, io);
    await applyDnsConfig(db, config, io);
    const running = await startServer({
      db,
      ...(config?.keyFile !== undefined ? { keyPath: config.keyFile } : {}),
      host,
      port,
      ...(publicUrl !== undefined ? { publicUrl } : {}),
      relays: config?.relays ?? [],
      ...(config?.region ? { region: config.region } : {}),
      ...(config ? { relayLimits: config.relayLimits, controlLimits: config.controlLimits } : {}),
      ...(config?.trustedProxies ? { trustedProxies: config.trustedProxies } : {}),
      ...(stunPort !== 0 ? { stunPort } : {}),
      ...(config ? { baseDomain: config.dns.baseDomain } : {}),
      log: (m) => io.err(`${m}\n`),
    });
    io.err(
      `burrow-server listening on ${running.url} (control key ${running.publicKey}), ` +
        `relay region ${running.region.id} "${running.region.name}" (relay key ${running.relayPublicKey}), ` +
        `${running.stunPort === null ? 'no STUN' : `STUN on UDP port ${running.stunPort}`}\n`,
    );
    // One reload at a time: a second SIGHUP during one waits for it.
    let reloading: Promise<void> = Promise.resolve();
    const reloadOnce = async () => {
      try {
        await applyPolicyFiles(db, config, io);
      } catch (error) {
        io.err(
          `burrow-server: policy files not applied, the old policies stay: ${(error as Error).message}\n`,
        );
      }
      try {
        // The file's DNS settings are read again; the base domain stays as started (it names
        // every device: a restart changes it).
        const fresh = configPath !== undefined ? loadConfig(configPath) : null;
        if (fresh && config && fresh.dns.baseDomain !== config.dns.baseDomain)
          io.err('burrow-server: dns.baseDomain changed: it takes effect when burrow-server restarts\n');
        await applyDnsConfig(
          db,
          fresh && config ? { ...fresh, dns: { ...fresh.dns, baseDomain: config.dns.baseDomain } } : null,
          io,
        );
      } catch (error) {
        io.err(`burrow-server: DNS settings not applied, the old ones stay: ${(error as Error).message}\n`);
      }
    };
    const reload = () => {
      reloading = reloading.then(reloadOnce);
    };
    process.on('SIGHUP', reload);
    await untilStopped();
    process.off('SIGHUP', reload);
    await reloading;
    await running.close();
  });
}

/**
 * `relay`: a relay on its own, for another region (devices find it through the relay map of the
 * server's config: its URL and the public key this prints). It serves the devices its coordination
 * server registered, following that server's key feed; there is no open mode. Runs until SIGINT or
 * SIGTERM.
 */
function relay(argv: string[], io: Io): Promise<number> {
  return runLongCommand(io, async () => {
    const { flags, positional } = parseArgs(argv, {
      listen: 'string',
      key: 'string',
      'control-url': 'string',
      'control-key': 'string',
    });
    const { listen, key, 'control-url': controlUrl, 'control-key': controlKey } = flags;
    if (
      positional.length ||
      typeof listen !== 'string' ||
      typeof key !== 'string' ||
      typeof controlUrl !== 'string' ||
      typeof controlKey !== 'string'
    )
      throw new UsageError(
        'usage: burrow-server relay --listen HOST:PORT --key PATH --control-url URL --control-key KEY',
      );
    if (!/^https?:\/\/[^\s/]+\/?$/.test(controlUrl))
      throw new UsageError(`--control-url: "${controlUrl}" is not http(s)://HOST:PORT`);
    let serverPublicKey: Uint8Array;
    try {
      serverPublicKey = decodeKey(controlKey, '--control-key');
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const { host, port } = parseListen(listen);
    const crypto = selectCrypto();
    const running = await startRelay({
      host,
      port,
      keyPath: key,
      allowed: (relayKey) =>
        new KeyFeedClient({
          url: controlUrl,
          serverPublicKey,
          relayKey,
          crypto,
          random: randomBytes,
          now: Date.now,
          log: (m) => io.err(`${m}\n`),
        }),
    });
    io.err(`burrow-server relay on ${running.url} (relay key ${running.publicKey})\n`);
    await untilStopped();
    await running.close();
  });
}

/** The program: the command on this process's arguments and stdio, setting its exit code. */
export async function run(): Promise<void> {
  const io: Io = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    readSecret: (prompt) => readHiddenLine(prompt),
  };
  const argv = process.argv.slice(2);
  if (argv[0] === 'serve') process.exitCode = await serve(argv.slice(1), io);
  else if (argv[0] === 'relay') process.exitCode = await relay(argv.slice(1), io);
  else process.exitCode = await main(argv, io);
}

// Run as a script (bin/burrow-server runs dist/server/main.js). The packaged burrow-server bundles
// this file into CommonJS, where import.meta.url is undefined, and calls run() itself.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void run();
