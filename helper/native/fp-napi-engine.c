/* Attaching the fast path's I/O engine (fp-engine.c) to a TUN device and a UDP socket from JS, and
 * its counters. */
#include <errno.h>

#include "common.h"
#include "fp-core.h"
#include "fp-engine.h"
#include "fp-napi.h"
#include "native.h"

/* fpAttach(core, tun, udp, timeOffset, gso, gro,
 *          callback(rekeySlots, judged, judgedCount, judgedHosts, flows, flowsCount)) */
napi_value bn_fp_attach(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!bn_args(env, info, 7, argv)) return NULL;
  fp_core *c = fp_napi_core_arg(env, argv[0]);
  if (!c) return NULL;
  bn_tun *t = bn_tun_unwrap(env, argv[1]);
  bn_udp *u = t ? bn_udp_unwrap(env, argv[2]) : NULL;
  if (!u) return NULL;
  double offset;
  bool gso = false, gro = false;
  if (!fp_napi_double_arg(env, argv[3], "timeOffset", &offset)) return NULL;
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
  fp_core *c = fp_napi_core_arg(env, argv[0]);
  if (c && c->engine) fp_engine_detach(c->engine);
  return NULL;
}

/* fpStats(core): the engine's counters (zeros when detached) */
napi_value bn_fp_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!bn_args(env, info, 1, argv)) return NULL;
  fp_core *c = fp_napi_core_arg(env, argv[0]);
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
