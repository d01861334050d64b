/* The fast path's replay windows from JS: a session's (its handle), or one of a test's own, to hold
 * fp-replay.c to src's replay.ts (helper/fastpath/native-replay.test.ts). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "common.h"
#include "fp-core.h"
#include "fp-napi.h"
#include "native.h"

#define REPLAY_MAGIC 0x46505250u /* "FPRP" */

typedef struct {
  uint32_t magic;
  fp_replay replay;
} replay_box;

/* A counter from JS: false for anything but a non-negative safe integer (replay.ts refuses those). */
static bool counter_of(double d, uint64_t *out) {
  if (!(d >= 0 && d <= 9007199254740991.0) || d != floor(d)) return false;
  *out = (uint64_t)d;
  return true;
}

static uint64_t limit_of(double d) {
  return d >= 9007199254740992.0 ? (1ull << 53) : d > 0 ? (uint64_t)ceil(d) : 0;
}

/* fpReplayAccept(kp | replay, counter, limit): boolean (a session's window, or a test window) */
napi_value bn_fp_replay_accept(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!bn_args(env, info, 3, argv)) return NULL;
  napi_valuetype type;
  void *data = NULL;
  if (napi_typeof(env, argv[0], &type) != napi_ok || type != napi_external ||
      napi_get_value_external(env, argv[0], &data) != napi_ok || !data) {
    return bn_throw_type(env, "not a replay window");
  }
  fp_replay *r = NULL;
  if (*(uint32_t *)data == REPLAY_MAGIC) r = &((replay_box *)data)->replay;
  if (*(uint32_t *)data == 0x46504b50u) r = &((fp_kp *)data)->replay;
  if (!r) return bn_throw_type(env, "not a replay window");
  double counter, limit;
  if (!fp_napi_double_arg(env, argv[1], "counter", &counter) ||
      !fp_napi_double_arg(env, argv[2], "limit", &limit)) {
    return NULL;
  }
  uint64_t c;
  bool ok = counter_of(counter, &c) && fp_replay_accept(r, c, limit_of(limit));
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

static void replay_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

/* fpReplayNew(): a window of its own, for testing it against replay.ts */
napi_value bn_fp_replay_new(napi_env env, napi_callback_info info) {
  (void)info;
  replay_box *box = calloc(1, sizeof *box);
  if (!box) return bn_throw_errno(env, ENOMEM, NULL, "allocating a replay window");
  box->magic = REPLAY_MAGIC;
  napi_value handle;
  if (napi_create_external(env, box, replay_finalize, NULL, &handle) != napi_ok) {
    free(box);
    bn_throw_last(env);
    return NULL;
  }
  return handle;
}

/* fpReplayReset(replay): forgets every counter (a test window only: sessions never reset) */
napi_value bn_fp_replay_reset(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!bn_args(env, info, 1, argv)) return NULL;
  replay_box *box = fp_napi_unwrap(env, argv[0], REPLAY_MAGIC, "replay window");
  if (box) fp_replay_reset(&box->replay);
  return NULL;
}
