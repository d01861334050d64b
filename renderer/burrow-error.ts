/**
 * How a failed call looks to the UI, whichever API carried it: a message for the user and an
 * HTTP-like status, so the UI can tell "burrowd is away" (0, 503) from "burrowd said no".
 */
import { ipcError } from '../src/ipc/schema.js';

/** A refused or failed call: burrowd's (or the app's) message and an HTTP-like status (0: no answer). */
export class BurrowError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'BurrowError';
  }
}

/** What the UI reports when something arrives that the contract does not allow. */
export type ProblemReporter = (error: BurrowError) => void;

/**
 * Any rejection as a BurrowError. The preload and web mode reject with `{error, status}` (or an
 * Error carrying `status`); anything else is a fault in the app, not burrowd being away, so 500.
 */
export function toBurrowError(error: unknown): BurrowError {
  if (error instanceof BurrowError) return error;
  try {
    const { error: message, status } = ipcError.parse(error);
    return new BurrowError(message, status);
  } catch {
    // Not the refusal shape: fall through to a plain Error.
  }
  if (error instanceof Error) {
    const status = (error as { status?: unknown }).status;
    return new BurrowError(error.message, typeof status === 'number' ? status : 500);
  }
  return new BurrowError(String(error), 500);
}
