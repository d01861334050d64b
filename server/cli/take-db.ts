import { loadConfig, type ServerConfig } from '../config.js';
import { UsageError } from './args.js';

/**
 * Takes --db PATH or --config FILE out of argv (either may stand anywhere): every command, `serve`
 * and the admin ones, finds the database the same way. Returns the database, the config if one was
 * given, and the other arguments.
 */
export function takeDb(argv: string[]): {
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
