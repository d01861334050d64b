/*
 * burrowd's UDP socket: one dual-stack AF_INET6 socket (IPV6_V6ONLY=0) serving IPv4 and IPv6 on one
 * port, or a plain AF_INET socket where the kernel has no IPv6. Marked with SO_MARK, non-blocking,
 * received with recvmmsg(2) from a uv_poll callback (udp-recv.c) and sent with sendmmsg(2)
 * (udp-send.c). Each datagram's local address comes with it (pktinfo), and answers go from it
 * (udp-source.c). This file opens the socket, and sets, reports and closes it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "native.h"
#include "udp.h"

#define UDP_SLOT BN_UDP_SLOT
#define UDP_MAX_BATCH BN_UDP_MAX_BATCH

static void udp_free(bn_udp *u) {
  free(u->slots);
  free(u->msgs);
  free(u->iov);
  free(u->addrs);
  free(u->rx_ctl);
  free(u->sources);
  free(u->ctl);
  free(u);
}

static void udp_destroy(bn_io *io) {
  udp_free((bn_udp *)io);
}

bn_udp *bn_udp_unwrap(napi_env env, napi_value value) {
  return (bn_udp *)bn_io_unwrap(env, value, BN_UDP_MAGIC, true, "UDP bind is closed");
}

/* ---- opening --------------------------------------------------------------------------------- */

static int set_int(int fd, int level, int option, int value) {
  return setsockopt(fd, level, option, &value, sizeof value) == 0 ? 0 : errno;
}

static int get_int(int fd, int level, int option) {
  int value = 0;
  socklen_t len = sizeof value;
  return getsockopt(fd, level, option, &value, &len) == 0 ? value : -1;
}

/* SO_RCVBUFFORCE/SO_SNDBUFFORCE pass net.core.{r,w}mem_max but need CAP_NET_ADMIN; else the plain
 * option, which the kernel silently caps. */
static int set_buffer(int fd, int force, int plain, int size) {
  if (set_int(fd, SOL_SOCKET, force, size) == 0) return 0;
  return set_int(fd, SOL_SOCKET, plain, size);
}

/* The socket and its buffers for udpOpen and udpOpenAt: bound to `local` (its port 0: the kernel
 * picks), AF_INET6 sockets dual-stack unless `v6only`. Returns { handle, port, dualStack,
 * receiveBuffer, sendBuffer }, or throws. */
static napi_value udp_open(napi_env env, int family, bn_sockaddr *local, bool v6only, uint32_t mark,
                           uint32_t buffer, uint32_t batch, bool fall_back_to_v4) {
  if (batch < 1 || batch > UDP_MAX_BATCH) return bn_throw_range(env, "batch size must be 1 to %u", UDP_MAX_BATCH);
  if (buffer > (1u << 30)) return bn_throw_range(env, "buffer size must be at most 1 GiB");

  bn_udp *u = calloc(1, sizeof *u);
  if (u) {
    u->batch = batch;
    u->slots = malloc((size_t)batch * UDP_SLOT);
    u->msgs = calloc(batch, sizeof *u->msgs);
    u->iov = calloc(batch, sizeof *u->iov);
    u->addrs = calloc(batch, sizeof *u->addrs);
    u->rx_ctl = calloc(batch, sizeof *u->rx_ctl);
    u->sources = calloc(BN_UDP_SOURCES, sizeof *u->sources);
    u->ctl = calloc(BN_UDP_MAX_BATCH, sizeof *u->ctl);
  }
  if (!u || !u->slots || !u->msgs || !u->iov || !u->addrs || !u->rx_ctl || !u->sources || !u->ctl) {
    if (u) udp_free(u);
    return bn_throw_errno(env, ENOMEM, NULL, "allocating UDP buffers");
  }
  for (uint32_t i = 0; i < batch; i++) {
    u->iov[i].iov_base = u->slots + (size_t)i * UDP_SLOT;
    u->iov[i].iov_len = UDP_SLOT;
    u->msgs[i].msg_hdr.msg_iov = &u->iov[i];
    u->msgs[i].msg_hdr.msg_iovlen = 1;
    u->msgs[i].msg_hdr.msg_name = &u->addrs[i];
  }

  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0 && errno == EAFNOSUPPORT && fall_back_to_v4) {
    uint16_t port = local->v6.sin6_port;
    family = AF_INET;
    memset(local, 0, sizeof *local);
    local->v4.sin_family = AF_INET;
    local->v4.sin_addr.s_addr = htonl(INADDR_ANY);
    local->v4.sin_port = port;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  }
  if (fd < 0) {
    int e = errno;
    udp_free(u);
    return bn_throw_errno(env, e, "socket", "socket(AF_INET%s, SOCK_DGRAM)", family == AF_INET6 ? "6" : "");
  }
  u->family = family;
  int e;
  const char *failed = NULL;
  char what[64];
  if (family == AF_INET6 && (e = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only ? 1 : 0)) != 0) {
    failed = v6only ? "IPV6_V6ONLY=1" : "IPV6_V6ONLY=0";
  } else if (mark != 0 && (e = set_int(fd, SOL_SOCKET, SO_MARK, (int)mark)) != 0) {
    snprintf(what, sizeof what, "SO_MARK=0x%x%s", mark, e == EPERM ? " (needs CAP_NET_ADMIN or CAP_NET_RAW)" : "");
    failed = what;
  } else if (buffer != 0 && (e = set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, (int)buffer)) != 0) {
    snprintf(what, sizeof what, "SO_RCVBUF=%u", buffer);
    failed = what;
  } else if (buffer != 0 && (e = set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, (int)buffer)) != 0) {
    snprintf(what, sizeof what, "SO_SNDBUF=%u", buffer);
    failed = what;
  } else if ((e = bn_udp_enable_pktinfo(fd, family)) != 0) {
    failed = family == AF_INET6 ? "IPV6_RECVPKTINFO" : "IP_PKTINFO";
  }
  if (failed) {
    close(fd);
    udp_free(u);
    return bn_throw_errno(env, e, "setsockopt", "setsockopt %s on the UDP socket", failed);
  }
  socklen_t len = family == AF_INET6 ? sizeof local->v6 : sizeof local->v4;
  if (bind(fd, &local->sa, len) < 0 || getsockname(fd, &local->sa, &len) < 0) {
    e = errno;
    close(fd);
    uint16_t port = ntohs(family == AF_INET6 ? local->v6.sin6_port : local->v4.sin_port);
    udp_free(u);
    if (fall_back_to_v4) {
      return bn_throw_errno(env, e, "bind", "bind UDP port %u (IPv4%s)", port, family == AF_INET6 ? " and IPv6" : "");
    }
    char host[BN_HOST_TEXT];
    bn_format_host(local, host);
    return bn_throw_errno(env, e, "bind", "bind UDP %s port %u", host, port);
  }
  uint16_t bound = ntohs(family == AF_INET6 ? local->v6.sin6_port : local->v4.sin_port);
  int rcvbuf = get_int(fd, SOL_SOCKET, SO_RCVBUF), sndbuf = get_int(fd, SOL_SOCKET, SO_SNDBUF);

  napi_value handle = bn_io_wrap(env, &u->io, BN_UDP_MAGIC, fd, bn_udp_on_readable, udp_destroy);
  if (!handle) return NULL;
  napi_value result, dual;
  BN_CALL(env, napi_create_object(env, &result));
  BN_CALL(env, napi_set_named_property(env, result, "handle", handle));
  bn_set_double(env, result, "port", bound);
  BN_CALL(env, napi_get_boolean(env, family == AF_INET6 && !v6only, &dual));
  BN_CALL(env, napi_set_named_property(env, result, "dualStack", dual));
  bn_set_double(env, result, "receiveBuffer", rcvbuf);
  bn_set_double(env, result, "sendBuffer", sndbuf);
  return result;
}

/* udpOpen(port, fwmark, bufferSize, batch): { handle, port, dualStack, receiveBuffer, sendBuffer } */
napi_value bn_udp_open(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!bn_args(env, info, 4, argv)) return NULL;
  uint32_t port, mark, buffer, batch;
  if (!bn_get_u32(env, argv[0], "port", &port) || !bn_get_u32(env, argv[1], "fwmark", &mark) ||
      !bn_get_u32(env, argv[2], "buffer size", &buffer) || !bn_get_u32(env, argv[3], "batch size", &batch)) {
    return NULL;
  }
  if (port > 65535) return bn_throw_range(env, "port must be 0 to 65535, got %u", port);
  bn_sockaddr local;
  memset(&local, 0, sizeof local);
  local.v6.sin6_family = AF_INET6;
  local.v6.sin6_addr = in6addr_any;
  local.v6.sin6_port = htons((uint16_t)port);
  return udp_open(env, AF_INET6, &local, false, mark, buffer, batch, true);
}

/* udpOpenAt(address, port, bufferSize, batch): the same socket bound to one address (an IPv4 or
 * IPv6 literal; an IPv6 socket then serves IPv6 only), unmarked. A listener that must not take what
 * comes to the host's other addresses on its port (burrowd's resolver on 100.100.100.100:53). */
napi_value bn_udp_open_at(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!bn_args(env, info, 4, argv)) return NULL;
  char text[BN_HOST_TEXT + 1];
  size_t text_len = 0;
  napi_valuetype type = napi_undefined;
  napi_typeof(env, argv[0], &type);
  if (type != napi_string) return bn_throw_type(env, "address must be a string");
  napi_get_value_string_utf8(env, argv[0], text, sizeof text, &text_len);
  uint32_t port, buffer, batch;
  if (!bn_get_u32(env, argv[1], "port", &port) || !bn_get_u32(env, argv[2], "buffer size", &buffer) ||
      !bn_get_u32(env, argv[3], "batch size", &batch)) {
    return NULL;
  }
  if (port > 65535) return bn_throw_range(env, "port must be 0 to 65535, got %u", port);
  bn_sockaddr local;
  memset(&local, 0, sizeof local);
  int family;
  if (text_len < BN_HOST_TEXT && inet_pton(AF_INET, text, &local.v4.sin_addr) == 1) {
    family = AF_INET;
    local.v4.sin_family = AF_INET;
    local.v4.sin_port = htons((uint16_t)port);
  } else if (text_len < BN_HOST_TEXT && inet_pton(AF_INET6, text, &local.v6.sin6_addr) == 1) {
    family = AF_INET6;
    local.v6.sin6_family = AF_INET6;
    local.v6.sin6_port = htons((uint16_t)port);
  } else {
    return bn_throw_type(env, "address \"%.64s\" is not an IPv4 or IPv6 literal", text);
  }
  return udp_open(env, family, &local, true, 0, buffer, batch, false);
}

/* udpStart(handle, callback) */
napi_value bn_udp_start(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!bn_args(env, info, 2, argv)) return NULL;
  bn_io *io = bn_io_unwrap(env, argv[0], BN_UDP_MAGIC, true, "UDP bind is closed");
  if (!io) return NULL;
  return bn_io_start(env, io, argv[0], argv[1], "BurrowUdp");
}

/* udpStats(handle): counters */
napi_value bn_udp_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!bn_args(env, info, 1, argv)) return NULL;
  bn_udp *u = (bn_udp *)bn_io_unwrap(env, argv[0], BN_UDP_MAGIC, false, "UDP bind");
  if (!u) return NULL;
  napi_value o;
  BN_CALL(env, napi_create_object(env, &o));
  bn_set_double(env, o, "packetsReceived", (double)u->packets_received);
  bn_set_double(env, o, "bytesReceived", (double)u->bytes_received);
  bn_set_double(env, o, "receiveBatches", (double)u->receive_batches);
  bn_set_double(env, o, "receiveErrors", (double)u->receive_errors);
  bn_set_double(env, o, "truncated", (double)u->truncated);
  bn_set_double(env, o, "packetsSent", (double)u->packets_sent);
  bn_set_double(env, o, "bytesSent", (double)u->bytes_sent);
  bn_set_double(env, o, "sendDropped", (double)u->send_dropped);
  bn_set_double(env, o, "sendErrors", (double)u->send_errors);
  bn_set_double(env, o, "sourceResets", (double)u->source_resets);
  bn_set_errno_name(env, o, "lastSendError", u->last_send_errno);
  bn_set_errno_name(env, o, "lastReceiveError", u->last_receive_errno);
  return o;
}

/* udpSetMark(handle, fwmark): SO_MARK for every packet sent from now on (0: none), on the socket
 * itself, so that the fast path's engine, which sends on the same descriptor, marks them too. A new
 * mark on the same port cannot take a new socket: the old one holds the port. */
napi_value bn_udp_set_mark(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!bn_args(env, info, 2, argv)) return NULL;
  uint32_t mark;
  if (!bn_get_u32(env, argv[1], "fwmark", &mark)) return NULL;
  bn_io *io = bn_io_unwrap(env, argv[0], BN_UDP_MAGIC, true, "UDP bind");
  if (!io) return NULL;
  int e = set_int(io->fd, SOL_SOCKET, SO_MARK, (int)mark);
  if (e != 0) {
    return bn_throw_errno(env, e, "setsockopt", "setsockopt SO_MARK=0x%x on the UDP socket%s", mark,
                          e == EPERM ? " (needs CAP_NET_ADMIN or CAP_NET_RAW)" : "");
  }
  return NULL;
}

/* udpClose(handle) */
napi_value bn_udp_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!bn_args(env, info, 1, argv)) return NULL;
  bn_io *io = bn_io_unwrap(env, argv[0], BN_UDP_MAGIC, false, "UDP bind");
  if (!io) return NULL;
  bn_io_close(io);
  return NULL;
}
