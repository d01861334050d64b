/**
 * The RFC 6479 sliding-window anti-replay filter, sized as WireGuard sizes it: a ring of
 * 128 blocks of 64 bits, of which one block is slack, so the window is (128 - 1) × 64 = 8128.
 *
 * The rule it implements exactly: a counter is accepted iff it is below `limit`, has not been
 * accepted before, and is either above the highest accepted counter or at most 8128 below it
 * (the highest starts at 0 after a reset, so counter 0 is acceptable once).
 *
 * Counters are JS numbers (safe integers up to 2^53), so the ring is kept as 256 32-bit words
 * rather than 64-bit blocks or BigInts; clearing word by word as the window advances keeps the
 * rule above exact, because a word is reused only once its counters are more than 8160 behind.
 */

export const REPLAY_WINDOW_SIZE = 8128;

const RING_WORDS = 256; // 128 blocks × 2 words; a power of two so `& RING_MASK` selects the slot
const RING_MASK = RING_WORDS - 1;

export class ReplayFilter {
  private highest = 0;
  private readonly ring = new Uint32Array(RING_WORDS);

  /** Forgets every counter, as for a new session key. */
  reset(): void {
    this.highest = 0;
    this.ring.fill(0);
  }

  /**
   * Whether a message with this counter may be processed; if so, the counter is marked as seen.
   * Call only after the message has authenticated, or a forged counter would advance the window.
   * Anything but a non-negative safe integer below `limit` is refused, never thrown on.
   */
  accept(counter: number, limit: number): boolean {
    if (!(counter >= 0 && counter < limit) || !Number.isSafeInteger(counter)) return false;
    // Counters go past 2^32, so word numbers come from division; `&` on them still yields the
    // right low bits because ToInt32 reduces exactly modulo 2^32 (a multiple of the ring size).
    const word = Math.floor(counter / 32);
    if (counter > this.highest) {
      // Clear the words the window slides over; a jump of a whole ring or more clears it all.
      const current = Math.floor(this.highest / 32);
      const advance = Math.min(word - current, RING_WORDS);
      for (let i = 1; i <= advance; i++) this.ring[(current + i) & RING_MASK] = 0;
      this.highest = counter;
    } else if (this.highest - counter > REPLAY_WINDOW_SIZE) {
      return false;
    }
    const slot = word & RING_MASK;
    const bit = 1 << (counter & 31);
    const old = this.ring[slot]!;
    if ((old & bit) !== 0) return false;
    this.ring[slot] = old | bit;
    return true;
  }
}
