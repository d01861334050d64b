import { ReplayFilter } from '../../src/wireguard/replay.js';

/** An anti-replay window as src/wireguard/replay.test.ts tests it. */
export interface TestedWindow {
  accept(counter: number, limit: number): boolean;
  reset(): void;
}

/**
 * What replay.test.ts tests: replay.ts's ReplayFilter, unless a test file that runs it again sets
 * another (helper/fastpath/native-replay.test.ts: the fast path's window, in C).
 */
export const replayWindow: { make: () => TestedWindow } = { make: () => new ReplayFilter() };
