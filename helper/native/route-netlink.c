/*
 * The netlink side of route-get.c: a request sent to the kernel over a NETLINK_ROUTE socket of the
 * calling thread's network namespace, and its answers read until the parser has them all.
 *
 * Both calls are synchronous: the kernel answers a lookup from within the send, and fills a dump
 * as it is read, so nothing here waits on the network. A receive timeout and a deadline bound
 * them anyway, and the number of reads and rules is capped.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "route-netlink.h"

#define ANSWER_BYTES (64 * 1024) /* above the kernel's largest dump skb (32 KiB) */
#define DEADLINE_MS 2000
#define MAX_READS 4096
#define MAX_RULES 10000

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends `req` to the kernel and feeds what comes back to `parse` until it is done. Returns 0, or an
 * errno with *syscall set (EBADMSG: malformed, *why set; ETIMEDOUT: the deadline passed). */
int rn_exchange(const uint8_t *req, size_t len, uint32_t seq, rn_parse_fn parse, void *ctx, const char **syscall,
                const char **why) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return *syscall = "socket", errno;
  int one = 1;
  struct timeval tv = {.tv_sec = 1};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  /* Optional: strict checks refuse what an old kernel would ignore; the ack names its reason. */
  setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  int err = 0;
  uint8_t *buf = NULL;
  if (sendto(fd, req, len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
    err = errno, *syscall = "sendto";
    goto out;
  }
  buf = malloc(ANSWER_BYTES);
  if (!buf) {
    err = ENOMEM, *syscall = "malloc";
    goto out;
  }
  int64_t deadline = now_ms() + DEADLINE_MS;
  for (int reads = 0;; reads++) {
    if (reads >= MAX_READS || now_ms() > deadline) {
      err = ETIMEDOUT, *syscall = "recvfrom";
      goto out;
    }
    struct sockaddr_nl from;
    socklen_t from_len = sizeof from;
    ssize_t n = recvfrom(fd, buf, ANSWER_BYTES, MSG_TRUNC, (struct sockaddr *)&from, &from_len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno, *syscall = "recvfrom";
      goto out;
    }
    if (from_len < sizeof from || from.nl_pid != 0) continue; /* only the kernel answers */
    if ((size_t)n > ANSWER_BYTES) {
      err = EBADMSG, *syscall = "recvfrom", *why = "an answer larger than the receive buffer";
      goto out;
    }
    int r = parse(ctx, buf, (size_t)n, seq, why);
    if (r == RC_DONE) break;
    if (r == RC_MALFORMED) {
      err = EBADMSG, *syscall = "recvfrom";
      goto out;
    }
  }
out:
  free(buf);
  close(fd);
  return err;
}

uint32_t rn_next_seq(void) {
  static uint32_t seq; /* only ever used on the JS thread */
  if (seq == 0) seq = (uint32_t)time(NULL);
  return ++seq;
}

static bool add_rule(void *ctx, const rc_rule *rule) {
  rn_rule_list *list = ctx;
  if (list->count == list->cap) {
    if (list->cap >= MAX_RULES) return false;
    size_t cap = list->cap ? list->cap * 2 : 64;
    if (cap > MAX_RULES) cap = MAX_RULES;
    rc_rule *grown = realloc(list->rules, cap * sizeof *grown);
    if (!grown) return false;
    list->rules = grown;
    list->cap = cap;
  }
  list->rules[list->count++] = *rule;
  return true;
}

int rn_parse_rules(void *ctx, const uint8_t *buf, size_t len, uint32_t seq, const char **why) {
  rn_rule_list *list = ctx;
  int r = rc_parse_rule_dump(buf, len, seq, list->family, add_rule, list, &list->error, why);
  if (r == RC_MALFORMED && strcmp(*why, "stopped") == 0) *why = "more rules than burrowd reads (10000)";
  return r;
}

