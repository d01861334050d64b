/*
 * The netlink messages of a route lookup (`ip route get`) and of a policy rule dump (`ip rule
 * show`): building the requests and reading the kernel's answers, without any I/O, so that the
 * parsers can be fed any bytes (route-get.c exports them to the fuzz tests). Every length is
 * checked before it is read; a malformed answer is refused with a reason, never half read.
 */
#ifndef BURROW_NATIVE_ROUTE_CODEC_H
#define BURROW_NATIVE_ROUTE_CODEC_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What to look up: what `ip route get DST from SRC mark M uid U ipproto P sport S dport D` sends. */
typedef struct {
  uint8_t family;       /* AF_INET or AF_INET6 */
  uint8_t dst[16];      /* 4 or 16 bytes used, by family */
  bool has_src;
  uint8_t src[16];
  uint32_t mark;        /* 0: none */
  bool has_uid;
  uint32_t uid;         /* without it the kernel takes the caller's */
  uint8_t ip_proto;     /* 0: none */
  uint16_t sport, dport;/* host order; 0: none (only sent with ip_proto) */
  bool fib_match;       /* RTM_F_FIB_MATCH: the table's entry (its prefix) instead of the resolved route */
} rc_route_query;

/* The kernel's answer: a route (error 0) or a refusal (error: a positive errno). */
typedef struct {
  int error;            /* ENETUNREACH, EHOSTUNREACH, EACCES (prohibit), EINVAL (blackhole)... */
  char message[128];    /* the kernel's extended ack message for a refusal, if it sent one */
  uint8_t family, dst_len, src_len, type, protocol, scope;
  uint32_t flags;       /* rtm_flags */
  uint32_t table;       /* RTA_TABLE, else rtm_table */
  bool has_dst, has_src, has_gateway, has_prefsrc, has_oif, has_priority, has_mark, has_uid;
  bool multipath;       /* RTA_MULTIPATH: several next hops (not decoded) */
  uint8_t dst[16], src[16], gateway[16], prefsrc[16];
  uint8_t gateway_family; /* a gateway of the other family (RTA_VIA), else = family */
  uint32_t oif, priority, mark, uid;
  int route_error;      /* IPv6 keeps an error in its route cache info (a positive errno, or 0) */
} rc_route_answer;

/* One policy rule, as `ip rule show` reads it. */
typedef struct {
  uint8_t family, dst_len, src_len, tos, action;
  uint32_t flags;       /* FIB_RULE_INVERT... */
  uint32_t priority, table;
  bool has_dst, has_src, has_fwmark, has_fwmask, has_suppress_prefixlen, has_suppress_ifgroup;
  bool has_goto, has_uid_range, has_sport_range, has_dport_range;
  uint8_t dst[16], src[16];
  uint32_t fwmark, fwmask, suppress_prefixlen, suppress_ifgroup, goto_target;
  uint32_t uid_start, uid_end;
  uint16_t sport_start, sport_end, dport_start, dport_end;
  uint8_t ip_proto, l3mdev, protocol;
  char iifname[IFNAMSIZ], oifname[IFNAMSIZ]; /* "" when absent */
} rc_rule;

/* Request builders: the message's length, or 0 if `cap` is too small. */
size_t rc_build_route_request(uint8_t *buf, size_t cap, const rc_route_query *q, uint32_t seq);
size_t rc_build_rule_dump(uint8_t *buf, size_t cap, uint8_t family, uint32_t seq);

/* Results of the parsers. RC_MALFORMED sets *why to a static description. */
enum { RC_MALFORMED = -1, RC_MORE = 0, RC_DONE = 1 };

/* Reads one received buffer of a route lookup: RC_DONE with *out filled (a route or a refusal),
 * RC_MORE if it held nothing for `seq` (read again), RC_MALFORMED. */
int rc_parse_route_answer(const uint8_t *buf, size_t len, uint32_t seq, rc_route_answer *out, const char **why);

/* Reads one received buffer of a rule dump of `family`, calling `each` for every rule (which may
 * stop the parse by returning false: RC_MALFORMED with *why "stopped"). RC_DONE at the end of the
 * dump (or *error set to the errno the dump ended with), RC_MORE when more buffers follow. */
int rc_parse_rule_dump(const uint8_t *buf, size_t len, uint32_t seq, uint8_t family,
                       bool (*each)(void *ctx, const rc_rule *rule), void *ctx, int *error, const char **why);

#endif
