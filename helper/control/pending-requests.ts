interface Waiting<Answer> {
  timer: ReturnType<typeof setTimeout>;
  resolve: (answer: Answer) => void;
  reject: (error: Error) => void;
}

/**
 * Requests sent over the control connection that wait for their answer, matched to it by an id
 * the server echoes. Each waits at most its timeout. The server forgets a connection's requests
 * with the connection, so the owner fails every one still waiting when it drops (`failAll`).
 */
export class PendingRequests<Answer> {
  private readonly waiting = new Map<number, Waiting<Answer>>();
  private nextId = 0;

  /** Calls `send` with a fresh id; resolves with the answer `settle` is given for that id. */
  start(send: (id: number) => void, what: string, timeoutMs: number): Promise<Answer> {
    const id = this.nextId;
    this.nextId = (id + 1) % 2 ** 31;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { timer, resolve, reject });
      send(id);
    });
  }

  /** An answer nothing waits for (it came after the timeout) is dropped. */
  settle(id: number, answer: Answer): void {
    const waiting = this.waiting.get(id);
    if (!waiting) return;
    this.waiting.delete(id);
    clearTimeout(waiting.timer);
    waiting.resolve(answer);
  }

  failAll(error: Error): void {
    for (const waiting of this.waiting.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(error);
    }
    this.waiting.clear();
  }
}
