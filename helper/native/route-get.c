/*
 * A route lookup as `ip route get` does it, and the policy rules as `ip rule show` lists them, over
 * an AF_NETLINK / NETLINK_ROUTE socket of the calling thread's network namespace. The trace's
 * stage 2 (helper/routing/route-get.ts) asks what the kernel would do with one packet; Node has no
 * netlink, and starting `ip` twice per trace costs more than the lookups.
 *
 * This file is their JavaScript face: arguments in, answers and rules out as objects. A refusal of
 * the kernel (no route, a prohibit rule) is an answer, returned as data ({error: "ENETUNREACH"});
 * failures of the lookup itself (the socket, a malformed or truncated answer, the deadline) throw.
 * route-netlink.c talks to the kernel; route-codec.c builds and reads the messages, and
 * routeRequest/routeParse/ruleParse expose it to tests.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include "common.h"
#include "native.h"
#include "route-codec.h"
#include "route-netlink.h"

#define DUMP_TRIES 3

/* ---- arguments ------------------------------------------------------------------------------- */

/* Reads (dst, src, mark, uid, ipProto, sport, dport, fibMatch) from argv. */
static bool read_query(napi_env env, napi_value *argv, rc_route_query *q) {
  memset(q, 0, sizeof *q);
  void *data;
  size_t n;
  bool is;
  if (napi_is_typedarray(env, argv[0], &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, argv[0], NULL, &n, &data, NULL, NULL) != napi_ok || (n != 4 && n != 16)) {
    bn_throw_type(env, "routeGet: the destination must be a Uint8Array of 4 or 16 bytes");
    return false;
  }
  q->family = n == 4 ? AF_INET : AF_INET6;
  memcpy(q->dst, data, n);
  napi_valuetype type;
  if (napi_typeof(env, argv[1], &type) != napi_ok) return false;
  if (type != napi_null && type != napi_undefined) {
    size_t m;
    if (napi_is_typedarray(env, argv[1], &is) != napi_ok || !is ||
        napi_get_typedarray_info(env, argv[1], NULL, &m, &data, NULL, NULL) != napi_ok || m != n) {
      bn_throw_type(env, "routeGet: the source must be null or an address of the destination's family");
      return false;
    }
    q->has_src = true;
    memcpy(q->src, data, m);
  }
  uint32_t proto, sport, dport;
  if (!bn_get_u32(env, argv[2], "mark", &q->mark)) return false;
  if (napi_typeof(env, argv[3], &type) != napi_ok) return false;
  if (type != napi_null && type != napi_undefined) {
    if (!bn_get_u32(env, argv[3], "uid", &q->uid)) return false;
    q->has_uid = true;
  }
  if (!bn_get_u32(env, argv[4], "ipProto", &proto) || !bn_get_u32(env, argv[5], "sport", &sport) ||
      !bn_get_u32(env, argv[6], "dport", &dport))
    return false;
  if (proto > 255 || sport > 65535 || dport > 65535) {
    bn_throw_range(env, "routeGet: ipProto must be below 256 and ports below 65536");
    return false;
  }
  q->ip_proto = (uint8_t)proto;
  q->sport = (uint16_t)sport;
  q->dport = (uint16_t)dport;
  if (napi_get_value_bool(env, argv[7], &q->fib_match) != napi_ok) {
    bn_throw_type(env, "routeGet: fibMatch must be a boolean");
    return false;
  }
  return true;
}

static bool read_family(napi_env env, napi_value value, uint8_t *family) {
  uint32_t f;
  if (!bn_get_u32(env, value, "family", &f)) return false;
  if (f != 4 && f != 6) {
    bn_throw_range(env, "family must be 4 or 6, got %u", f);
    return false;
  }
  *family = f == 4 ? AF_INET : AF_INET6;
  return true;
}

/* A failed exchange with the kernel (route-netlink.c), thrown. */
static napi_value throw_exchange(napi_env env, int err, const char *syscall, const char *why, const char *what) {
  if (err == EBADMSG) return bn_throw_errno(env, err, syscall, "%s: the kernel's answer has %s", what, why);
  return bn_throw_errno(env, err, syscall, "%s", what);
}

/* ---- results as JS --------------------------------------------------------------------------- */

static bool set_u32(napi_env env, napi_value obj, const char *key, uint32_t v) {
  napi_value value;
  return napi_create_uint32(env, v, &value) == napi_ok && napi_set_named_property(env, obj, key, value) == napi_ok;
}

static bool set_str(napi_env env, napi_value obj, const char *key, const char *text) {
  napi_value value;
  return napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &value) == napi_ok &&
         napi_set_named_property(env, obj, key, value) == napi_ok;
}

static bool set_addr(napi_env env, napi_value obj, const char *key, uint8_t family, const uint8_t *addr) {
  char text[INET6_ADDRSTRLEN];
  if (!inet_ntop(family, addr, text, sizeof text)) return false;
  return set_str(env, obj, key, text);
}

static napi_value answer_object(napi_env env, const rc_route_answer *a, bool names) {
  napi_value out;
  BN_CALL(env, napi_create_object(env, &out));
  if (a->error) {
    if (!bn_set_errno_name(env, out, "error", a->error)) return bn_throw_last(env), NULL;
    if (a->message[0] && !set_str(env, out, "message", a->message)) return bn_throw_last(env), NULL;
    return out;
  }
  bool ok = set_u32(env, out, "family", a->family == AF_INET ? 4 : 6) && set_u32(env, out, "type", a->type) &&
            set_u32(env, out, "table", a->table) && set_u32(env, out, "protocol", a->protocol) &&
            set_u32(env, out, "scope", a->scope) && set_u32(env, out, "flags", a->flags) &&
            set_u32(env, out, "dstLen", a->dst_len) && set_u32(env, out, "srcLen", a->src_len);
  if (ok && a->has_dst) ok = set_addr(env, out, "dst", a->family, a->dst);
  if (ok && a->has_src) ok = set_addr(env, out, "src", a->family, a->src);
  if (ok && a->has_gateway) ok = set_addr(env, out, "gateway", a->gateway_family, a->gateway);
  if (ok && a->has_prefsrc) ok = set_addr(env, out, "prefsrc", a->family, a->prefsrc);
  if (ok && a->has_oif) ok = set_u32(env, out, "oif", a->oif);
  if (ok && a->has_oif && names) {
    char name[IF_NAMESIZE];
    if (if_indextoname(a->oif, name)) ok = set_str(env, out, "oifName", name);
  }
  if (ok && a->has_priority) ok = set_u32(env, out, "metric", a->priority);
  if (ok && a->has_mark) ok = set_u32(env, out, "mark", a->mark);
  if (ok && a->has_uid) ok = set_u32(env, out, "uid", a->uid);
  if (ok && a->multipath) {
    napi_value t;
    ok = napi_get_boolean(env, true, &t) == napi_ok && napi_set_named_property(env, out, "multipath", t) == napi_ok;
  }
  if (ok && a->route_error) ok = bn_set_errno_name(env, out, "routeError", a->route_error);
  if (!ok) return bn_throw_last(env), NULL;
  return out;
}

static napi_value rule_object(napi_env env, const rc_rule *r) {
  napi_value out;
  BN_CALL(env, napi_create_object(env, &out));
  uint8_t f = r->family;
  bool ok = set_u32(env, out, "priority", r->priority) && set_u32(env, out, "action", r->action) &&
            set_u32(env, out, "table", r->table) && set_u32(env, out, "flags", r->flags) &&
            set_u32(env, out, "tos", r->tos) && set_u32(env, out, "srcLen", r->src_len) &&
            set_u32(env, out, "dstLen", r->dst_len);
  if (ok && r->has_src) ok = set_addr(env, out, "src", f, r->src);
  if (ok && r->has_dst) ok = set_addr(env, out, "dst", f, r->dst);
  if (ok && r->has_fwmark) ok = set_u32(env, out, "fwmark", r->fwmark);
  if (ok && r->has_fwmask) ok = set_u32(env, out, "fwmask", r->fwmask);
  if (ok && r->iifname[0]) ok = set_str(env, out, "iif", r->iifname);
  if (ok && r->oifname[0]) ok = set_str(env, out, "oif", r->oifname);
  /* The kernel reports suppress_prefixlength -1 (0xffffffff) for "none". */
  if (ok && r->has_suppress_prefixlen && r->suppress_prefixlen != 0xffffffffu)
    ok = set_u32(env, out, "suppressPrefixLength", r->suppress_prefixlen);
  if (ok && r->has_suppress_ifgroup && r->suppress_ifgroup != 0xffffffffu)
    ok = set_u32(env, out, "suppressIfgroup", r->suppress_ifgroup);
  if (ok && r->has_goto) ok = set_u32(env, out, "goto", r->goto_target);
  if (ok && r->has_uid_range) ok = set_u32(env, out, "uidStart", r->uid_start) && set_u32(env, out, "uidEnd", r->uid_end);
  if (ok && r->has_sport_range)
    ok = set_u32(env, out, "sportStart", r->sport_start) && set_u32(env, out, "sportEnd", r->sport_end);
  if (ok && r->has_dport_range)
    ok = set_u32(env, out, "dportStart", r->dport_start) && set_u32(env, out, "dportEnd", r->dport_end);
  if (ok && r->ip_proto) ok = set_u32(env, out, "ipProto", r->ip_proto);
  if (ok && r->l3mdev) ok = set_u32(env, out, "l3mdev", r->l3mdev);
  if (ok && r->protocol) ok = set_u32(env, out, "protocol", r->protocol);
  if (!ok) return bn_throw_last(env), NULL;
  return out;
}

/* ---- route lookup ---------------------------------------------------------------------------- */

static int parse_route(void *ctx, const uint8_t *buf, size_t len, uint32_t seq, const char **why) {
  return rc_parse_route_answer(buf, len, seq, ctx, why);
}

/* routeGet(dst, src, mark, uid, ipProto, sport, dport, fibMatch) */
napi_value bn_route_get(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  rc_route_query q;
  if (!bn_args(env, info, 8, argv) || !read_query(env, argv, &q)) return NULL;
  uint8_t req[256];
  uint32_t seq = rn_next_seq();
  size_t len = rc_build_route_request(req, sizeof req, &q, seq);
  rc_route_answer answer;
  const char *syscall = NULL, *why = NULL;
  int err = rn_exchange(req, len, seq, parse_route, &answer, &syscall, &why);
  if (err) return throw_exchange(env, err, syscall, why, "route lookup (RTM_GETROUTE)");
  return answer_object(env, &answer, true);
}

/* routeRequest(dst, src, mark, uid, ipProto, sport, dport, fibMatch, seq): the bytes routeGet sends. */
napi_value bn_route_request(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  rc_route_query q;
  uint32_t seq;
  if (!bn_args(env, info, 9, argv) || !read_query(env, argv, &q) || !bn_get_u32(env, argv[8], "seq", &seq))
    return NULL;
  uint8_t req[256];
  size_t len = rc_build_route_request(req, sizeof req, &q, seq);
  napi_value ab, out;
  void *data;
  BN_CALL(env, napi_create_arraybuffer(env, len, &data, &ab));
  memcpy(data, req, len);
  BN_CALL(env, napi_create_typedarray(env, napi_uint8_array, len, ab, 0, &out));
  return out;
}

static bool read_bytes(napi_env env, napi_value value, const uint8_t **data, size_t *len) {
  bool is;
  void *p;
  if (napi_is_typedarray(env, value, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, value, NULL, len, &p, NULL, NULL) != napi_ok) {
    bn_throw_type(env, "the answer must be a Uint8Array");
    return false;
  }
  *data = p;
  return true;
}

/* routeParse(bytes, seq): what routeGet makes of one received buffer; null if it holds no answer. */
napi_value bn_route_parse(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  const uint8_t *data;
  size_t len;
  uint32_t seq;
  if (!bn_args(env, info, 2, argv) || !read_bytes(env, argv[0], &data, &len) || !bn_get_u32(env, argv[1], "seq", &seq))
    return NULL;
  rc_route_answer answer;
  const char *why = NULL;
  int r = rc_parse_route_answer(data, len, seq, &answer, &why);
  if (r == RC_MALFORMED) return throw_exchange(env, EBADMSG, "recvfrom", why, "route lookup (RTM_GETROUTE)");
  if (r == RC_MORE) {
    napi_value null;
    BN_CALL(env, napi_get_null(env, &null));
    return null;
  }
  return answer_object(env, &answer, false);
}

static napi_value rules_array(napi_env env, const rn_rule_list *list) {
  napi_value out;
  BN_CALL(env, napi_create_array_with_length(env, list->count, &out));
  for (size_t i = 0; i < list->count; i++) {
    napi_value rule = rule_object(env, &list->rules[i]);
    if (!rule) return NULL;
    BN_CALL(env, napi_set_element(env, out, (uint32_t)i, rule));
  }
  return out;
}

/* routeRules(family): the policy rules, in the kernel's order (by priority). */
napi_value bn_route_rules(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint8_t family;
  if (!bn_args(env, info, 1, argv) || !read_family(env, argv[0], &family)) return NULL;
  rn_rule_list list = {.family = family};
  int err = 0;
  const char *syscall = NULL, *why = NULL;
  for (int tries = 0; tries < DUMP_TRIES; tries++) {
    uint8_t req[64];
    uint32_t seq = rn_next_seq();
    size_t len = rc_build_rule_dump(req, sizeof req, family, seq);
    list.count = 0;
    list.error = 0;
    err = rn_exchange(req, len, seq, rn_parse_rules, &list, &syscall, &why);
    if (err == 0 && list.error != EINTR) break; /* EINTR: the rules changed during the dump */
  }
  if (err == 0 && list.error) err = list.error, syscall = "recvfrom";
  napi_value out = err ? throw_exchange(env, err, syscall, why, "rule dump (RTM_GETRULE)") : rules_array(env, &list);
  free(list.rules);
  return out;
}

/* ruleParse(bytes, seq, family): {rules, done, error?} for one received buffer of a dump. */
napi_value bn_rule_parse(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  const uint8_t *data;
  size_t len;
  uint32_t seq;
  uint8_t family;
  if (!bn_args(env, info, 3, argv) || !read_bytes(env, argv[0], &data, &len) ||
      !bn_get_u32(env, argv[1], "seq", &seq) || !read_family(env, argv[2], &family))
    return NULL;
  rn_rule_list list = {.family = family};
  const char *why = NULL;
  int r = rn_parse_rules(&list, data, len, seq, &why);
  napi_value out = NULL, rules, done;
  if (r == RC_MALFORMED) {
    throw_exchange(env, EBADMSG, "recvfrom", why, "rule dump (RTM_GETRULE)");
  } else if ((rules = rules_array(env, &list)) != NULL && napi_create_object(env, &out) == napi_ok &&
             napi_get_boolean(env, r == RC_DONE, &done) == napi_ok &&
             napi_set_named_property(env, out, "rules", rules) == napi_ok &&
             napi_set_named_property(env, out, "done", done) == napi_ok &&
             bn_set_errno_name(env, out, "error", list.error)) {
    /* out is complete */
  } else {
    bn_throw_last(env);
    out = NULL;
  }
  free(list.rules);
  return out;
}
