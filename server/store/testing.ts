import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import type { DeviceIdentity } from './store.js';

/** Test support: a real SQLite file per test, in a temp directory that is always removed. */

/** A fixed "now" for tests: 2025-01-01T00:00:00Z. */
export const T0 = Date.UTC(2025, 0, 1);
export const DAY = 86_400_000;

export interface TempStore {
  store: SqliteStore;
  dir: string;
  path: string;
  /** Closes the store and opens the same file again, as a restarted server would. */
  reopen(): Promise<SqliteStore>;
}

export function withTempStore(options: Omit<SqliteStoreOptions, 'path'> = {}): TempStore {
  const t = {} as TempStore;
  const open = () => openSqliteStore({ path: t.path, now: T0, ...options });
  beforeEach(() => {
    t.dir = mkdtempSync(join(tmpdir(), 'burrow-store-'));
    t.path = join(t.dir, 'data', 'burrow.db');
    t.store = open();
  });
  afterEach(async () => {
    await t.store.close();
    rmSync(t.dir, { recursive: true, force: true });
  });
  t.reopen = async () => {
    await t.store.close();
    t.store = open();
    return t.store;
  };
  return t;
}

/** A key as WireGuard would make it: base64 of 32 random bytes. */
/** `f(0)`, `f(1)`, ... `f(n - 1)`, one after another (store calls in order, as a loop would). */
export async function times<T>(n: number, f: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await f(i));
  return out;
}

/** `f` of each item, one after another. */
export async function mapEach<T, U>(items: readonly T[], f: (item: T) => Promise<U>): Promise<U[]> {
  const out: U[] = [];
  for (const item of items) out.push(await f(item));
  return out;
}

export function randomKey(): string {
  return randomBytes(32).toString('base64');
}

export function identity(hostname = 'host'): DeviceIdentity {
  return { machineKey: randomKey(), nodeKey: randomKey(), discoKey: randomKey(), hostname };
}
