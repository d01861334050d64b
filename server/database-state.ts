import { StoreError } from './store/errors.js';

export interface DatabaseStateOptions {
  /** A cheap query: the database is reachable when it settles in time. */
  probe: () => Promise<unknown>;
  now?: () => number;
  log?: (message: string) => void;
  /** How long one probe's answer stands, ms: /health probes at most this often however it is asked. */
  cacheMs?: number;
  /** How long a probe may take before the database counts as unreachable, ms. */
  timeoutMs?: number;
}

export type DatabaseReport =
  | { reachable: true }
  | { reachable: false /** Unix ms */; since: number; error: string };

/** Whether a failure means the database could not be reached (nothing was done), not a refusal. */
export const isUnavailable = (error: unknown): error is StoreError =>
  error instanceof StoreError && error.code === 'unavailable';

/**
 * What this instance knows of its database's reachability: from a probe /health runs (cached, so
 * /health cannot be used to load the database), and from what every other use of the database
 * reports (the change feed's polls). Each change is logged once, not at every failing call.
 */
export class DatabaseState {
  private downSince: number | null = null;
  private lastError = '';
  private checkedAt = Number.NEGATIVE_INFINITY;
  private probing: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(private readonly options: DatabaseStateOptions) {
    this.now = options.now ?? Date.now;
  }

  get reachable(): boolean {
    return this.downSince === null;
  }

  /** Something just used the database successfully. */
  up(): void {
    if (this.downSince === null) return;
    const seconds = ((this.now() - this.downSince) / 1000).toFixed(1);
    this.options.log?.(`database reachable again after ${seconds} s: serving changes again`);
    this.downSince = null;
  }

  /** Something just failed to reach the database, for `reason` ("the database is unreachable (...)"). */
  down(reason: string): void {
    this.lastError = reason.replace(/; try again later$/, '');
    if (this.downSince !== null) return;
    this.downSince = this.now();
    this.options.log?.(`${this.lastError}: serving the maps we have, refusing changes`);
  }

  /** The database's reachability, as probed at most `cacheMs` ago (probing now if it is older). */
  async check(): Promise<DatabaseReport> {
    if (this.now() - this.checkedAt >= (this.options.cacheMs ?? 1000)) {
      this.probing ??= this.probeOnce().finally(() => {
        this.probing = null;
      });
      await this.probing;
    }
    return this.downSince === null
      ? { reachable: true }
      : { reachable: false, since: this.downSince, error: this.lastError };
  }

  private async probeOnce(): Promise<void> {
    const timeoutMs = this.options.timeoutMs ?? 1000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new StoreError('unavailable', `the database is unreachable (no answer within ${timeoutMs} ms)`),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.options.probe(), timeout]);
      this.up();
    } catch (error) {
      const { message } = error as Error;
      this.down(isUnavailable(error) ? message : `the database is unreachable (${message})`);
    } finally {
      clearTimeout(timer);
      this.checkedAt = this.now();
    }
  }
}
