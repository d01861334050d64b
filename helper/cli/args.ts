/**
 * Strict command-line parsing for the `burrow` CLI: declared flags only, every error naming the
 * flag. String flags take `--flag value` or `--flag=value`; boolean flags stand alone (true) or take
 * `=true` / `=false` (as Go's flag package does, so `--shields-up=false` reads like tailscale's).
 */
import { type Schema, SchemaError } from '../../src/control/schema.js';

/** A mistake in the command line: reported with the usage text, exit code 2. */
export class UsageError extends Error {}

/** Flag names as typed, dashes included (`--hostname`, `-c`, `-4`). */
export type FlagSpec = Readonly<Record<string, 'string' | 'bool'>>;

export class Args {
  constructor(
    readonly flags: ReadonlyMap<string, string | boolean>,
    readonly positional: readonly string[],
  ) {}

  string(name: string): string | undefined {
    const value = this.flags.get(name);
    return typeof value === 'string' ? value : undefined;
  }

  bool(name: string): boolean | undefined {
    const value = this.flags.get(name);
    return typeof value === 'boolean' ? value : undefined;
  }
}

const isFlag = (arg: string) => arg.length > 1 && arg.startsWith('-');

/**
 * Parses flags and operands. With `stopAtOperand`, parsing ends at the first operand and the rest
 * is returned unread: global flags come before the command, whose own flags are not known yet.
 * `before` holds the flags read so far, so that one given both before and after the command is
 * refused like any repeated flag.
 */
export function parseArgs(
  argv: readonly string[],
  spec: FlagSpec,
  options: { stopAtOperand?: boolean; before?: Args } = {},
): { args: Args; rest: string[] } {
  const flags = new Map(options.before?.flags);
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!isFlag(arg)) {
      if (options.stopAtOperand) return { args: new Args(flags, positional), rest: argv.slice(i) };
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const kind = spec[name];
    if (kind === undefined) throw new UsageError(`unknown flag ${name}`);
    if (flags.has(name)) throw new UsageError(`${name}: given more than once`);
    if (kind === 'bool') {
      flags.set(name, eq > 0 ? parseBool(name, arg.slice(eq + 1)) : true);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && isFlag(value))) throw new UsageError(`${name}: needs a value`);
    flags.set(name, value);
  }
  return { args: new Args(flags, positional), rest: [] };
}

export function parseBool(flag: string, text: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new UsageError(`${flag}: "${text}" is not true or false`);
}

/** A comma-separated list such as `--advertise-routes 10.0.0.0/8,192.168.1.0/24`; empty means none. */
export const parseList = (text: string): string[] =>
  text === '' ? [] : text.split(',').map((s) => s.trim());

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration as Go writes it: "30s", "2m", "1h30m", "500ms". */
export function parseDuration(flag: string, text: string): number {
  if (!/^(\d{1,6}(ms|s|m|h))+$/.test(text))
    throw new UsageError(`${flag}: "${text}" is not a duration such as 30s, 2m or 1h30m`);
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(ms|s|m|h)/g)) ms += Number(n) * UNITS[unit!]!;
  if (ms === 0) throw new UsageError(`${flag}: must be longer than zero`);
  return ms;
}

export function parseCount(flag: string, text: string, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max)
    throw new UsageError(`${flag}: "${text}" is not a count (1 to ${max})`);
  return n;
}

/**
 * Checks a request against its LocalAPI schema before it is sent, so that a bad value is a usage
 * error naming the flag it came from rather than burrowd's complaint about a JSON field.
 */
export function checkRequest<T>(schema: Schema<T>, body: T, flagOf: Readonly<Record<string, string>>): T {
  try {
    return schema.parse(body, 'request');
  } catch (error) {
    if (!(error instanceof SchemaError)) throw error;
    const field = /^request\.(\w+)/.exec(error.path)?.[1] ?? '';
    throw new UsageError(`${flagOf[field] ?? error.path}: ${error.reason}`);
  }
}
