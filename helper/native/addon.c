/*
 * burrow_native: burrowd's packet I/O on Linux, as a small N-API addon in C.
 * tun.c: the TUN device; udp.c: the UDP socket; peercred.c: who is at the other end of a unix
 * socket; sdnotify.c: readiness for systemd; route-get.c: route lookups and policy rules over
 * netlink (route-codec.c reads and writes the messages); common.c: errors and the poll/close life cycle.
 * fp-*.c: the transport fast path (fp-core.h says what it is), with its I/O engine and TUN
 * offloads; fp-napi.c is its JS interface.
 * The TypeScript side is helper/native/index.ts (loading), helper/tun/linux-tun.ts and
 * helper/bind/linux-bind.ts (the TunDevice and UdpBind wrappers).
 */
#include <node_api.h>

#include "common.h"
#include "native.h"

#define EXPORT(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_enumerable, NULL}

static napi_value init(napi_env env, napi_value exports) {
  napi_value abi;
  if (napi_create_uint32(env, BN_ABI_VERSION, &abi) != napi_ok) return NULL;
  napi_property_descriptor props[] = {
      {"abiVersion", NULL, NULL, NULL, NULL, abi, napi_enumerable, NULL},
      EXPORT("tunOpen", bn_tun_open),
      EXPORT("tunStart", bn_tun_start),
      EXPORT("tunWrite", bn_tun_write),
      EXPORT("tunStats", bn_tun_stats),
      EXPORT("tunClose", bn_tun_close),
      EXPORT("udpOpen", bn_udp_open),
      EXPORT("udpOpenAt", bn_udp_open_at),
      EXPORT("udpStart", bn_udp_start),
      EXPORT("udpSend", bn_udp_send),
      EXPORT("udpStats", bn_udp_stats),
      EXPORT("udpSetMark", bn_udp_set_mark),
      EXPORT("udpClose", bn_udp_close),
      EXPORT("peerCred", bn_peer_cred),
      EXPORT("sdNotify", bn_sd_notify),
      EXPORT("routeGet", bn_route_get),
      EXPORT("routeRules", bn_route_rules),
      EXPORT("routeRequest", bn_route_request),
      EXPORT("routeParse", bn_route_parse),
      EXPORT("ruleParse", bn_rule_parse),
      EXPORT("fpCreate", bn_fp_create),
      EXPORT("fpPeerAdd", bn_fp_peer_add),
      EXPORT("fpPeerRemove", bn_fp_peer_remove),
      EXPORT("fpPeerEndpoint", bn_fp_peer_endpoint),
      EXPORT("fpPeerSessions", bn_fp_peer_sessions),
      EXPORT("fpPeerDirect", bn_fp_peer_direct),
      EXPORT("fpSetGated", bn_fp_set_gated),
      EXPORT("fpFilterPasses", bn_fp_filter_passes),
      EXPORT("fpKeypairAdd", bn_fp_keypair_add),
      EXPORT("fpKeypairRemove", bn_fp_keypair_remove),
      EXPORT("fpReplayAccept", bn_fp_replay_accept),
      EXPORT("fpReplayNew", bn_fp_replay_new),
      EXPORT("fpReplayReset", bn_fp_replay_reset),
      EXPORT("fpSetRoutes", bn_fp_set_routes),
      EXPORT("fpSend", bn_fp_send),
      EXPORT("fpReceive", bn_fp_receive),
      EXPORT("fpAttach", bn_fp_attach),
      EXPORT("fpDetach", bn_fp_detach),
      EXPORT("fpStats", bn_fp_stats),
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
