#include "fp-replay.h"

#include <string.h>

void fp_replay_reset(fp_replay *r) {
  memset(r, 0, sizeof *r);
}

bool fp_replay_accept(fp_replay *r, uint64_t counter, uint64_t limit) {
  if (counter >= limit) return false;
  uint64_t word = counter / 32;
  if (counter > r->highest) {
    /* Clear the words the window slides over; a jump of a whole ring or more clears it all. */
    uint64_t current = r->highest / 32;
    uint64_t advance = word - current < FP_REPLAY_WORDS ? word - current : FP_REPLAY_WORDS;
    for (uint64_t i = 1; i <= advance; i++) r->ring[(current + i) & (FP_REPLAY_WORDS - 1)] = 0;
    r->highest = counter;
  } else if (r->highest - counter > FP_REPLAY_WINDOW) {
    return false;
  }
  uint32_t slot = (uint32_t)(word & (FP_REPLAY_WORDS - 1));
  uint32_t bit = 1u << (counter & 31);
  if (r->ring[slot] & bit) return false;
  r->ring[slot] |= bit;
  return true;
}
