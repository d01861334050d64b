/**
 * replay.ts's tests (src/wireguard/replay.test.ts), run again against the fast path's window in C
 * (helper/native/fp-replay.c): same rule, same edges, same random traffic.
 */
import { replayWindow } from '../../test/support/replay-window.js';
import { nativeReplayWindow } from './native-fast-path.js';

replayWindow.make = nativeReplayWindow;

await import('../../src/wireguard/replay.test.js');
