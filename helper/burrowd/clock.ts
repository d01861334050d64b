import { performance } from 'node:perf_hooks';
import { DEFAULT_LIMITS, type ProtocolLimits, scaleLimits } from '../../src/wireguard/constants.js';

/** Monotonic milliseconds for the protocol core's timers. */
export const monotonic = (): number => performance.now();

/** Unix wall-clock milliseconds for a monotonic time, for TAI64N timestamps and `wg show`. */
export const wallTime = (now: number): number => performance.timeOrigin + now;

/**
 * The protocol's time limits. BURROW_TEST_TIME_SCALE divides them, for tests only: a rekey that
 * takes two minutes in production takes seconds under test. It is refused unless it is a number >= 1.
 */
export function protocolLimits(env: NodeJS.ProcessEnv = process.env): ProtocolLimits {
  const text = env.BURROW_TEST_TIME_SCALE;
  if (text === undefined || text === '') return DEFAULT_LIMITS;
  const factor = Number(text);
  if (!Number.isFinite(factor) || factor < 1) {
    throw new Error(`BURROW_TEST_TIME_SCALE: "${text}" is not a number >= 1`);
  }
  return scaleLimits(factor);
}
