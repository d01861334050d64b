/**
 * Strict command-line parsing for burrow-server: declared flags only, values checked, every error
 * naming the flag. Booleans take no value; `--flag=value` and `--flag value` both work.
 */

export class UsageError extends Error {
  constructor(
    message: string,
    /** The usage to show with it, when not the program's whole usage. */
    readonly usage?: string,
  ) {
    super(message);
  }
}

/** A command that was used right but cannot be done (exit 1, its message alone). */
export class CommandError extends Error {}

export interface FlagSpec {
  [name: string]: 'string' | 'boolean';
}

export interface Parsed {
  flags: Record<string, string | boolean>;
  positional: string[];
}

export function parseArgs(argv: string[], spec: FlagSpec): Parsed {
  const flags: Record<string, string | boolean> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq > 0 ? eq : undefined);
    const kind = spec[name];
    if (kind === undefined) throw new UsageError(`unknown flag --${name}`);
    if (name in flags) throw new UsageError(`--${name} given more than once`);
    if (kind === 'boolean') {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--')))
      throw new UsageError(`--${name} needs a value`);
    flags[name] = value;
  }
  return { flags, positional };
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** "90d", "12h", "30m", "45s", "2w" as milliseconds. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d{1,6})([smhdw])$/.exec(text);
  if (!m) throw new UsageError(`${flag}: "${text}" is not a duration such as 90d, 12h or 30m`);
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  if (ms <= 0) throw new UsageError(`${flag}: must be longer than zero`);
  return ms;
}

/** HOST:PORT or [V6]:PORT for --listen. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new UsageError(`--listen: "${text}" is not HOST:PORT`);
  return { host: m[1] ?? m[2]!, port };
}
