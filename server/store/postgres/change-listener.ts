import pg from 'pg';
import { CHANGES_CHANNEL } from './db.js';

export interface ChangeListenerOptions {
  /** A postgres:// URL, or libpq's fields (a unix socket directory as host). */
  connection: string | pg.ClientConfig;
  /**
   * Called for every change another transaction committed, and once after each (re)connection:
   * notifications sent while the connection was down are gone, so the caller catches up by seq.
   */
  wake: () => void;
  log?: (message: string) => void;
  /** The first wait before reconnecting, ms; it doubles on each failure up to maxDelayMs. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** How long one connection attempt may take before it counts as failed. */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * One dedicated connection LISTENing on the change channel, so every instance on the database
 * hears of a change as its transaction commits instead of at its next poll. A notification is only
 * a wake-up: the caller reads the feed from its own position. The connection is re-made with
 * backoff whenever it drops (database restarted, backend terminated), and `wake` is called once it
 * is back, so what was committed meanwhile is read then.
 */
export class ChangeListener {
  private client: pg.Client | null = null;
  private closed = false;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private delay: number;
  /** Set while the connection is down, so the outage is logged once, not at every attempt. */
  private downSince: number | null = null;

  private constructor(private readonly options: ChangeListenerOptions) {
    this.delay = options.minDelayMs ?? 100;
  }

  /** Listens from now on; settles after the first attempt (retrying in the background if it failed). */
  static async open(options: ChangeListenerOptions): Promise<ChangeListener> {
    const listener = new ChangeListener(options);
    await listener.connect();
    return listener;
  }

  /** Whether the LISTEN connection is up now. */
  get listening(): boolean {
    return this.client !== null && this.downSince === null;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    this.retry = null;
    if (this.closed) return;
    const { connection } = this.options;
    const client = new pg.Client({
      ...(typeof connection === 'string' ? { connectionString: connection } : connection),
      application_name: 'burrow-server change listener',
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
    });
    this.client = client;
    // A dropped connection emits 'error' (and 'end'): unhandled, it would take the server down.
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, null));
    client.on('notification', (n) => {
      if (n.channel === CHANGES_CHANNEL && this.client === client) this.options.wake();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      this.lost(client, error as Error);
      return;
    }
    if (this.client !== client) return; // closed, or lost while LISTEN was being sent
    this.delay = this.options.minDelayMs ?? 100;
    if (this.downSince !== null) {
      this.options.log?.(
        `change feed: listening again after ${((Date.now() - this.downSince) / 1000).toFixed(1)} s`,
      );
      this.downSince = null;
    }
    this.options.wake(); // what was committed while nobody listened
  }

  private lost(client: pg.Client, error: Error | null): void {
    if (this.client !== client) return; // already handled (an error is followed by its 'end')
    this.client = null;
    client.end().catch(() => {});
    if (this.closed) return;
    if (this.downSince === null) {
      this.downSince = Date.now();
      const why = error ? `: ${error.message}` : '';
      this.options.log?.(`change feed: the LISTEN connection dropped${why}; reconnecting, polling meanwhile`);
    }
    this.retry = setTimeout(() => void this.connect(), this.delay);
    this.delay = Math.min(this.delay * 2, this.options.maxDelayMs ?? 5000);
  }
}
