/**
 * What the per-table queries (./queries/) need of a database: the one place where the SQLite and
 * PostgreSQL back ends differ below the Store. Queries are written once, in the SQL both dialects
 * share: `?` or `@name` placeholders (each back end rewrites them for its driver), upserts as
 * `ON CONFLICT ... DO UPDATE`, `UPDATE ... RETURNING`, times and booleans as integers, lists as JSON
 * text. What the dialects do not share sits behind the methods here.
 */

/** Values the queries bind: booleans are stored as 0/1 (see `bool`); a list only through `inList`. */
export type SqlValue = string | number | bigint | null | readonly string[];
export type Params = SqlValue[] | [Record<string, SqlValue>];

export abstract class Sql {
  abstract get<T>(sql: string, ...params: Params): Promise<T | undefined>;
  abstract all<T>(sql: string, ...params: Params): Promise<T[]>;
  /** Runs a statement; returns how many rows it changed. */
  abstract run(sql: string, ...params: Params): Promise<number>;
  /**
   * Runs `fn` as one transaction, or as a savepoint when called inside one: all of its queries
   * commit together or not at all, and unique violations come out as StoreErrors. `fn` must only
   * touch the database (PostgreSQL may run it again after losing a race).
   */
  abstract write<T>(fn: () => Promise<T>): Promise<T>;
  /** `column` is one of `values`: the condition and the one parameter that carries the list. */
  abstract inList(column: string, values: readonly string[]): { condition: string; param: SqlValue };
  /**
   * Appends one change per network to the feed, inside the open write, each with the next seq from
   * meta's changes_seq row (whose lock the write holds until it commits, so seq order is commit
   * order), and tells other instances on the database once it commits (PostgreSQL: a NOTIFY, in
   * the same statement; SQLite has one server per file, which needs no telling).
   */
  abstract appendChanges(
    networkIds: readonly string[],
    kind: string,
    deviceId: string | null,
    now: number,
  ): Promise<void>;
  abstract close(): Promise<void>;

  async meta(key: string): Promise<number | undefined> {
    return (await this.get<{ value: number }>('SELECT value FROM meta WHERE key = ?', key))?.value;
  }

  async setMeta(key: string, value: number): Promise<void> {
    await this.run(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      key,
      value,
    );
  }
}

export const bool = (b: boolean): number => (b ? 1 : 0);
export const json = (list: readonly string[]): string => JSON.stringify(list);
export const list = (text: string): string[] => JSON.parse(text) as string[];
