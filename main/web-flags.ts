/**
 * The command line of `npm run web` (main/web.ts). Strict like burrowd's: an unknown flag or a bad
 * value is an error that names the flag. There is deliberately no flag that skips the check of the
 * socket's owner, only one that names the owner, for a burrowd you run as yourself.
 */
import { DEFAULT_SOCKET } from './helper-state.js';

export interface WebFlags {
  socket: string;
  /** 0 for a random free port. */
  port: number;
  /** The uid that must own the socket (root unless told otherwise). */
  socketOwner: number;
  help: boolean;
}

export class FlagError extends Error {}

export const USAGE = `usage: npm run web -- [--socket PATH] [--port N] [--socket-owner UID]
  --socket PATH       burrowd's LocalAPI socket (default ${DEFAULT_SOCKET})
  --port N            port on 127.0.0.1 (default 0: a random free port)
  --socket-owner UID  the uid that must own the socket (default 0, root); for development
                      against a burrowd you run as yourself`;

/** A flag's whole-number value, from 0 to `max`. */
export const flagNumber = (flag: string, text: string, max: number): number => {
  if (!/^\d{1,10}$/.test(text) || Number(text) > max)
    throw new FlagError(`${flag}: "${text}" is not a number from 0 to ${max}`);
  return Number(text);
};

export function parseWebFlags(argv: readonly string[]): WebFlags {
  const flags: WebFlags = { socket: DEFAULT_SOCKET, port: 0, socketOwner: 0, help: false };
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (seen.has(name)) throw new FlagError(`${name}: given more than once`);
    seen.add(name);
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new FlagError(`${name}: needs a value`);
      return next;
    };
    switch (name) {
      case '--socket':
        flags.socket = value();
        break;
      case '--port':
        flags.port = flagNumber(name, value(), 65535);
        break;
      case '--socket-owner':
        flags.socketOwner = flagNumber(name, value(), 4294967294);
        break;
      case '--help':
      case '-h':
        flags.help = true;
        break;
      default:
        throw new FlagError(`unknown flag "${arg}"`);
    }
  }
  return flags;
}
