/**
 * burrow, the command line for burrowd. It talks only to burrowd's LocalAPI on a unix socket.
 * Exit codes: 0 success, 1 failure (burrowd refused, unreachable, no pong), 2 usage error.
 */
import { pathToFileURL } from 'node:url';
import { LocalApiCallError, LocalApiClient } from '../../src/localapi/client.js';
import { type FlagSpec, parseArgs, UsageError } from './args.js';
import { CliError, type Command, type Context, type Io } from './command.js';
import { dnsQueryCommand, dnsStatusCommand } from './dns.js';
import { pingCommand } from './ping.js';
import { exitNodeListCommand, setCommand } from './prefs.js';
import {
  shareAcceptCommand,
  shareCreateCommand,
  shareDeclineCommand,
  shareListCommand,
  shareRevokeCommand,
} from './share.js';
import { ipCommand, statusCommand } from './status.js';
import { traceCommand } from './trace.js';
import { downCommand, logoutCommand, upCommand } from './up.js';
import { versionCommand } from './version.js';

const DEFAULT_SOCKET = '/run/burrow/burrowd.sock';

/** Commands by name; a group's subcommands are named "group sub". */
const COMMANDS: Readonly<Record<string, Command>> = {
  up: upCommand,
  down: downCommand,
  status: statusCommand,
  ip: ipCommand,
  ping: pingCommand,
  trace: traceCommand,
  set: setCommand,
  'exit-node list': exitNodeListCommand,
  'dns status': dnsStatusCommand,
  'dns query': dnsQueryCommand,
  'share create': shareCreateCommand,
  'share list': shareListCommand,
  'share accept': shareAcceptCommand,
  'share decline': shareDeclineCommand,
  'share revoke': shareRevokeCommand,
  logout: logoutCommand,
  version: versionCommand,
};
const GROUPS = new Set(
  Object.keys(COMMANDS).flatMap((name) => (name.includes(' ') ? [name.split(' ')[0]] : [])),
);

/** Flags every command takes, before or after its name. */
const GLOBAL_FLAGS: FlagSpec = { '--socket': 'string', '--json': 'bool' };

/** A command's synopsis after `prefix`, its continuation lines lined up under its first flag. */
const synopsis = (prefix: string, command: Command) =>
  prefix + command.usage.replaceAll('\n', `\n${' '.repeat(prefix.length + command.usage.indexOf(' ') + 1)}`);

const listUsage = (commands: Command[]) => commands.map((c) => synopsis('  ', c)).join('\n');

const USAGE = `usage: burrow [--socket PATH] COMMAND [FLAGS] [--json]
${listUsage(Object.values(COMMANDS))}
--socket defaults to ${DEFAULT_SOCKET}. Exit codes: 0 success, 1 failure, 2 usage error.`;

/** A usage error before a command was found: the usage of the group it names, or of everything. */
class GroupUsageError extends UsageError {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

/** Finds the command named at the start of `words`, with what follows its name. */
function lookup(words: string[]): { command: Command; argv: string[] } {
  const [first, second] = words;
  if (first === undefined) throw new UsageError('no command given');
  if (GROUPS.has(first)) {
    const command = second === undefined ? undefined : COMMANDS[`${first} ${second}`];
    if (command === undefined) {
      const names = Object.keys(COMMANDS).filter((n) => n.startsWith(`${first} `));
      const why = second === undefined ? 'needs a subcommand' : `unknown subcommand "${second}"`;
      throw new GroupUsageError(`${first}: ${why}`, `usage:\n${listUsage(names.map((n) => COMMANDS[n]!))}`);
    }
    return { command, argv: words.slice(2) };
  }
  const command = COMMANDS[first];
  if (command === undefined) throw new UsageError(`unknown command "${first}"`);
  return { command, argv: words.slice(1) };
}

function checkOperands(operands: readonly string[], given: readonly string[]): void {
  const required = operands.filter((o) => !o.endsWith('?'));
  if (given.length < required.length) throw new UsageError(`missing ${required[given.length]}`);
  if (given.length > operands.length) throw new UsageError(`unexpected argument "${given[operands.length]}"`);
}

export async function main(
  argv: readonly string[],
  io: Io,
  connect: (socketPath: string) => LocalApiClient = (socketPath) => new LocalApiClient(socketPath),
): Promise<number> {
  let command: Command | undefined;
  try {
    if (argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
      io.out(`${USAGE}\n`);
      return 0;
    }
    const global = parseArgs(argv, GLOBAL_FLAGS, { stopAtOperand: true });
    const found = lookup(global.rest);
    command = found.command;
    if (found.argv.includes('--help') || found.argv.includes('-h')) {
      io.out(`${synopsis('usage: burrow ', command)}\n`);
      return 0;
    }
    const { args } = parseArgs(found.argv, { ...GLOBAL_FLAGS, ...command.flags }, { before: global.args });
    checkOperands(command.operands, args.positional);
    const socketPath = args.string('--socket') ?? DEFAULT_SOCKET;
    if (socketPath === '') throw new UsageError('--socket: needs a path');
    let client: LocalApiClient | undefined;
    const ctx: Context = {
      io,
      json: args.bool('--json') === true,
      client: () => (client ??= connect(socketPath)),
    };
    return await command.run(ctx, args);
  } catch (error) {
    if (error instanceof UsageError) {
      const usage =
        error instanceof GroupUsageError
          ? error.usage
          : command
            ? synopsis('usage: burrow ', command)
            : USAGE;
      io.err(`burrow: ${error.message}\n${usage}\n`);
      return 2;
    }
    if (error instanceof LocalApiCallError || error instanceof CliError) {
      io.err(`burrow: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

/** The program: main() on this process's arguments and stdio, setting its exit code. */
export async function run(): Promise<void> {
  const io: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };
  process.exitCode = await main(process.argv.slice(2), io);
}

// Run as a script (bin/burrow runs dist/helper/cli/main.js). The packaged burrow bundles this file
// into CommonJS, where import.meta.url is undefined, and calls run() itself (scripts/build-package.ts).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void run();
