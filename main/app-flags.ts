/**
 * The desktop app's own command-line flags: which burrowd to talk to, as in web mode
 * (web-flags.ts). Electron's argv also carries the app's path (when not packaged) and Chromium's
 * switches (`--no-sandbox`, `--ozone-platform=...`), which are not ours to refuse, so anything
 * else is left alone; a flag of ours with a bad or missing value is an error that names it.
 */
import { DEFAULT_SOCKET } from './helper-state.js';
import { FlagError, flagNumber } from './web-flags.js';

export { FlagError };

export interface AppFlags {
  socket: string;
  /** The uid that must own the socket (root unless told otherwise). */
  socketOwner: number;
}

export const APP_USAGE = `Burrow [--socket PATH] [--socket-owner UID]
  --socket PATH       burrowd's LocalAPI socket (default ${DEFAULT_SOCKET})
  --socket-owner UID  the uid that must own the socket (default 0, root); for development
                      against a burrowd you run as yourself`;

const MAX_UID = 4294967294;

/** Reads our flags out of `argv` (process.argv without the executable). */
export function parseAppFlags(argv: readonly string[]): AppFlags {
  const flags: AppFlags = { socket: DEFAULT_SOCKET, socketOwner: 0 };
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (name !== '--socket' && name !== '--socket-owner') continue;
    if (seen.has(name)) throw new FlagError(`${name}: given more than once`);
    seen.add(name);
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new FlagError(`${name}: needs a value`);
    }
    if (name === '--socket') {
      if (value === '') throw new FlagError('--socket: needs a path');
      flags.socket = value;
    } else flags.socketOwner = flagNumber(name, value, MAX_UID);
  }
  return flags;
}
