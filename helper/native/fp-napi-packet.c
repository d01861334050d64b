/* The fast path per packet, for the TS core's own sends and receives (and the simulation tests):
 * what the engine does for packets it reads itself, on one packet handed over from JS. */
#include <string.h>

#include "common.h"
#include "fp-core.h"
#include "fp-napi.h"
#include "native.h"
#include "udp.h"

static napi_value number(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

/* fpSend(core, packet, now): the sealed message (a Uint8Array), or FP_PUNT / FP_DONE */
napi_value bn_fp_send(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!bn_args(env, info, 3, argv)) return NULL;
  fp_core *c = fp_napi_core_arg(env, argv[0]);
  uint8_t *packet;
  size_t len;
  double now;
  if (!c || !fp_napi_bytes_arg(env, argv[1], "packet", &packet, &len) ||
      !fp_napi_double_arg(env, argv[2], "now", &now)) {
    return NULL;
  }
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
  fp_core *c = fp_napi_core_arg(env, argv[0]);
  uint8_t *data;
  size_t len;
  uint32_t port;
  double now;
  if (!c || !fp_napi_bytes_arg(env, argv[1], "data", &data, &len) || !bn_get_u32(env, argv[3], "port", &port) ||
      !fp_napi_double_arg(env, argv[4], "now", &now)) {
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
