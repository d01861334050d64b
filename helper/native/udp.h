/* The UDP socket's internals, for the fast path's engine (fp-engine.c), which reads and writes it. */
#ifndef BURROW_NATIVE_UDP_H
#define BURROW_NATIVE_UDP_H

#include <sys/socket.h>

#include "common.h"
#include "fp-core.h"

typedef struct {
  bn_io io;
  int family; /* AF_INET6 (dual-stack) or AF_INET */
  uint32_t batch;
  uint8_t *slots;
  struct mmsghdr *msgs;
  struct iovec *iov;
  fp_sockaddr *addrs;
  uint64_t packets_received, bytes_received, receive_batches, receive_errors, truncated;
  uint64_t packets_sent, bytes_sent, send_dropped, send_errors;
  int last_send_errno, last_receive_errno;
} bn_udp;

#define BN_UDP_SLOT 65536u /* receive room per datagram: any UDP payload fits */

bn_udp *bn_udp_unwrap(napi_env env, napi_value value);
/* Hands `count` datagrams (back to back in `data`, lengths in `lengths`, sources in `from`) to the
 * JS callback as one batch. Needs a handle scope; the bind may be closed on return (io.fd < 0). */
/* The batch layout JS reads datagrams in: payloads back to back, then per datagram [length,
 * port | hostIndex << 16] (and `extra`, when given, as a third word), with the source hosts as
 * text in *hosts_out. false when out of memory (nothing thrown). */
bool bn_datagram_batch(napi_env env, const uint8_t *data, const uint32_t *lengths, const fp_sockaddr *from,
                       const uint32_t *extra, uint32_t count, napi_value *buffer_out, napi_value *hosts_out);
void bn_udp_deliver(bn_udp *u, const uint8_t *data, const uint32_t *lengths, const fp_sockaddr *from, uint32_t count);
/* Sends with sendmmsg(2) until done, counting what was sent, dropped (full) and refused. */
void bn_udp_send_msgs(bn_udp *u, struct mmsghdr *msgs, uint32_t count);
void bn_udp_on_readable(bn_io *io, int poll_status);
/* Parses an address literal for a socket of `family`; returns NULL or what is wrong with it. */
const char *bn_parse_host(int family, const char *text, fp_sockaddr *out);

#endif
