import { CopyError, copySqliteToPostgres } from '../store/copy-to-postgres.js';
import { isPostgresUrl } from '../store/open-store.js';
import type { Io } from './admin.js';
import { CommandError, parseArgs, UsageError } from './args.js';

export const MIGRATE_USAGE =
  'usage: burrow-server migrate --from sqlite:PATH --to postgres://URL [--overwrite]';

/** The URL as it may be printed: without its password. */
function shown(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the PostgreSQL database';
  }
}

/**
 * `migrate`: copies a SQLite database into PostgreSQL (store/copy-to-postgres.ts: everything, in
 * one transaction, counts checked) and prints each table's rows on both sides. The server key stays
 * in its file beside the SQLite database: the instances on PostgreSQL are given it as keyFile, so
 * devices, which pin it, keep working.
 */
export async function migrateCommand(argv: string[], io: Io, now: number): Promise<void> {
  const { flags, positional } = parseArgs(argv, { from: 'string', to: 'string', overwrite: 'boolean' });
  const { from, to } = flags;
  if (positional.length || typeof from !== 'string' || typeof to !== 'string')
    throw new UsageError('migrate needs --from and --to', MIGRATE_USAGE);
  if (!from.startsWith('sqlite:') || from.length === 'sqlite:'.length)
    throw new UsageError(`--from: "${from}" is not sqlite:PATH`, MIGRATE_USAGE);
  if (!isPostgresUrl(to))
    throw new UsageError(`--to: "${shown(to)}" is not a postgres:// URL`, MIGRATE_USAGE);
  const path = from.slice('sqlite:'.length);
  let counts: Awaited<ReturnType<typeof copySqliteToPostgres>>;
  try {
    counts = await copySqliteToPostgres({ from: path, to, overwrite: flags.overwrite === true, now });
  } catch (error) {
    // Whatever went wrong (a refusal, a count, the database's own error), the copy's transaction
    // was rolled back.
    const why = error instanceof CopyError ? error.message : `the copy failed: ${(error as Error).message}`;
    throw new CommandError(`migrate: ${why}; nothing was changed in ${shown(to)}`);
  }
  const width = Math.max(5, ...counts.map((c) => c.table.length));
  io.out(`${'TABLE'.padEnd(width)}  ${'SQLITE'.padStart(8)}  ${'POSTGRES'.padStart(8)}\n`);
  for (const c of counts)
    io.out(`${c.table.padEnd(width)}  ${String(c.source).padStart(8)}  ${String(c.target).padStart(8)}\n`);
  io.err(
    `copied ${counts.length} tables from ${path} to ${shown(to)}, every row count the same. ` +
      `Give every instance on it the server key ${path}.key as keyFile: devices pin that key.\n`,
  );
}
