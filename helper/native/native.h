/* The functions addon.c exports; each is a napi_callback. */
#ifndef BURROW_NATIVE_NATIVE_H
#define BURROW_NATIVE_NATIVE_H

#include <node_api.h>

napi_value bn_tun_open(napi_env env, napi_callback_info info);
napi_value bn_tun_start(napi_env env, napi_callback_info info);
napi_value bn_tun_write(napi_env env, napi_callback_info info);
napi_value bn_tun_stats(napi_env env, napi_callback_info info);
napi_value bn_tun_close(napi_env env, napi_callback_info info);

napi_value bn_udp_open(napi_env env, napi_callback_info info);
napi_value bn_udp_open_at(napi_env env, napi_callback_info info);
napi_value bn_udp_start(napi_env env, napi_callback_info info);
napi_value bn_udp_send(napi_env env, napi_callback_info info);
napi_value bn_udp_stats(napi_env env, napi_callback_info info);
napi_value bn_udp_set_mark(napi_env env, napi_callback_info info);
napi_value bn_udp_close(napi_env env, napi_callback_info info);

napi_value bn_peer_cred(napi_env env, napi_callback_info info);
napi_value bn_sd_notify(napi_env env, napi_callback_info info);

napi_value bn_route_get(napi_env env, napi_callback_info info);
napi_value bn_route_rules(napi_env env, napi_callback_info info);
napi_value bn_route_request(napi_env env, napi_callback_info info);
napi_value bn_route_parse(napi_env env, napi_callback_info info);
napi_value bn_rule_parse(napi_env env, napi_callback_info info);

napi_value bn_fp_create(napi_env env, napi_callback_info info);
napi_value bn_fp_peer_add(napi_env env, napi_callback_info info);
napi_value bn_fp_peer_remove(napi_env env, napi_callback_info info);
napi_value bn_fp_peer_endpoint(napi_env env, napi_callback_info info);
napi_value bn_fp_peer_sessions(napi_env env, napi_callback_info info);
napi_value bn_fp_peer_direct(napi_env env, napi_callback_info info);
napi_value bn_fp_set_gated(napi_env env, napi_callback_info info);
napi_value bn_fp_filter_passes(napi_env env, napi_callback_info info);
napi_value bn_fp_keypair_add(napi_env env, napi_callback_info info);
napi_value bn_fp_keypair_remove(napi_env env, napi_callback_info info);
napi_value bn_fp_replay_accept(napi_env env, napi_callback_info info);
napi_value bn_fp_replay_new(napi_env env, napi_callback_info info);
napi_value bn_fp_replay_reset(napi_env env, napi_callback_info info);
napi_value bn_fp_set_routes(napi_env env, napi_callback_info info);
napi_value bn_fp_send(napi_env env, napi_callback_info info);
napi_value bn_fp_receive(napi_env env, napi_callback_info info);
napi_value bn_fp_attach(napi_env env, napi_callback_info info);
napi_value bn_fp_detach(napi_env env, napi_callback_info info);
napi_value bn_fp_stats(napi_env env, napi_callback_info info);

#endif
