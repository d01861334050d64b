/**
 * burrow-server: the coordination server, and its admin commands. Every admin subcommand takes the
 * same --db PATH as `serve` and works while the server runs (SQLite in WAL mode; the server picks
 * up changes from the change feed).
 * Exit codes: 0 success (and --help), 1 failure, 2 usage error.
 */
import { pathToFileURL } from 'node:url';
import { AddonError } from '../src/packaged.js';
import { HujsonError, PolicyError } from '../src/policy/index.js';
import {
  apikeysCreate,
  apikeysList,
  apikeysRevoke,
  authkeysCreate,
  devicesDelete,
  devicesExpiry,
  devicesList,
  devicesRename,
  type Io,
  policyCommand,
  routesApprove,
  sharesList,
} from './cli/admin.js';
import { CommandError, UsageError } from './cli/args.js';
import { DNS_HELP, DNS_USAGE, dnsCommand } from './cli/dns.js';
import { readHiddenLine } from './cli/password-prompt.js';
import { relayCommand } from './cli/relay.js';
import { serveCommand } from './cli/serve.js';
import { takeDb } from './cli/take-db.js';
import { usersCreate, usersPasswd } from './cli/users.js';
import type { ServerConfig } from './config.js';
import { StoreError } from './store/errors.js';
import { openStore } from './store/open-store.js';
import type { Store } from './store/store.js';

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

/** The program: the command on this process's arguments and stdio, setting its exit code. */
export async function run(): Promise<void> {
  const io: Io = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    readSecret: (prompt) => readHiddenLine(prompt),
  };
  const argv = process.argv.slice(2);
  if (argv[0] === 'serve') process.exitCode = await serveCommand(argv.slice(1), io, USAGE);
  else if (argv[0] === 'relay') process.exitCode = await relayCommand(argv.slice(1), io, USAGE);
  else process.exitCode = await main(argv, io);
}

// Run as a script (bin/burrow-server runs dist/server/main.js). The packaged burrow-server bundles
// this file into CommonJS, where import.meta.url is undefined, and calls run() itself.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void run();
