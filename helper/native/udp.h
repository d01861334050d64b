/* The UDP socket's internals, for the fast path's engine (fp-engine.c), which reads and writes it. */
#ifndef BURROW_NATIVE_UDP_H
#define BURROW_NATIVE_UDP_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "common.h"
#include "fp-core.h"

/* The local address a remote last sent to, to answer it from (udp-source.c). */
typedef struct {
  fp_sockaddr remote; /* the key: sa_family 0 when empty */
  struct in6_addr local; /* v4-mapped for IPv4 */
  uint32_t ifindex;
} bn_udp_source;

/* A send's control: the caller's cmsg (UDP_SEGMENT) and a pktinfo after it. */
typedef struct {
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(struct in6_pktinfo))];
    struct cmsghdr align;
  };
  void *orig;
  size_t orig_len;
  bool sticky;
} bn_udp_ctl;

/* A receive's room for pktinfo (either kind), and a UDP_GRO cmsg where GRO is on. */
typedef union {
  char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
  struct cmsghdr align;
} bn_udp_rx_ctl;

#define BN_UDP_SOURCES 256u   /* remotes whose source is remembered: a power of 2 */
#define BN_UDP_MAX_BATCH 1024u /* UIO_MAXIOV, the kernel's limit per recvmmsg/sendmmsg */

typedef struct {
  bn_io io;
  int family; /* AF_INET6 (dual-stack) or AF_INET */
  uint32_t batch;
  uint8_t *slots;
  struct mmsghdr *msgs;
  struct iovec *iov;
  fp_sockaddr *addrs;
  bn_udp_rx_ctl *rx_ctl;
  bn_udp_source *sources;
  bn_udp_ctl *ctl; /* BN_UDP_MAX_BATCH, for bn_udp_send_msgs */
  bool has_sources;
  uint64_t source_resets;
  uint64_t packets_received, bytes_received, receive_batches, receive_errors, truncated;
  uint64_t packets_sent, bytes_sent, send_dropped, send_errors;
  int last_send_errno, last_receive_errno;
} bn_udp;

#define BN_UDP_SLOT 65536u /* receive room per datagram: any UDP payload fits */
#define BN_UDP_MAGIC 0x55445031u /* "UDP1" */
/* An address as text: an IPv6 literal with its %scope, and the NUL. */
#define BN_HOST_TEXT (INET6_ADDRSTRLEN + IF_NAMESIZE + 2)

typedef fp_sockaddr bn_sockaddr;

bn_udp *bn_udp_unwrap(napi_env env, napi_value value);
/* Hands `count` datagrams (back to back in `data`, lengths in `lengths`, sources in `from`) to the
 * JS callback as one batch. Needs a handle scope; the bind may be closed on return (io.fd < 0). */
/* The batch layout JS reads datagrams in: payloads back to back, then per datagram [length,
 * port | hostIndex << 16] (and `extra`, when given, as a third word), with the source hosts as
 * text in *hosts_out. false when out of memory (nothing thrown). */
bool bn_datagram_batch(napi_env env, const uint8_t *data, const uint32_t *lengths, const fp_sockaddr *from,
                       const uint32_t *extra, uint32_t count, napi_value *buffer_out, napi_value *hosts_out);
void bn_udp_deliver(bn_udp *u, const uint8_t *data, const uint32_t *lengths, const fp_sockaddr *from, uint32_t count);
/* Sends with sendmmsg(2) until done, counting what was sent, dropped (full) and refused. Each
 * message to a remote whose source is known goes from that source (udp-source.c). */
void bn_udp_send_msgs(bn_udp *u, struct mmsghdr *msgs, uint32_t count);
/* Asks the kernel for each datagram's local address (IPV6_RECVPKTINFO / IP_PKTINFO): 0 or errno. */
int bn_udp_enable_pktinfo(int fd, int family);
/* Remembers the local address a received datagram (its msghdr, with pktinfo) arrived at. */
void bn_udp_learn_source(bn_udp *u, const fp_sockaddr *from, const struct msghdr *h);
void bn_udp_on_readable(bn_io *io, int poll_status);
/* Parses an address literal for a socket of `family`; returns NULL or what is wrong with it. */
const char *bn_parse_host(int family, const char *text, fp_sockaddr *out);
/* Writes an address as JS sees it into `out` (BN_HOST_TEXT bytes), without its port (udp-addr.c). */
void bn_format_host(const bn_sockaddr *a, char *out);

#endif
