/**
 * burrow-server: the coordination server, and its admin commands. Every admin subcommand takes the
 * same --db PATH as `serve` and works while the server runs (SQLite in WAL mode; the server picks
 * up changes from the change feed).
 * Exit codes: 0 success, 1 failure, 2 usage error.
 */
import { pathToFileURL } from 'node:url';
import { HujsonError, PolicyError } from '../src/policy/index.js';
import {
  apikeysCreate,
  authkeysCreate,
  devicesDelete,
  devicesExpiry,
  devicesList,
  devicesRename,
  type Io,
  policyCommand,
  routesApprove,
  sharesList,
  usersCreate,
} from './cli/admin.js';
import { parseArgs, parseListen, UsageError } from './cli/args.js';
import { startServer } from './serve.js';
import { StoreError } from './store/errors.js';
import { openSqliteStore } from './store/sqlite-store.js';
import type { Store } from './store/store.js';

const USAGE = `usage: burrow-server COMMAND --db PATH [options]
  serve --listen HOST:PORT [--public-url URL]
  users create NAME [--network NET]
  authkeys create --user NAME [--reusable] [--ephemeral] [--expiry DUR] [--tags tag:a,...]
  apikeys create [--expiry DUR]
  devices list [--network NET] [--json]
  devices rename DEVICE NEW-NAME [--network NET]
  devices delete DEVICE [--network NET]
  devices expiry DEVICE (DURATION | never) [--network NET]
  routes approve DEVICE (--exit-node | CIDR...) [--network NET]
  shares list [--user NAME] [--json]
  policy get | set FILE | test FILE [--network NET]`;

type Command = (store: Store, argv: string[], io: Io, now: number) => void;

const COMMANDS: Record<string, Command> = {
  'users create': usersCreate,
  'authkeys create': authkeysCreate,
  'apikeys create': apikeysCreate,
  'devices list': devicesList,
  'devices rename': devicesRename,
  'devices delete': devicesDelete,
  'devices expiry': devicesExpiry,
  'routes approve': routesApprove,
  'shares list': sharesList,
  'policy get': (store, argv, io, now) => policyCommand(store, ['get', ...argv], io, now),
  'policy set': (store, argv, io, now) => policyCommand(store, ['set', ...argv], io, now),
  'policy test': (store, argv, io, now) => policyCommand(store, ['test', ...argv], io, now),
};

/** Takes --db out of argv (it may stand anywhere) and returns its value and the rest. */
function takeDb(argv: string[]): { db: string; rest: string[] } {
  const rest: string[] = [];
  let db: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--db' || arg.startsWith('--db=')) {
      if (db !== undefined) throw new UsageError('--db given more than once');
      db = arg.startsWith('--db=') ? arg.slice(5) : argv[++i];
      if (!db) throw new UsageError('--db needs a value');
    } else {
      rest.push(arg);
    }
  }
  if (db === undefined) throw new UsageError('--db PATH is required');
  return { db, rest };
}

export function main(argv: string[], io: Io, now = Date.now()): number {
  try {
    const key = argv.slice(0, 2).join(' ');
    const command = COMMANDS[key];
    if (!command) throw new UsageError(argv.length ? `unknown command "${key}"` : 'no command given');
    const { db, rest } = takeDb(argv.slice(2));
    const store = openSqliteStore({ path: db });
    try {
      command(store, rest, io, now);
    } finally {
      store.close();
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`burrow-server: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    if (error instanceof StoreError || error instanceof PolicyError || error instanceof HujsonError) {
      io.err(`burrow-server: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

/** `serve`: runs until SIGINT or SIGTERM. */
async function serve(argv: string[], io: Io): Promise<number> {
  try {
    const { db, rest } = takeDb(argv);
    const { flags, positional } = parseArgs(rest, { listen: 'string', 'public-url': 'string' });
    if (positional.length || typeof flags.listen !== 'string')
      throw new UsageError('usage: burrow-server serve --db PATH --listen HOST:PORT [--public-url URL]');
    const { host, port } = parseListen(flags.listen);
    const running = await startServer({
      db,
      host,
      port,
      ...(typeof flags['public-url'] === 'string' ? { publicUrl: flags['public-url'] } : {}),
      log: (m) => io.err(`${m}\n`),
    });
    io.err(`burrow-server listening on ${running.url} (control key ${running.publicKey})\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await running.close();
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

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const io: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };
  const argv = process.argv.slice(2);
  if (argv[0] === 'serve') process.exitCode = await serve(argv.slice(1), io);
  else process.exitCode = main(argv, io);
}
