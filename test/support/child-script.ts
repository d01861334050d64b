/**
 * Helpers for the small scripts that tests run inside a namespace (`ip netns exec NS node ...`):
 * one JSON result line on stdout, a hard time limit, and errors reported as data.
 */

export function done(result: unknown): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Exits with code 3 and a message on stderr if the script is still running after `ms`. */
export function timeout(ms: number, what: string): NodeJS.Timeout {
  return setTimeout(() => {
    process.stderr.write(`timed out: ${what}\n`);
    process.exit(3);
  }, ms);
}

/** What `fn` threw, as plain data for the parent test to check; undefined if it did not throw. */
export function errorOf(fn: () => unknown): { name: string; message: string; code?: string } | undefined {
  try {
    fn();
  } catch (e) {
    const err = e as Error & { code?: string };
    return { name: err.name, message: err.message, ...(err.code ? { code: err.code } : {}) };
  }
  return undefined;
}
