/**
 * At most `running` tasks at a time, and at most `waiting` queued behind them; beyond that a task is
 * refused at once. For expensive work strangers can ask for (a password hash costs ~100 ms of a
 * core and 32 MiB), so that a flood costs the server a fixed amount, not one unit per request.
 */
export class ConcurrencyGate {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(
    private readonly running: number,
    private readonly waiting: number,
  ) {}

  /** Runs `task` when a slot is free; null (and `task` never runs) when the queue is full. */
  run<T>(task: () => Promise<T>): Promise<T> | null {
    if (this.active >= this.running && this.queue.length >= this.waiting) return null;
    return this.slot().then(async () => {
      try {
        return await task();
      } finally {
        this.active--;
        this.queue.shift()?.();
      }
    });
  }

  private slot(): Promise<void> {
    if (this.active < this.running) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.queue.push(() => {
        this.active++;
        resolve();
      }),
    );
  }
}
