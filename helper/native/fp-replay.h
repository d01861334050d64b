/*
 * The anti-replay window of src/wireguard/replay.ts, in C for the fast path: RFC 6479's ring of
 * 128 blocks of 64 bits with one block of slack, so the window is (128 - 1) x 64 = 8128. The rule
 * is the same: a counter is accepted iff it is below `limit`, was not accepted before, and is above
 * the highest accepted one or at most 8128 below it (the highest starts at 0, so counter 0 is
 * acceptable once). helper/fastpath/native-replay.test.ts runs replay.ts's tests against it.
 */
#ifndef BURROW_NATIVE_FP_REPLAY_H
#define BURROW_NATIVE_FP_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define FP_REPLAY_WINDOW 8128u
#define FP_REPLAY_WORDS 256u /* 32-bit words, as replay.ts keeps them */

typedef struct {
  uint64_t highest;
  uint32_t ring[FP_REPLAY_WORDS];
} fp_replay;

void fp_replay_reset(fp_replay *r);
/* Call only after the message authenticated, or a forged counter would move the window. */
bool fp_replay_accept(fp_replay *r, uint64_t counter, uint64_t limit);

#endif
