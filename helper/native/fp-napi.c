/*
 * The fast path's JavaScript interface (helper/fastpath/native-fast-path.ts is its one user): the
 * core's peers, sessions and routes as the TypeScript core installs them, per-packet sealing and
 * opening for calls from JS (the TS core's own sends and receives, and the simulation tests), and
 * attaching the I/O engine to a TUN device and a UDP socket.
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
#include "native.h"

#define CORE_MAGIC 0x46504352u   /* "FPCR" */
#define REPLAY_MAGIC 0x46505250u /* "FPRP" */
#define MAX_PACKET 65535u

typedef struct {
  fp_core core;
  uint8_t *scratch; /* fpReceive opens a copy here, so the caller's bytes stay as they were */
} core_box;

typedef struct {
  uint32_t magic;
  fp_replay replay;
} replay_box;

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

static void *unwrap(napi_env env, napi_value value, uint32_t magic, const char *what) {
  napi_valuetype type;
  void *data = NULL;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external ||
      napi_get_value_external(env, value, &data) != napi_ok || data == NULL || *(uint32_t *)data != magic) {
    bn_throw_type(env, "not a %s handle", what);
    return NULL;
  }
  return data;
}

static fp_core *core_arg(napi_env env, napi_value v) {
  return unwrap(env, v, CORE_MAGIC, "fast path");
}

static fp_peer *peer_arg(napi_env env, napi_value v) {
  return unwrap(env, v, 0x46505045u, "fast path peer");
}

static fp_kp *kp_arg(napi_env env, napi_value v) {
  return unwrap(env, v, 0x46504b50u, "fast path session");
}

static bool bytes_arg(napi_env env, napi_value v, const char *what, uint8_t **data, size_t *len) {
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

static bool double_arg(napi_env env, napi_value v, const char *what, double *out) {
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
  fp_core *c = core_arg(env, argv[0]);
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
  fp_core *c = core_arg(env, argv[0]);
  fp_peer *p = c ? peer_arg(env, argv[1]) : NULL;
  if (p) fp_peer_remove(c, p);
  return NULL;
}

/* fpPeerEndpoint(core, peer, host: string | null, port) */
napi_value bn_fp_peer_endpoint(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!bn_args(env, info, 4, argv)) return NULL;
  fp_core *c = core_arg(env, argv[0]);
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
  fp_core *c = core_arg(env, argv[0]);
  fp_peer *p = c ? peer_arg(env, argv[1]) : NULL;
  if (!p || p->removed) return NULL;
  double until;
  uint32_t port;
  if (!double_arg(env, argv[4], "until", &until) || !bn_get_u32(env, argv[3], "port", &port)) return NULL;
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
  fp_core *c = core_arg(env, argv[0]);
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
  if (!bytes_arg(env, argv[0], "packet", &packet, &len)) return NULL;
  napi_value result;
  napi_get_boolean(env, fp_filter_passes(packet, len), &result);
  return result;
}

/* fpPeerSessions(core, peer, current | null, next | null) */
napi_value bn_fp_peer_sessions(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!bn_args(env, info, 4, argv)) return NULL;
  fp_core *c = core_arg(env, argv[0]);
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
  fp_core *c = core_arg(env, argv[0]);
  fp_peer *p = c ? peer_arg(env, argv[1]) : NULL;
  if (!p) return NULL;
  uint32_t local, remote;
  bool initiator = false;
  double created;
  uint8_t *send, *recv;
  size_t send_len, recv_len;
  if (!bn_get_u32(env, argv[2], "localIndex", &local) || !bn_get_u32(env, argv[3], "remoteIndex", &remote) ||
      !double_arg(env, argv[5], "created", &created) || !bytes_arg(env, argv[6], "sendKey", &send, &send_len) ||
      !bytes_arg(env, argv[7], "recvKey", &recv, &recv_len)) {
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
  fp_core *c = core_arg(env, argv[0]);
  fp_kp *kp = c ? kp_arg(env, argv[1]) : NULL;
  if (kp) fp_kp_remove(c, kp);
  return NULL;
}

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
  if (!double_arg(env, argv[1], "counter", &counter) || !double_arg(env, argv[2], "limit", &limit)) return NULL;
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
  replay_box *box = unwrap(env, argv[0], REPLAY_MAGIC, "replay window");
  if (box) fp_replay_reset(&box->replay);
  return NULL;
}

/* fpSetRoutes(core, addrs: Uint8Array (16 bytes per route), meta: Uint32Array [bytes | cidr << 8, slot] */
napi_value bn_fp_set_routes(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!bn_args(env, info, 3, argv)) return NULL;
  fp_core *c = core_arg(env, argv[0]);
  if (!c) return NULL;
  uint8_t *addrs;
  size_t addrs_len, meta_len = 0;
  if (!bytes_arg(env, argv[1], "addrs", &addrs, &addrs_len)) return NULL;
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

/* ---- per packet (the TS core's own calls) ---------------------------------------------------- */

static napi_value number(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

/* fpSend(core, packet, now): the sealed message (a Uint8Array), or FP_PUNT / FP_DONE */
napi_value bn_fp_send(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!bn_args(env, info, 3, argv)) return NULL;
  fp_core *c = core_arg(env, argv[0]);
  uint8_t *packet;
  size_t len;
  double now;
  if (!c || !bytes_arg(env, argv[1], "packet", &packet, &len) || !double_arg(env, argv[2], "now", &now)) return NULL;
  if (len > MAX_PACKET) return number(env, FP_PUNT);
  fp_peer *p = NULL;
  int r = fp_tx_route(c, packet, len, &p);
  if (r != 0) return number(env, r);
  fp_kp *kp = fp_tx_session(c, p, now, 1);
  if (!kp) return number(env, FP_PUNT);
  size_t size = 32 + fp_padded(c, len);
  void *data;
  napi_value buffer, message;
  BN_CALL(env, napi_create_arraybuffer(env, size, &data, &buffer));
  memcpy((uint8_t *)data + 16, packet, len);
  fp_tx_seal(c, kp, data, len, NULL, 0, now);
  c->shared[FP_LAST_PEER] = p->slot;
  c->shared[FP_LAST_REKEY] = fp_tx_wants_rekey(c, kp, now);
  BN_CALL(env, napi_create_typedarray(env, napi_uint8_array, size, buffer, 0, &message));
  return message;
}

/* fpReceive(core, data, host, port, now): the inner packet (a Uint8Array), or FP_PUNT / FP_DONE */
napi_value bn_fp_receive(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!bn_args(env, info, 5, argv)) return NULL;
  fp_core *c = core_arg(env, argv[0]);
  uint8_t *data;
  size_t len;
  uint32_t port;
  double now;
  if (!c || !bytes_arg(env, argv[1], "data", &data, &len) || !bn_get_u32(env, argv[3], "port", &port) ||
      !double_arg(env, argv[4], "now", &now)) {
    return NULL;
  }
  if (len > MAX_PACKET) return number(env, FP_PUNT);
  fp_sockaddr from, *from_p = NULL;
  if (c->roaming) {
    char host[128];
    size_t host_len = 0;
    napi_get_value_string_utf8(env, argv[2], host, sizeof host, &host_len);
    if (port <= 65535 && host_len < sizeof host - 1 && bn_parse_host(c->family, host, &from) == NULL) {
      if (c->family == AF_INET6) from.v6.sin6_port = htons((uint16_t)port);
      else from.v4.sin_port = htons((uint16_t)port);
      from_p = &from;
    }
  }
  uint8_t *copy = ((core_box *)c)->scratch;
  memcpy(copy, data, len);
  fp_peer *p = NULL;
  uint8_t *inner = NULL;
  size_t inner_len = 0;
  int r = fp_rx_open(c, copy, len, from_p, now, &p, &inner, &inner_len);
  c->shared[FP_LAST_PEER] = p ? (double)p->slot : -1;
  if (r != FP_DELIVER) return number(env, r);
  void *out;
  napi_value buffer, packet;
  BN_CALL(env, napi_create_arraybuffer(env, inner_len, &out, &buffer));
  memcpy(out, inner, inner_len);
  BN_CALL(env, napi_create_typedarray(env, napi_uint8_array, inner_len, buffer, 0, &packet));
  return packet;
}

/* ---- the engine ------------------------------------------------------------------------------ */

/* fpAttach(core, tun, udp, timeOffset, gso, gro,
 *          callback(rekeySlots, judged, judgedCount, judgedHosts, flows, flowsCount)) */
napi_value bn_fp_attach(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!bn_args(env, info, 7, argv)) return NULL;
  fp_core *c = core_arg(env, argv[0]);
  if (!c) return NULL;
  bn_tun *t = bn_tun_unwrap(env, argv[1]);
  bn_udp *u = t ? bn_udp_unwrap(env, argv[2]) : NULL;
  if (!u) return NULL;
  double offset;
  bool gso = false, gro = false;
  if (!double_arg(env, argv[3], "timeOffset", &offset)) return NULL;
  BN_CALL(env, napi_get_value_bool(env, argv[4], &gso));
  BN_CALL(env, napi_get_value_bool(env, argv[5], &gro));
  napi_valuetype type;
  napi_typeof(env, argv[6], &type);
  if (type != napi_function) return bn_throw_type(env, "callback must be a function");
  if (c->engine) return bn_throw_type(env, "the fast path is already attached");
  if (!t->vnet) return bn_throw_type(env, "the TUN device must be opened with vnet headers");
  if (!t->io.callback || !u->io.callback || t->io.owner || u->io.owner) {
    return bn_throw_type(env, "both handles must be reading, and not attached elsewhere");
  }
  if (u->family != c->family) return bn_throw_type(env, "the socket's address family differs from the fast path's");
  fp_engine *e = fp_engine_new(c, t, u, offset, gso, gro);
  if (!e) return bn_throw_errno(env, ENOMEM, NULL, "allocating the fast path engine");
  napi_value resource, name;
  e->env = env;
  if (napi_create_reference(env, argv[6], 1, &e->callback) != napi_ok ||
      napi_create_reference(env, argv[1], 1, &e->tun_ref) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &e->udp_ref) != napi_ok || napi_create_object(env, &resource) != napi_ok ||
      napi_create_string_utf8(env, "BurrowFastPath", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, resource, name, &e->async) != napi_ok) {
    fp_engine_detach(e);
    bn_throw_last(env);
    return NULL;
  }
  napi_value result;
  BN_CALL(env, napi_create_object(env, &result));
  napi_value flag;
  napi_get_boolean(env, e->tso, &flag);
  napi_set_named_property(env, result, "tso", flag);
  napi_get_boolean(env, e->gro_on, &flag);
  napi_set_named_property(env, result, "gro", flag);
  return result;
}

/* fpDetach(core) */
napi_value bn_fp_detach(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!bn_args(env, info, 1, argv)) return NULL;
  fp_core *c = core_arg(env, argv[0]);
  if (c && c->engine) fp_engine_detach(c->engine);
  return NULL;
}

/* fpStats(core): the engine's counters (zeros when detached) */
napi_value bn_fp_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!bn_args(env, info, 1, argv)) return NULL;
  fp_core *c = core_arg(env, argv[0]);
  if (!c) return NULL;
  fp_engine_stats s = c->engine ? c->engine->stats : (fp_engine_stats){0};
  napi_value o;
  BN_CALL(env, napi_create_object(env, &o));
  bn_set_double(env, o, "attached", c->engine != NULL);
  bn_set_double(env, o, "gso", c->engine && c->engine->gso);
  bn_set_double(env, o, "tsoReads", (double)s.tso_reads);
  bn_set_double(env, o, "txMalformed", (double)s.tx_malformed);
  bn_set_double(env, o, "txSlow", (double)s.tx_slow);
  bn_set_double(env, o, "txDatagrams", (double)s.tx_datagrams);
  bn_set_double(env, o, "gsoSends", (double)s.gso_sends);
  bn_set_double(env, o, "rxSlow", (double)s.rx_slow);
  bn_set_double(env, o, "tunWrites", (double)s.tun_writes);
  bn_set_double(env, o, "groMerged", c->engine ? (double)fp_gro_merged(c->engine->gro) : 0);
  bn_set_double(env, o, "judged", (double)s.judged);
  bn_set_double(env, o, "flows", (double)s.flows);
  bn_set_double(env, o, "handshakesShed", (double)s.handshakes_shed);
  return o;
}
