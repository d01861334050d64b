import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { StoreError } from '../errors.js';
import { type Params, Sql, type SqlValue } from '../sql.js';

/**
 * The channel every change is announced on, its payload the new seq: a wake-up, never the data
 * itself (each instance reads the feed from its own position, so a notification it misses loses
 * nothing). postgres/change-listener.ts listens on it.
 */
export const CHANGES_CHANNEL = 'burrow_changes';

/** Serialization failure and deadlock: the transaction lost a race with another and may run again. */
const RETRYABLE = new Set(['40001', '40P01']);
/** A safety net only: writers take turns under WRITE_LOCK, so they do not race each other. */
const MAX_ATTEMPTS = 5;
/**
 * The session-level advisory lock every write takes before it begins. Every write records a change,
 * and seqs come from one counter row: writers are serial anyway, and racing for that row under
 * SERIALIZABLE only turns into a storm of serialization failures (a waiter's snapshot predates the
 * winner's commit). Taken before BEGIN, the lock makes each write's snapshot start after the
 * previous write committed, across every instance; SERIALIZABLE still guards the rare write that
 * bypasses it (a migration, an admin's psql).
 */
const WRITE_LOCK = 0x6275_7277;

/**
 * BIGINT (times in ms, addresses, seqs) read as numbers: every value this schema keeps is below
 * 2^53, and the rows then read exactly as SQLite's do.
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? Number
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** A pool on `connectionString` (a postgres:// URL, or a unix socket directory as host). */
export function openPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool({ max: 10, ...config, types });
  // An idle client losing its connection (database restarted) must not take the server down: the
  // pool drops it and the next query connects afresh.
  pool.on('error', () => {});
  return pool;
}

/** The statement in PostgreSQL's numbered placeholders: `?` in order, or `@name` from one object. */
function prepare(text: string, params: Params): { text: string; values: unknown[] } {
  const named =
    params.length === 1 && params[0] !== null && typeof params[0] === 'object' && !Array.isArray(params[0]);
  const values: unknown[] = [];
  if (named) {
    const byName = params[0] as Record<string, SqlValue>;
    const slots = new Map<string, number>();
    const out = text.replace(/@(\w+)/g, (_, name: string) => {
      let slot = slots.get(name);
      if (slot === undefined) {
        if (!(name in byName)) throw new Error(`no value for @${name}`);
        values.push(byName[name]);
        slot = values.length;
        slots.set(name, slot);
      }
      return `$${slot}`;
    });
    return { text: out, values };
  }
  let n = 0;
  return { text: text.replace(/\?/g, () => `$${++n}`), values: params as unknown[] };
}

interface Open {
  client: pg.PoolClient;
  savepoints: number;
}

/**
 * The pool with the one way to write. A write holds one pooled client from BEGIN to COMMIT; the
 * queries made in its async context (and writes, as savepoints) run on that client, the others on
 * any client of the pool.
 */
export class PgSql extends Sql {
  private readonly open = new AsyncLocalStorage<Open>();

  constructor(readonly pool: pg.Pool) {
    super();
  }

  /**
   * One statement, one round trip: the seqs taken, the rows inserted and the NOTIFY (delivered when
   * the transaction commits, and not at all if it rolls back).
   */
  async appendChanges(networkIds: readonly string[], kind: string, deviceId: string | null, now: number) {
    await this.run(
      `WITH s AS (UPDATE meta SET value = value + @n::bigint WHERE key = 'changes_seq' RETURNING value),
       ins AS (INSERT INTO changes (seq, network_id, kind, device_id, created_at)
               SELECT s.value - @n::bigint + r.i, r.network_id, @kind::text, @device::text, @now::bigint
               FROM s, unnest(@networks::text[]) WITH ORDINALITY AS r(network_id, i))
       SELECT pg_notify(@channel, value::text) FROM s`,
      {
        n: networkIds.length,
        networks: [...networkIds],
        kind,
        device: deviceId,
        now,
        channel: CHANGES_CHANNEL,
      },
    );
  }

  /** Statement names by text: a query's text is fixed but for a few column lists (devices' update). */
  private readonly names = new Map<string, string>();

  private nameOf(text: string): string {
    let name = this.names.get(text);
    if (name === undefined) {
      name = `burrow_${this.names.size + 1}`;
      this.names.set(text, name);
    }
    return name;
  }

  inList(column: string, values: readonly string[]) {
    return { condition: `${column} = ANY(?)`, param: [...values] };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async get<T>(sql: string, ...params: Params): Promise<T | undefined> {
    return (await this.query<T>(sql, params)).rows[0];
  }

  async all<T>(sql: string, ...params: Params): Promise<T[]> {
    return (await this.query<T>(sql, params)).rows;
  }

  async run(sql: string, ...params: Params): Promise<number> {
    return (await this.query(sql, params)).rowCount ?? 0;
  }

  private query<T>(sql: string, params: Params) {
    const { text, values } = prepare(sql, params);
    const client = this.open.getStore()?.client ?? this.pool;
    // Named: each connection parses and plans a statement once, then only binds and runs it.
    return (
      client.query({ name: this.nameOf(text), text, values }) as unknown as Promise<
        pg.QueryResult<T & pg.QueryResultRow>
      >
    ).catch((err: unknown) => {
      throw unreachable(err) ?? err;
    });
  }

  /**
   * Runs `fn` as one SERIALIZABLE transaction under WRITE_LOCK (a savepoint when nested in one),
   * translating unique violations into StoreErrors. Writers on every instance take turns, so two
   * racing on the same rows (the address cursor, an auth key, an invite) cannot both succeed; a
   * serialization failure all the same runs it again from the start, on what the other committed.
   * `fn` must therefore only touch the database.
   */
  async write<T>(fn: () => Promise<T>): Promise<T> {
    const outer = this.open.getStore();
    if (outer) return this.savepoint(outer, fn);
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect().catch((err: unknown) => {
        throw translate(err);
      });
      let broken = false;
      let locked = false;
      // The pool listens for errors only on idle clients: a connection lost while this one is
      // checked out (the database stopped mid-write) would otherwise be an uncaught 'error' event,
      // taking the server down. The failing query reports it; the client is then thrown away.
      const lost = () => {
        broken = true;
      };
      client.on('error', lost);
      try {
        await client.query('SELECT pg_advisory_lock($1)', [WRITE_LOCK]);
        locked = true;
        await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
        const result = await this.open.run({ client, savepoints: 0 }, fn);
        // One round trip for both (a failing COMMIT skips the unlock, which `finally` then does).
        await client.query(`COMMIT; SELECT pg_advisory_unlock(${WRITE_LOCK})`);
        locked = false;
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        const code = (err as { code?: string }).code;
        if (code !== undefined && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) {
          await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
          continue;
        }
        throw translate(err);
      } finally {
        if (locked && !broken) {
          await client.query('SELECT pg_advisory_unlock($1)', [WRITE_LOCK]).catch(() => {
            broken = true;
          });
        }
        client.removeListener('error', lost);
        client.release(broken);
      }
    }
  }

  private async savepoint<T>(open: Open, fn: () => Promise<T>): Promise<T> {
    const name = `s${++open.savepoints}`;
    await open.client.query(`SAVEPOINT ${name}`);
    try {
      const result = await fn();
      await open.client.query(`RELEASE ${name}`);
      return result;
    } catch (err) {
      // A serialization failure dooms the whole transaction: the outer write retries it.
      const code = (err as { code?: string }).code;
      if (code === undefined || !RETRYABLE.has(code))
        await open.client.query(`ROLLBACK TO ${name}; RELEASE ${name}`);
      throw translate(err);
    } finally {
      open.savepoints--;
    }
  }
}

/** Which unique constraints mean which error; anything else unique (a random id colliding) is a bug. */
const UNIQUE_CODES: Record<string, 'duplicate-name' | 'duplicate-key'> = {
  networks_name_key: 'duplicate-name',
  users_name_key: 'duplicate-name',
  devices_network_id_name_key: 'duplicate-name',
  devices_machine_key_key: 'duplicate-key',
  devices_node_key_key: 'duplicate-key',
};

/** How a lost or refused connection shows: the socket's errno, or the driver's words for it. */
const LOST_ERRNO = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const LOST_MESSAGE =
  /Connection terminated|connection error|timeout exceeded when trying to connect|not queryable/i;

/**
 * The StoreError saying the database is unreachable, if `err` means that rather than a bad
 * statement: a connection refused or lost, SQLSTATE class 08 (connection exception), or the server
 * shutting down or starting up (57P01-57P03). Null otherwise.
 */
export function unreachable(err: unknown): StoreError | null {
  if (err instanceof StoreError) return err.code === 'unavailable' ? err : null;
  const { code = '', message = String(err) } = (err ?? {}) as { code?: string; message?: string };
  const lost =
    LOST_ERRNO.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code) || LOST_MESSAGE.test(message);
  return lost
    ? new StoreError('unavailable', `the database is unreachable (${message}); try again later`)
    : null;
}

function translate(err: unknown): unknown {
  const lost = unreachable(err);
  if (lost) return lost;
  if (!(err instanceof pg.DatabaseError) || err.code !== '23505') return err;
  const code = UNIQUE_CODES[err.constraint ?? ''];
  return code ? new StoreError(code, `already taken: ${err.constraint}`) : err;
}
