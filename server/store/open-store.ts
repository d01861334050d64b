import { openPgStore } from './pg-store.js';
import { openSqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

/** A PostgreSQL connection URL (libpq's forms: a unix socket directory goes in `?host=`). */
export const isPostgresUrl = (location: string): boolean => /^postgres(ql)?:\/\//i.test(location);

/** The store at `location`: a postgres:// URL, or else the path of a SQLite file. */
export async function openStore(location: string): Promise<Store> {
  return isPostgresUrl(location)
    ? openPgStore({ connection: location })
    : openSqliteStore({ path: location });
}
