import type { Store } from './store.js';

/** A PostgreSQL connection URL (libpq's forms: a unix socket directory goes in `?host=`). */
export const isPostgresUrl = (location: string): boolean => /^postgres(ql)?:\/\//i.test(location);

/**
 * The store at `location`: a postgres:// URL, or else the path of a SQLite file. Each back end is
 * imported only when used: loading `pg` and the PostgreSQL modules cost every SQLite admin
 * command about 50 ms of start-up.
 */
export async function openStore(location: string): Promise<Store> {
  if (isPostgresUrl(location)) {
    const { openPgStore } = await import('./pg-store.js');
    return openPgStore({ connection: location });
  }
  const { openSqliteStore } = await import('./sqlite-store.js');
  return openSqliteStore({ path: location });
}
