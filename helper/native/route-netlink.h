/* The netlink side of the route lookup and the rule dump (route-netlink.c); route-get.c is their
 * N-API face. */
#ifndef BURROW_NATIVE_ROUTE_NETLINK_H
#define BURROW_NATIVE_ROUTE_NETLINK_H

#include <stddef.h>
#include <stdint.h>

#include "route-codec.h"

/* Parses one received buffer: RC_DONE, RC_MORE or RC_MALFORMED (with *why). */
typedef int (*rn_parse_fn)(void *ctx, const uint8_t *buf, size_t len, uint32_t seq, const char **why);

/* Sends `req` to the kernel and feeds what comes back to `parse` until it is done. Returns 0, or an
 * errno with *syscall set (EBADMSG: malformed, *why set; ETIMEDOUT: the deadline passed). */
int rn_exchange(const uint8_t *req, size_t len, uint32_t seq, rn_parse_fn parse, void *ctx, const char **syscall,
                const char **why);

/* A request's sequence number: each one new (the JS thread's only). */
uint32_t rn_next_seq(void);

/* The rules of a dump, as rn_parse_rules collects them. */
typedef struct {
  rc_rule *rules;
  size_t count, cap;
  uint8_t family;
  int error; /* the errno the dump ended with */
} rn_rule_list;

/* An rn_parse_fn for a rule dump into an rn_rule_list (its family set), refusing more than burrowd reads. */
int rn_parse_rules(void *ctx, const uint8_t *buf, size_t len, uint32_t seq, const char **why);

#endif
