/*
 * The fast path's JavaScript interface (helper/fastpath/native-fast-path.ts is its one user): the
 * core's peers, sessions and routes as the TypeScript core installs them. Its per-packet sealing and
 * opening for calls from JS is in fp-napi-packet.c, attaching the I/O engine to a TUN device and a
 * UDP socket in fp-napi-engine.c, and the replay window's test handles in fp-napi-replay.c.
 *
 * Handles are externals; the state C and JS share is a Float64Array over C memory. A core, peer or
 * session is freed once C is done with it and JS has collected both its handle and its array.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "fp-core.h"
#include "fp-engine.h"
#include "fp-napi.h"
#include "native.h"

#define CORE_MAGIC 0x46504352u   /* "FPCR" */

/* ---- handles --------------------------------------------------------------------------------- */

static void release_core(fp_core *c) {
  if (c->refs == 1) {
    if (c->engine) fp_engine_detach(c->engine);
    free(((core_box *)c)->scratch);
  }
  fp_core_release(c);
}

static void core_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  fp_core *c = data;
  if (c->engine) fp_engine_detach(c->engine); /* nothing can use it any more */
  release_core(c);
}

static void peer_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  fp_peer_release(data);
}

static void peer_shared_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  fp_peer_release(hint);
}

static void kp_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  fp_kp_release(data);
}

static void kp_shared_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  fp_kp_release(hint);
}

static void core_shared_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  release_core(hint);
}

void *fp_napi_unwrap(napi_env env, napi_value value, uint32_t magic, const char *what) {
  napi_valuetype type;
  void *data = NULL;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external ||
      napi_get_value_external(env, value, &data) != napi_ok || data == NULL || *(uint32_t *)data != magic) {
    bn_throw_type(env, "not a %s handle", what);
    return NULL;
  }
  return data;
}

fp_core *fp_napi_core_arg(napi_env env, napi_value v) {
  return fp_napi_unwrap(env, v, CORE_MAGIC, "fast path");
}

static fp_peer *peer_arg(napi_env env, napi_value v) {
  return fp_napi_unwrap(env, v, 0x46505045u, "fast path peer");
}

static fp_kp *kp_arg(napi_env env, napi_value v) {
  return fp_napi_unwrap(env, v, 0x46504b50u, "fast path session");
}

bool fp_napi_bytes_arg(napi_env env, napi_value v, const char *what, uint8_t **data, size_t *len) {
  bool typed = false;
  napi_typedarray_type type = napi_int8_array;
  void *raw = NULL;
  if (napi_is_typedarray(env, v, &typed) == napi_ok && typed) {
    napi_get_typedarray_info(env, v, &type, len, &raw, NULL, NULL);
  }
  if (!typed || type != napi_uint8_array) {
    bn_throw_type(env, "%s must be a Uint8Array", what);
    return false;
  }
  *data = raw;
  return true;
}

bool fp_napi_double_arg(napi_env env, napi_value v, const char *what, double *out) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    bn_throw_type(env, "%s must be a number", what);
    return false;
  }
  return true;
}

/* { handle, shared } with `shared` a Float64Array over `fields` doubles at `memory`. */
static napi_value handle_pair(napi_env env, void *object, napi_finalize object_done, double *memory, size_t fields,
                              napi_finalize memory_done) {
  napi_value result, handle, buffer, shared;
  BN_CALL(env, napi_create_object(env, &result));
  BN_CALL(env, napi_create_external(env, object, object_done, NULL, &handle));
  BN_CALL(env, napi_create_external_arraybuffer(env, memory, fields * sizeof(double), memory_done, object, &buffer));
  BN_CALL(env, napi_create_typedarray(env, napi_float64_array, fields, buffer, 0, &shared));
  BN_CALL(env, napi_set_named_property(env, result, "handle", handle));
  BN_CALL(env, napi_set_named_property(env, result, "shared", shared));
  return result;
}

/* ---- the core -------------------------------------------------------------------------------- */

/* fpCreate(limits: Float64Array(6), mtu, roaming, dualStack, layout): { handle, shared } */
napi_value bn_fp_create(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!bn_args(env, info, 5, argv)) return NULL;
  bool typed = false;
  napi_typedarray_type type = napi_int8_array;
  size_t count = 0;
  void *data = NULL;
  napi_is_typedarray(env, argv[0], &typed);
  if (typed) napi_get_typedarray_info(env, argv[0], &type, &count, &data, NULL, NULL);
  if (!typed || type != napi_float64_array || count != 6) return bn_throw_type(env, "limits must be a Float64Array(6)");
  const double *l = data;
  fp_limits limits = {l[0], l[1], l[2], l[3], l[4], l[5]};
  uint32_t mtu, layout;
  bool roaming = false, dual = true;
  if (!bn_get_u32(env, argv[1], "mtu", &mtu) || !bn_get_u32(env, argv[4], "layout", &layout)) return NULL;
  BN_CALL(env, napi_get_value_bool(env, argv[2], &roaming));
  BN_CALL(env, napi_get_value_bool(env, argv[3], &dual));
  if (layout != FP_LAYOUT_VERSION) {
    return bn_throw_range(env, "fast path layout %u, expected %u: rebuild the addon", layout, FP_LAYOUT_VERSION);
  }
  if (mtu < 576 || mtu > MAX_PACKET) return bn_throw_range(env, "mtu must be 576 to %u", MAX_PACKET);
  core_box *box = calloc(1, sizeof *box);
  if (box) box->scratch = malloc(MAX_PACKET + 64);
  if (!box || !box->scratch || fp_core_init(&box->core, &limits, mtu, roaming, dual ? AF_INET6 : AF_INET) != 0) {
    if (box) {
      box->core.refs = 1;
      release_core(&box->core);
    }
    return bn_throw_errno(env, ENOMEM, NULL, "creating the fast path");
  }
  box->core.magic = CORE_MAGIC;
  return handle_pair(env, &box->core, core_finalize, box->core.shared, FP_CORE_FIELDS, core_shared_finalize);
}

/* fpPeerAdd(core): { handle, shared, slot } */
napi_value bn_fp_peer_add(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!bn_args(env, info, 1, argv)) return NULL;
  fp_core *c = fp_napi_core_arg(env, argv[0]);
  if (!c) return NULL;
  fp_peer *p = fp_peer_add(c);
  if (!p) return bn_throw_errno(env, ENOMEM, NULL, "adding a fast path peer");
  for (int i = 0; i < FP_PEER_FIELDS; i++) p->shared[i] = 0;
  napi_value result = handle_pair(env, p, peer_finalize, p->shared, FP_PEER_FIELDS, peer_shared_finalize);
  if (result) bn_set_double(env, result, "slot", p->slot);
  return result;
}

/* fpPeerRemove(core, peer) */
napi_value bn_fp_peer_remove(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!bn_args(env, info, 2, argv)) return NULL;
  fp_core *c = fp_napi_core_arg(env, argv[0]);
  fp_peer *p = c ? peer_arg(env, argv[1]) : NULL;
  if (p) fp_peer_remove(c, p);
  return NULL;
}

/* fpPeerEndpoint(core, peer, host: string | null, port) */
napi_value bn_fp_peer_endpoint(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!bn_args(env, info, 4, argv)) return NULL;
  fp_core *c = fp_napi_core_arg(env, argv[0]);
  fp_peer *p = c ? peer_arg(env, argv[1]) : NULL;
  if (!p || p->removed) return NULL;
  napi_valuetype type;
  napi_typeof(env, argv[2], &type);
  p->endpoint_known = type == napi_string;
  p->has_endpoint = false;
  if (!p->endpoint_known) return NULL;
  char host[128];
  size_t len = 0;
  uint32_t port;
  if (!bn_get_u32(env, argv[3], "port", &port)) return NULL;
  napi_get_value_string_utf8(env, argv[2], host, sizeof host, &len);
  /* What is not an address literal (a mesh peer's virtual endpoint) stays the TS core's to send to. */
  if (len < sizeof host - 1 && port > 0 && port <= 65535 && bn_parse_host(c->family, host, &p->endpoint) == NULL) {
    p->has_endpoint = true;
    if (c->family == AF_INET6) {
      p->endpoint.v6.sin6_port = htons((uint16_t)port);
      p->endpoint_len = sizeof p->endpoint.v6;
    } else {
      p->endpoint.v4.sin_port = htons((uint16_t)port);
      p->endpoint_len = sizeof p->endpoint.v4;
    }
  }
  return NULL;
}

/* fpPeerDirect(core, peer, host | null, port, until): a mesh peer's direct path, trusted until then */
napi_value bn_fp_peer_direct(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!bn_args(env, info, 5, argv)) return NULL;
  fp_core *c = fp_napi_core_arg(env, argv[0]);
  fp_peer *p = c ? peer_arg(env, argv[1]) : NULL;
  if (!p || p->removed) return NULL;
  double until;
  uint32_t port;
  if (!fp_napi_double_arg(env, argv[4], "until", &until) || !bn_get_u32(env, argv[3], "port", &port)) return NULL;
  napi_valuetype type;
  napi_typeof(env, argv[2], &type);
  char host[128];
  size_t len = 0;
  if (type == napi_string) napi_get_value_string_utf8(env, argv[2], host, sizeof host, &len);
  p->direct_until = -INFINITY;
  if (type == napi_string && len < sizeof host - 1 && port > 0 && port <= 65535 &&
      bn_parse_host(c->family, host, &p->direct) == NULL) {
    if (c->family == AF_INET6) {
      p->direct.v6.sin6_port = htons((uint16_t)port);
      p->direct_len = sizeof p->direct.v6;
    } else {
      p->direct.v4.sin_port = htons((uint16_t)port);
      p->direct_len = sizeof p->direct.v4;
    }
    p->direct_until = until;
  }
  return NULL;
}

/* fpSetGated(core, gated): whether a packet filter judges inbound packets (fp-core.h) */
napi_value bn_fp_set_gated(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!bn_args(env, info, 2, argv)) return NULL;
  fp_core *c = fp_napi_core_arg(env, argv[0]);
  bool gated = false;
  if (!c) return NULL;
  BN_CALL(env, napi_get_value_bool(env, argv[1], &gated));
  c->gated = gated;
  return NULL;
}

/* fpFilterPasses(packet): fp_filter_passes, for the test that holds it to the filter's verdicts */
napi_value bn_fp_filter_passes(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!bn_args(env, info, 1, argv)) return NULL;
  uint8_t *packet;
  size_t len;
  if (!fp_napi_bytes_arg(env, argv[0], "packet", &packet, &len)) return NULL;
  napi_value result;
  napi_get_boolean(env, fp_filter_passes(packet, len), &result);
  return result;
}

/* fpPeerSessions(core, peer, current | null, next | null) */
napi_value bn_fp_peer_sessions(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!bn_args(env, info, 4, argv)) return NULL;
  fp_core *c = fp_napi_core_arg(env, argv[0]);
  fp_peer *p = c ? peer_arg(env, argv[1]) : NULL;
  if (!p) return NULL;
  fp_kp *slots[2] = {NULL, NULL};
  for (int i = 0; i < 2; i++) {
    napi_valuetype type;
    napi_typeof(env, argv[2 + i], &type);
    if (type == napi_null) continue;
    if (!(slots[i] = kp_arg(env, argv[2 + i]))) return NULL;
    if (!slots[i]->installed || slots[i]->peer != p) slots[i] = NULL; /* retired: nothing to send on */
  }
  if (p->removed) return NULL;
  p->current = slots[0];
  p->next = slots[1];
  return NULL;
}

/* fpKeypairAdd(core, peer, localIndex, remoteIndex, initiator, created, sendKey, recvKey): { handle, shared } */
napi_value bn_fp_keypair_add(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!bn_args(env, info, 8, argv)) return NULL;
  fp_core *c = fp_napi_core_arg(env, argv[0]);
  fp_peer *p = c ? peer_arg(env, argv[1]) : NULL;
  if (!p) return NULL;
  uint32_t local, remote;
  bool initiator = false;
  double created;
  uint8_t *send, *recv;
  size_t send_len, recv_len;
  if (!bn_get_u32(env, argv[2], "localIndex", &local) || !bn_get_u32(env, argv[3], "remoteIndex", &remote) ||
      !fp_napi_double_arg(env, argv[5], "created", &created) ||
      !fp_napi_bytes_arg(env, argv[6], "sendKey", &send, &send_len) ||
      !fp_napi_bytes_arg(env, argv[7], "recvKey", &recv, &recv_len)) {
    return NULL;
  }
  BN_CALL(env, napi_get_value_bool(env, argv[4], &initiator));
  if (send_len != 32 || recv_len != 32) return bn_throw_range(env, "session keys must be 32 bytes");
  if (p->removed) return bn_throw_type(env, "the peer was removed");
  fp_kp *kp = fp_kp_add(c, p, local, remote, initiator, created, send, recv);
  if (!kp) return bn_throw_errno(env, ENOMEM, NULL, "adding a fast path session");
  return handle_pair(env, kp, kp_finalize, kp->shared, FP_KP_FIELDS, kp_shared_finalize);
}

/* fpKeypairRemove(core, kp) */
napi_value bn_fp_keypair_remove(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!bn_args(env, info, 2, argv)) return NULL;
  fp_core *c = fp_napi_core_arg(env, argv[0]);
  fp_kp *kp = c ? kp_arg(env, argv[1]) : NULL;
  if (kp) fp_kp_remove(c, kp);
  return NULL;
}

/* fpSetRoutes(core, addrs: Uint8Array (16 bytes per route), meta: Uint32Array [bytes | cidr << 8, slot] */
napi_value bn_fp_set_routes(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!bn_args(env, info, 3, argv)) return NULL;
  fp_core *c = fp_napi_core_arg(env, argv[0]);
  if (!c) return NULL;
  uint8_t *addrs;
  size_t addrs_len, meta_len = 0;
  if (!fp_napi_bytes_arg(env, argv[1], "addrs", &addrs, &addrs_len)) return NULL;
  bool typed = false;
  napi_typedarray_type type = napi_int8_array;
  void *data = NULL;
  napi_is_typedarray(env, argv[2], &typed);
  if (typed) napi_get_typedarray_info(env, argv[2], &type, &meta_len, &data, NULL, NULL);
  if (!typed || type != napi_uint32_array) return bn_throw_type(env, "meta must be a Uint32Array");
  const uint32_t *meta = data;
  size_t n = meta_len / 2;
  if (addrs_len < n * 16) return bn_throw_range(env, "addrs holds fewer than %zu routes", n);
  fp_routes routes;
  fp_routes_init(&routes);
  for (size_t i = 0; i < n; i++) {
    int bytes = (int)(meta[2 * i] & 0xff), cidr = (int)(meta[2 * i] >> 8);
    if ((bytes != 4 && bytes != 16) || cidr > bytes * 8) {
      fp_routes_free(&routes);
      return bn_throw_range(env, "route %zu: %d bytes /%d", i, bytes, cidr);
    }
    if (!fp_routes_insert(&routes, addrs + i * 16, bytes, cidr, (int32_t)meta[2 * i + 1])) {
      fp_routes_free(&routes);
      return bn_throw_errno(env, ENOMEM, NULL, "building fast path routes");
    }
  }
  fp_core_set_routes(c, &routes);
  return NULL;
}
