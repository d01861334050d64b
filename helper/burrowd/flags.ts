/**
 * burrowd's command line. Strict: an unknown flag, a missing value or a bad value is an error that
 * names the flag, and nothing starts.
 */

export interface BurrowdFlags {
  /** Standalone WireGuard mode: a wg-quick style file. */
  wgConfig?: string;
  /**
   * Interface name; with --wg-config it defaults to the config file's base name. Alone, it is
   * wireguard-go's mode: a bare interface, configured by `wg` and routed by wg-quick.
   */
  interface?: string;
  stateDir: string;
  socket: string;
  tun: string;
  /** UDP port, 0 to let the kernel choose. */
  port: number;
  /** A user (name or uid) who may change things through the LocalAPI besides root. */
  operator?: string;
  verbose: boolean;
  /** Standalone or bare mode: start in the background and return once the interface is ready. */
  daemon: boolean;
}

export class FlagError extends Error {}

export const USAGE = `usage: burrowd [--wg-config PATH [--interface NAME] [--daemon]] [--state-dir DIR] [--socket PATH]
               [--tun NAME] [--port N] [--operator USER] [--verbose]
       burrowd --interface NAME [--daemon] [--verbose]   (as wireguard-go NAME: configured by wg)`;

const IFNAME = /^[A-Za-z0-9_.=+-]{1,15}$/;

function checkInterface(flag: string, name: string): string {
  if (!IFNAME.test(name) || name === '.' || name === '..') {
    throw new FlagError(`${flag}: "${name}" is not a valid interface name (1-15 letters, digits or _.=+-)`);
  }
  return name;
}

export function parseFlags(argv: string[]): BurrowdFlags {
  const flags: BurrowdFlags = {
    stateDir: '/var/lib/burrow',
    socket: '/run/burrow/burrowd.sock',
    tun: 'burrow0',
    port: 0,
    verbose: false,
    daemon: false,
  };
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
      case '--wg-config':
        flags.wgConfig = value();
        break;
      case '--interface':
        flags.interface = checkInterface(name, value());
        break;
      case '--state-dir':
        flags.stateDir = value();
        break;
      case '--socket':
        flags.socket = value();
        break;
      case '--tun':
        flags.tun = checkInterface(name, value());
        break;
      case '--port': {
        const text = value();
        const port = Number(text);
        if (!/^\d+$/.test(text) || port > 65535)
          throw new FlagError(`--port: "${text}" is not a port number (0-65535)`);
        flags.port = port;
        break;
      }
      case '--operator': {
        const user = value();
        if (!/^[a-z_][a-z0-9_-]{0,31}$|^\d{1,10}$/.test(user))
          throw new FlagError(`--operator: "${user}" is not a user name or uid`);
        flags.operator = user;
        break;
      }
      case '--verbose':
      case '-v':
        if (eq > 0) throw new FlagError(`${name}: takes no value`);
        flags.verbose = true;
        break;
      case '--daemon':
        if (eq > 0) throw new FlagError(`${name}: takes no value`);
        flags.daemon = true;
        break;
      default:
        throw new FlagError(`unknown flag "${arg}"`);
    }
  }
  if (flags.interface !== undefined && flags.wgConfig === undefined) {
    // wireguard-go's mode: the mesh node's flags mean nothing to it.
    const mesh = ['--state-dir', '--socket', '--tun', '--port', '--operator'].filter((f) => seen.has(f));
    if (mesh.length > 0) throw new FlagError(`${mesh[0]}: not with --interface alone (a bare interface)`);
  }
  if (flags.daemon && flags.wgConfig === undefined && flags.interface === undefined) {
    throw new FlagError('--daemon: only with --wg-config or --interface (the mesh node runs under systemd)');
  }
  return flags;
}
