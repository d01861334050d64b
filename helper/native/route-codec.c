/*
 * route-codec.h says what this is. Buffers may come from JavaScript at any alignment, so every
 * header and number is copied out with memcpy rather than read through a cast pointer.
 */
#include "route-codec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#define ALIGN4(n) (((n) + 3u) & ~(size_t)3u)

/* The highest errno Linux has: a larger one is no answer of the kernel's, and has no name. */
#define MAX_ERRNO EHWPOISON

static size_t addr_len(uint8_t family) {
  return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* ---- requests -------------------------------------------------------------------------------- */

/* Appends an attribute at *at; false if it does not fit. */
static bool put_attr(uint8_t *buf, size_t cap, size_t *at, uint16_t type, const void *data, size_t n) {
  size_t total = ALIGN4(sizeof(struct rtattr) + n);
  if (*at + total > cap) return false;
  struct rtattr rta = {.rta_len = (unsigned short)(sizeof rta + n), .rta_type = type};
  memset(buf + *at, 0, total);
  memcpy(buf + *at, &rta, sizeof rta);
  memcpy(buf + *at + sizeof rta, data, n);
  *at += total;
  return true;
}

static void put_header(uint8_t *buf, size_t len, uint16_t type, uint16_t flags, uint32_t seq) {
  struct nlmsghdr h = {.nlmsg_len = (uint32_t)len, .nlmsg_type = type, .nlmsg_flags = flags, .nlmsg_seq = seq};
  memcpy(buf, &h, sizeof h);
}

size_t rc_build_route_request(uint8_t *buf, size_t cap, const rc_route_query *q, uint32_t seq) {
  size_t alen = addr_len(q->family);
  size_t at = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct rtmsg));
  if (alen == 0 || cap < at) return 0;
  memset(buf, 0, at);
  struct rtmsg rtm = {
      .rtm_family = q->family,
      .rtm_dst_len = (uint8_t)(alen * 8),
      .rtm_src_len = q->has_src ? (uint8_t)(alen * 8) : 0,
      /* As ip does: without RTM_F_LOOKUP_TABLE IPv4 names table main whatever table answered. IPv6
       * always names its table, and refuses the flag under the strict checks route-get.c asks for. */
      .rtm_flags = (q->family == AF_INET ? RTM_F_LOOKUP_TABLE : 0) | (q->fib_match ? RTM_F_FIB_MATCH : 0),
  };
  memcpy(buf + NLMSG_HDRLEN, &rtm, sizeof rtm);
  bool ok = put_attr(buf, cap, &at, RTA_DST, q->dst, alen);
  if (q->has_src) ok = ok && put_attr(buf, cap, &at, RTA_SRC, q->src, alen);
  if (q->mark) ok = ok && put_attr(buf, cap, &at, RTA_MARK, &q->mark, 4);
  if (q->has_uid) ok = ok && put_attr(buf, cap, &at, RTA_UID, &q->uid, 4);
  if (q->ip_proto) {
    ok = ok && put_attr(buf, cap, &at, RTA_IP_PROTO, &q->ip_proto, 1);
    uint16_t sport = htons(q->sport), dport = htons(q->dport);
    if (q->sport) ok = ok && put_attr(buf, cap, &at, RTA_SPORT, &sport, 2);
    if (q->dport) ok = ok && put_attr(buf, cap, &at, RTA_DPORT, &dport, 2);
  }
  if (!ok) return 0;
  put_header(buf, at, RTM_GETROUTE, NLM_F_REQUEST, seq);
  return at;
}

size_t rc_build_rule_dump(uint8_t *buf, size_t cap, uint8_t family, uint32_t seq) {
  size_t len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct fib_rule_hdr));
  if (cap < len) return 0;
  memset(buf, 0, len);
  struct fib_rule_hdr frh = {.family = family};
  memcpy(buf + NLMSG_HDRLEN, &frh, sizeof frh);
  put_header(buf, len, RTM_GETRULE, NLM_F_REQUEST | NLM_F_DUMP, seq);
  return len;
}

/* ---- answers --------------------------------------------------------------------------------- */

/* Walks the netlink messages of one buffer. */
typedef struct {
  const uint8_t *buf;
  size_t len, at;
} msg_iter;

/* The next message: RC_DONE with *h and its payload, RC_MORE at the end, RC_MALFORMED. */
static int next_msg(msg_iter *it, struct nlmsghdr *h, const uint8_t **payload, size_t *plen, const char **why) {
  if (it->at >= it->len) return RC_MORE;
  if (it->len - it->at < sizeof *h) return *why = "a message shorter than its header", RC_MALFORMED;
  memcpy(h, it->buf + it->at, sizeof *h);
  if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > it->len - it->at)
    return *why = "a message length outside the buffer", RC_MALFORMED;
  *payload = it->buf + it->at + NLMSG_HDRLEN;
  *plen = h->nlmsg_len - NLMSG_HDRLEN;
  size_t step = NLMSG_ALIGN(h->nlmsg_len);
  it->at = step > it->len - it->at ? it->len : it->at + step;
  return RC_DONE;
}

/* Walks the attributes after a fixed header of `fixed` bytes. */
typedef struct {
  const uint8_t *p;
  size_t len, at;
} attr_iter;

static int next_attr(attr_iter *it, uint16_t *type, const uint8_t **data, size_t *n, const char **why) {
  if (it->at >= it->len) return RC_MORE;
  struct rtattr rta;
  if (it->len - it->at < sizeof rta) return *why = "an attribute shorter than its header", RC_MALFORMED;
  memcpy(&rta, it->p + it->at, sizeof rta);
  if (rta.rta_len < sizeof rta || rta.rta_len > it->len - it->at)
    return *why = "an attribute length outside its message", RC_MALFORMED;
  *type = rta.rta_type & NLA_TYPE_MASK;
  *data = it->p + it->at + sizeof rta;
  *n = rta.rta_len - sizeof rta;
  size_t step = ALIGN4(rta.rta_len);
  it->at = step > it->len - it->at ? it->len : it->at + step;
  return RC_DONE;
}

static uint32_t get_u32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* A refusal (NLMSG_ERROR): the errno and the extended ack's message. RC_MALFORMED for an ack (0). */
static int read_error(const uint8_t *payload, size_t plen, uint16_t flags, int *error, char *message,
                      size_t cap, const char **why) {
  struct nlmsgerr e;
  if (plen < sizeof e) return *why = "an error message too short for its errno", RC_MALFORMED;
  memcpy(&e, payload, sizeof e);
  if (e.error >= 0 || e.error < -MAX_ERRNO) return *why = "an error message without an errno", RC_MALFORMED;
  *error = -e.error;
  if (message) message[0] = '\0';
  if (!message || !(flags & NLM_F_ACK_TLVS)) return RC_DONE;
  /* The request comes back after the errno: only its header with NLM_F_CAPPED, else all of it. */
  size_t echoed = sizeof e.error + ((flags & NLM_F_CAPPED) || e.msg.nlmsg_len < NLMSG_HDRLEN ? NLMSG_HDRLEN : e.msg.nlmsg_len);
  if (NLMSG_ALIGN(echoed) >= plen) return RC_DONE; /* the TLVs are a courtesy: no message, no refusal */
  attr_iter it = {payload + NLMSG_ALIGN(echoed), plen - NLMSG_ALIGN(echoed), 0};
  uint16_t type;
  const uint8_t *data;
  size_t n;
  const char *ignored;
  while (next_attr(&it, &type, &data, &n, &ignored) == RC_DONE) {
    if (type != NLMSGERR_ATTR_MSG || n == 0 || memchr(data, '\0', n) == NULL) continue;
    size_t text = strnlen((const char *)data, n);
    if (text >= cap) text = cap - 1;
    memcpy(message, data, text);
    message[text] = '\0';
  }
  return RC_DONE;
}

/* Copies an address attribute, refusing the wrong length or a second copy. */
static int take_addr(bool *has, uint8_t *to, const uint8_t *data, size_t n, size_t alen, const char **why) {
  if (*has) return *why = "an address attribute twice", RC_MALFORMED;
  if (n != alen) return *why = "an address attribute of the wrong length", RC_MALFORMED;
  memcpy(to, data, alen);
  *has = true;
  return RC_DONE;
}

static int take_u32(bool *has, uint32_t *to, const uint8_t *data, size_t n, const char **why) {
  if (has && *has) return *why = "a number attribute twice", RC_MALFORMED;
  if (n != 4) return *why = "a number attribute that is not 4 bytes", RC_MALFORMED;
  *to = get_u32(data);
  if (has) *has = true;
  return RC_DONE;
}

/* One attribute to its taker, which returns RC_DONE to go on or RC_MALFORMED (with *why). */
typedef int (*attr_taker)(void *ctx, uint16_t type, const uint8_t *data, size_t n, const char **why);

/* Hands each attribute after a message's fixed header of `header` bytes to `take`: RC_DONE when
 * all were taken, else the first refusal. */
static int take_attrs(const uint8_t *payload, size_t plen, size_t header, attr_taker take, void *ctx,
                      const char **why) {
  size_t fixed = NLMSG_ALIGN(header);
  attr_iter it = {payload + (fixed > plen ? plen : fixed), fixed > plen ? 0 : plen - fixed, 0};
  uint16_t type;
  const uint8_t *d;
  size_t n;
  int r;
  while ((r = next_attr(&it, &type, &d, &n, why)) == RC_DONE) {
    r = take(ctx, type, d, n, why);
    if (r != RC_DONE) return r;
  }
  return r == RC_MORE ? RC_DONE : r;
}

/* What read_route's attributes go into, and which it has seen that the answer does not record. */
typedef struct {
  rc_route_answer *out;
  size_t alen;
  bool has_table, has_cache;
} route_attrs;

static int take_route_attr(void *ctx, uint16_t type, const uint8_t *d, size_t n, const char **why) {
  route_attrs *a = ctx;
  rc_route_answer *out = a->out;
  size_t alen = a->alen;
  int r = RC_DONE;
  switch (type) {
    case RTA_DST: r = take_addr(&out->has_dst, out->dst, d, n, alen, why); break;
    case RTA_SRC: r = take_addr(&out->has_src, out->src, d, n, alen, why); break;
    case RTA_PREFSRC: r = take_addr(&out->has_prefsrc, out->prefsrc, d, n, alen, why); break;
    case RTA_GATEWAY: r = take_addr(&out->has_gateway, out->gateway, d, n, alen, why); break;
    case RTA_VIA: {
      uint16_t via_family;
      if (out->has_gateway) return *why = "a gateway twice", RC_MALFORMED;
      if (n < 2) return *why = "a via attribute without its family", RC_MALFORMED;
      memcpy(&via_family, d, 2);
      size_t via_len = addr_len((uint8_t)via_family);
      if (via_len == 0 || via_family > 255 || n != 2 + via_len)
        return *why = "a via attribute of the wrong length", RC_MALFORMED;
      memcpy(out->gateway, d + 2, via_len);
      out->gateway_family = (uint8_t)via_family;
      out->has_gateway = true;
      break;
    }
    case RTA_OIF: r = take_u32(&out->has_oif, &out->oif, d, n, why); break;
    case RTA_PRIORITY: r = take_u32(&out->has_priority, &out->priority, d, n, why); break;
    case RTA_MARK: r = take_u32(&out->has_mark, &out->mark, d, n, why); break;
    case RTA_UID: r = take_u32(&out->has_uid, &out->uid, d, n, why); break;
    case RTA_TABLE: r = take_u32(&a->has_table, &out->table, d, n, why); break;
    case RTA_MULTIPATH: out->multipath = true; break;
    case RTA_CACHEINFO: {
      struct rta_cacheinfo ci;
      if (a->has_cache) return *why = "cache info twice", RC_MALFORMED;
      if (n < sizeof ci) return *why = "cache info too short", RC_MALFORMED;
      memcpy(&ci, d, sizeof ci);
      int e = (int)ci.rta_error;
      out->route_error = e < 0 && e >= -MAX_ERRNO ? -e : 0;
      a->has_cache = true;
      break;
    }
    default: break; /* attributes this lookup does not need, and ones newer than this code */
  }
  return r;
}

static int read_route(const uint8_t *payload, size_t plen, rc_route_answer *out, const char **why) {
  struct rtmsg rtm;
  if (plen < sizeof rtm) return *why = "a route message shorter than its header", RC_MALFORMED;
  memcpy(&rtm, payload, sizeof rtm);
  size_t alen = addr_len(rtm.rtm_family);
  if (alen == 0) return *why = "a route of neither IPv4 nor IPv6", RC_MALFORMED;
  if (rtm.rtm_dst_len > alen * 8 || rtm.rtm_src_len > alen * 8)
    return *why = "a prefix length longer than the address", RC_MALFORMED;
  out->family = rtm.rtm_family;
  out->dst_len = rtm.rtm_dst_len;
  out->src_len = rtm.rtm_src_len;
  out->type = rtm.rtm_type;
  out->protocol = rtm.rtm_protocol;
  out->scope = rtm.rtm_scope;
  out->flags = rtm.rtm_flags;
  out->table = rtm.rtm_table;
  out->gateway_family = rtm.rtm_family;
  route_attrs attrs = {out, alen, false, false};
  return take_attrs(payload, plen, sizeof rtm, take_route_attr, &attrs, why);
}

int rc_parse_route_answer(const uint8_t *buf, size_t len, uint32_t seq, rc_route_answer *out, const char **why) {
  msg_iter it = {buf, len, 0};
  struct nlmsghdr h;
  const uint8_t *payload;
  size_t plen;
  int r;
  while ((r = next_msg(&it, &h, &payload, &plen, why)) == RC_DONE) {
    if (h.nlmsg_seq != seq || h.nlmsg_type == NLMSG_NOOP) continue;
    memset(out, 0, sizeof *out);
    if (h.nlmsg_type == NLMSG_ERROR)
      return read_error(payload, plen, h.nlmsg_flags, &out->error, out->message, sizeof out->message, why);
    if (h.nlmsg_type != RTM_NEWROUTE) return *why = "a message that is not a route", RC_MALFORMED;
    return read_route(payload, plen, out, why);
  }
  return r;
}

/* What read_rule's attributes go into, and which it has seen that the rule does not record. */
typedef struct {
  rc_rule *rule;
  size_t alen;
  bool has_priority, has_table;
} rule_attrs;

static int take_rule_attr(void *ctx, uint16_t type, const uint8_t *d, size_t n, const char **why) {
  rule_attrs *a = ctx;
  rc_rule *rule = a->rule;
  size_t alen = a->alen;
  int r = RC_DONE;
  switch (type) {
    case FRA_DST: r = take_addr(&rule->has_dst, rule->dst, d, n, alen, why); break;
    case FRA_SRC: r = take_addr(&rule->has_src, rule->src, d, n, alen, why); break;
    case FRA_PRIORITY: r = take_u32(&a->has_priority, &rule->priority, d, n, why); break; /* absent: 0 */
    case FRA_TABLE: r = take_u32(&a->has_table, &rule->table, d, n, why); break;
    case FRA_FWMARK: r = take_u32(&rule->has_fwmark, &rule->fwmark, d, n, why); break;
    case FRA_FWMASK: r = take_u32(&rule->has_fwmask, &rule->fwmask, d, n, why); break;
    case FRA_SUPPRESS_PREFIXLEN:
      r = take_u32(&rule->has_suppress_prefixlen, &rule->suppress_prefixlen, d, n, why);
      break;
    case FRA_SUPPRESS_IFGROUP:
      r = take_u32(&rule->has_suppress_ifgroup, &rule->suppress_ifgroup, d, n, why);
      break;
    case FRA_GOTO: r = take_u32(&rule->has_goto, &rule->goto_target, d, n, why); break;
    case FRA_IIFNAME:
    case FRA_OIFNAME: {
      char *name = type == FRA_IIFNAME ? rule->iifname : rule->oifname;
      if (name[0]) return *why = "an interface name twice", RC_MALFORMED;
      size_t text = strnlen((const char *)d, n);
      if (text == 0 || text == n || text >= IFNAMSIZ)
        return *why = "an interface name that is empty, unterminated or too long", RC_MALFORMED;
      memcpy(name, d, text);
      name[text] = '\0';
      break;
    }
    case FRA_UID_RANGE: {
      struct fib_rule_uid_range range;
      if (rule->has_uid_range || n != sizeof range) return *why = "a malformed uid range", RC_MALFORMED;
      memcpy(&range, d, sizeof range);
      rule->uid_start = range.start;
      rule->uid_end = range.end;
      rule->has_uid_range = true;
      break;
    }
    case FRA_SPORT_RANGE:
    case FRA_DPORT_RANGE: {
      struct fib_rule_port_range range;
      bool *has = type == FRA_SPORT_RANGE ? &rule->has_sport_range : &rule->has_dport_range;
      if (*has || n != sizeof range) return *why = "a malformed port range", RC_MALFORMED;
      memcpy(&range, d, sizeof range);
      if (type == FRA_SPORT_RANGE) rule->sport_start = range.start, rule->sport_end = range.end;
      else rule->dport_start = range.start, rule->dport_end = range.end;
      *has = true;
      break;
    }
    case FRA_IP_PROTO:
    case FRA_L3MDEV:
    case FRA_PROTOCOL:
      if (n != 1) return *why = "a one-byte attribute of another length", RC_MALFORMED;
      *(type == FRA_IP_PROTO ? &rule->ip_proto : type == FRA_L3MDEV ? &rule->l3mdev : &rule->protocol) = d[0];
      break;
    default: break; /* tunnel ids, realms, DSCP and what is newer than this code: not evaluated */
  }
  return r;
}

static int read_rule(const uint8_t *payload, size_t plen, uint8_t family, rc_rule *rule, const char **why) {
  struct fib_rule_hdr frh;
  if (plen < sizeof frh) return *why = "a rule message shorter than its header", RC_MALFORMED;
  memcpy(&frh, payload, sizeof frh);
  if (frh.family != family) return *why = "a rule of another family", RC_MALFORMED;
  size_t alen = addr_len(frh.family);
  if (frh.dst_len > alen * 8 || frh.src_len > alen * 8)
    return *why = "a prefix length longer than the address", RC_MALFORMED;
  memset(rule, 0, sizeof *rule);
  rule->family = frh.family;
  rule->dst_len = frh.dst_len;
  rule->src_len = frh.src_len;
  rule->tos = frh.tos;
  rule->action = frh.action;
  rule->flags = frh.flags;
  rule->table = frh.table;
  rule_attrs attrs = {rule, alen, false, false};
  return take_attrs(payload, plen, sizeof frh, take_rule_attr, &attrs, why);
}

int rc_parse_rule_dump(const uint8_t *buf, size_t len, uint32_t seq, uint8_t family,
                       bool (*each)(void *ctx, const rc_rule *rule), void *ctx, int *error, const char **why) {
  msg_iter it = {buf, len, 0};
  struct nlmsghdr h;
  const uint8_t *payload;
  size_t plen;
  int r;
  *error = 0;
  if (addr_len(family) == 0) return *why = "a rule dump of neither IPv4 nor IPv6", RC_MALFORMED;
  while ((r = next_msg(&it, &h, &payload, &plen, why)) == RC_DONE) {
    if (h.nlmsg_seq != seq || h.nlmsg_type == NLMSG_NOOP) continue;
    if (h.nlmsg_flags & NLM_F_DUMP_INTR) return *error = EINTR, RC_DONE; /* the rules changed: ask again */
    if (h.nlmsg_type == NLMSG_ERROR) return read_error(payload, plen, h.nlmsg_flags, error, NULL, 0, why);
    if (h.nlmsg_type == NLMSG_DONE) {
      int status = 0;
      if (plen >= sizeof status) memcpy(&status, payload, sizeof status);
      if (status > 0 || status < -MAX_ERRNO) return *why = "a dump that ends without an errno", RC_MALFORMED;
      *error = -status;
      return RC_DONE;
    }
    if (h.nlmsg_type != RTM_NEWRULE) return *why = "a message that is not a rule", RC_MALFORMED;
    rc_rule rule;
    int rr = read_rule(payload, plen, family, &rule, why);
    if (rr != RC_DONE) return rr;
    if (!each(ctx, &rule)) return *why = "stopped", RC_MALFORMED;
  }
  return r;
}
