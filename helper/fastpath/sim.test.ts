/**
 * The protocol core's simulation tests (src/wireguard, on test/support/wg-sim.ts), run again with
 * burrowd's native fast path attached to every simulated device: transport messages of installed
 * sessions then go through C (sealing, opening, counters, the replay window, timers and byte
 * counts in shared memory), and every test must still pass as it is.
 */
import { simFastPath } from '../../test/support/wg-sim.js';
import { NativeFastPath } from './native-fast-path.js';

simFastPath.make = (options) => new NativeFastPath(options);

await import('../../src/wireguard/device.test.js');
await import('../../src/wireguard/sessions.test.js');
await import('../../src/wireguard/rejections.test.js');
await import('../../src/wireguard/fuzz.test.js');
