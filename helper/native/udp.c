/*
 * burrowd's UDP socket: one dual-stack AF_INET6 socket (IPV6_V6ONLY=0) serving IPv4 and IPv6 on one
 * port, or a plain AF_INET socket where the kernel has no IPv6. Marked with SO_MARK, non-blocking,
 * received with recvmmsg(2) from a uv_poll callback and sent with sendmmsg(2). Each datagram's local
 * address comes with it (pktinfo), and answers go from it (udp-source.c).
 *
 * A receive batch reaches JS as callback(buffer, count, hosts): `buffer` is a fresh ArrayBuffer with
 * the payloads back to back, followed (at byteLength - 8 * count, 4-aligned) by `count` pairs of
 * uint32 in host byte order: [length, port | hostIndex << 16]; hosts[hostIndex] is the source address
 * as text (IPv4 dotted, v4-mapped IPv6 shown as IPv4, IPv6 as inet_ntop writes it, "%scope" appended
 * for scoped addresses). Errors arrive as callback(undefined, 0, error), after which reading stopped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "native.h"
#include "udp.h"

#define UDP_MAGIC 0x55445031u /* "UDP1" */
#define UDP_SLOT BN_UDP_SLOT
#define UDP_MAX_BATCH BN_UDP_MAX_BATCH
#define UDP_SEND_CHUNK 128u   /* datagrams per sendmmsg(2) */
#define UDP_HOST_CACHE 16u    /* distinct sources remembered per receive batch */
#define UDP_STACK_HOSTS 16u
#define HOST_TEXT (INET6_ADDRSTRLEN + IF_NAMESIZE + 2)

typedef fp_sockaddr bn_sockaddr;

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

/* ---- addresses ------------------------------------------------------------------------------- */

static void format_host(const bn_sockaddr *a, char *out) {
  if (a->sa.sa_family == AF_INET) {
    inet_ntop(AF_INET, &a->v4.sin_addr, out, INET_ADDRSTRLEN);
    return;
  }
  if (IN6_IS_ADDR_V4MAPPED(&a->v6.sin6_addr)) {
    inet_ntop(AF_INET, &a->v6.sin6_addr.s6_addr[12], out, INET_ADDRSTRLEN);
    return;
  }
  inet_ntop(AF_INET6, &a->v6.sin6_addr, out, INET6_ADDRSTRLEN);
  if (a->v6.sin6_scope_id != 0) {
    char ifname[IF_NAMESIZE];
    size_t len = strlen(out);
    if (if_indextoname(a->v6.sin6_scope_id, ifname)) {
      snprintf(out + len, HOST_TEXT - len, "%%%s", ifname);
    } else {
      snprintf(out + len, HOST_TEXT - len, "%%%u", a->v6.sin6_scope_id);
    }
  }
}

static bool same_host(const bn_sockaddr *a, const bn_sockaddr *b) {
  if (a->sa.sa_family != b->sa.sa_family) return false;
  if (a->sa.sa_family == AF_INET) return a->v4.sin_addr.s_addr == b->v4.sin_addr.s_addr;
  return a->v6.sin6_scope_id == b->v6.sin6_scope_id &&
         memcmp(&a->v6.sin6_addr, &b->v6.sin6_addr, sizeof(struct in6_addr)) == 0;
}

const char *bn_parse_host(int family, const char *text, fp_sockaddr *out) {
  memset(out, 0, sizeof *out);
  struct in_addr v4;
  if (inet_pton(AF_INET, text, &v4) == 1) {
    if (family == AF_INET) {
      out->v4.sin_family = AF_INET;
      out->v4.sin_addr = v4;
    } else {
      out->v6.sin6_family = AF_INET6;
      out->v6.sin6_addr.s6_addr[10] = 0xff;
      out->v6.sin6_addr.s6_addr[11] = 0xff;
      memcpy(&out->v6.sin6_addr.s6_addr[12], &v4, 4);
    }
    return NULL;
  }
  char addr[HOST_TEXT];
  size_t len = strnlen(text, sizeof addr);
  if (len >= sizeof addr) return "too long for an address literal";
  memcpy(addr, text, len + 1);
  char *scope = strchr(addr, '%');
  if (scope) *scope++ = '\0';
  if (inet_pton(AF_INET6, addr, &out->v6.sin6_addr) != 1) {
    return "not an IPv4 or IPv6 address literal (hostnames are not resolved: the caller resolves them)";
  }
  if (family == AF_INET) return "an IPv6 address, and this kernel has no IPv6 (the socket is IPv4 only)";
  out->v6.sin6_family = AF_INET6;
  if (scope) {
    char *end = NULL;
    unsigned long id = strtoul(scope, &end, 10);
    if (*scope != '\0' && end && *end == '\0' && id <= 0xffffffffu) {
      out->v6.sin6_scope_id = (uint32_t)id;
    } else if ((out->v6.sin6_scope_id = if_nametoindex(scope)) == 0) {
      return "an IPv6 address with an unknown scope (interface)";
    }
  }
  return NULL;
}

/* ---- receiving ------------------------------------------------------------------------------- */

static bool fatal_socket_error(int err) {
  return err == EBADF || err == ENOTSOCK || err == EFAULT || err == EINVAL || err == EBADFD;
}

bool bn_datagram_batch(napi_env env, const uint8_t *data, const uint32_t *lengths, const fp_sockaddr *from,
                       const uint32_t *extra, uint32_t count, napi_value *buffer_out, napi_value *hosts_out) {
  size_t total = 0;
  for (uint32_t i = 0; i < count; i++) total += lengths[i];
  size_t table_at = (total + 3) & ~(size_t)3;
  size_t stride = extra ? 3 : 2;
  void *buffer = NULL;
  if (napi_create_arraybuffer(env, table_at + (size_t)count * stride * 4, &buffer, buffer_out) != napi_ok ||
      napi_create_array(env, hosts_out) != napi_ok) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    return false;
  }
  uint8_t *bytes = buffer;
  uint32_t *table = (uint32_t *)(bytes + table_at);
  memcpy(bytes, data, total);
  memset(bytes + total, 0, table_at - total);
  bn_sockaddr cache[UDP_HOST_CACHE];
  uint32_t cached = 0, hosts = 0;
  for (uint32_t i = 0; i < count; i++) {
    const bn_sockaddr *a = &from[i];
    uint32_t host = UINT32_MAX;
    for (uint32_t c = 0; c < cached; c++) {
      if (same_host(&cache[c], a)) {
        host = c;
        break;
      }
    }
    if (host == UINT32_MAX) {
      /* While the cache has room, host indices and cache slots coincide. */
      char text[HOST_TEXT];
      napi_value str;
      format_host(a, text);
      host = hosts++;
      napi_create_string_latin1(env, text, NAPI_AUTO_LENGTH, &str);
      napi_set_element(env, *hosts_out, host, str);
      if (cached < UDP_HOST_CACHE) cache[cached++] = *a;
    }
    uint16_t port = ntohs(a->sa.sa_family == AF_INET ? a->v4.sin_port : a->v6.sin6_port);
    table[stride * i] = lengths[i];
    table[stride * i + 1] = (uint32_t)port | host << 16;
    if (extra) table[stride * i + 2] = extra[i];
  }
  return true;
}

void bn_udp_deliver(bn_udp *u, const uint8_t *data, const uint32_t *lengths, const fp_sockaddr *from, uint32_t count) {
  bn_io *io = &u->io;
  napi_value argv[3];
  if (!bn_datagram_batch(io->env, data, lengths, from, NULL, count, &argv[0], &argv[2])) {
    bn_io_fail(io, ENOMEM, NULL, "allocating a UDP batch buffer");
    return;
  }
  for (uint32_t i = 0; i < count; i++) u->bytes_received += lengths[i];
  u->packets_received += count;
  u->receive_batches++;
  napi_create_uint32(io->env, count, &argv[1]);
  bn_io_call(io, 3, argv);
}

void bn_udp_on_readable(bn_io *io, int poll_status) {
  bn_udp *u = (bn_udp *)io;
  for (uint32_t i = 0; i < u->batch; i++) {
    u->msgs[i].msg_hdr.msg_namelen = sizeof(bn_sockaddr);
    u->msgs[i].msg_hdr.msg_control = &u->rx_ctl[i];
    u->msgs[i].msg_hdr.msg_controllen = sizeof u->rx_ctl[i];
    u->msgs[i].msg_hdr.msg_flags = 0;
  }
  int n;
  do {
    n = recvmmsg(io->fd, u->msgs, u->batch, MSG_DONTWAIT, NULL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      if (poll_status < 0) bn_io_fail(io, -poll_status, "poll", "poll UDP socket");
      return;
    }
    u->receive_errors++;
    u->last_receive_errno = err;
    if (fatal_socket_error(err) || poll_status < 0) bn_io_fail(io, err, "recvmmsg", "recvmmsg on UDP socket");
    return;
  }
  /* Packed in place: each kept datagram moves down to the end of the previous one. */
  uint32_t kept = 0;
  size_t at = 0;
  uint32_t lengths[UDP_MAX_BATCH];
  for (int i = 0; i < n; i++) {
    if (u->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
    bn_udp_learn_source(u, &u->addrs[i], &u->msgs[i].msg_hdr);
    uint32_t len = u->msgs[i].msg_len;
    memmove(u->slots + at, u->slots + (size_t)i * UDP_SLOT, len);
    u->addrs[kept] = u->addrs[i];
    lengths[kept++] = len;
    at += len;
  }
  u->truncated += (uint64_t)n - kept;
  if (kept > 0) {
    bn_udp_deliver(u, u->slots, lengths, u->addrs, kept);
    if (io->fd < 0) return;
  }
  if (poll_status < 0) bn_io_fail(io, -poll_status, "poll", "poll UDP socket");
}

bn_udp *bn_udp_unwrap(napi_env env, napi_value value) {
  return (bn_udp *)bn_io_unwrap(env, value, UDP_MAGIC, true, "UDP bind is closed");
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
    char host[HOST_TEXT];
    format_host(local, host);
    return bn_throw_errno(env, e, "bind", "bind UDP %s port %u", host, port);
  }
  uint16_t bound = ntohs(family == AF_INET6 ? local->v6.sin6_port : local->v4.sin_port);
  int rcvbuf = get_int(fd, SOL_SOCKET, SO_RCVBUF), sndbuf = get_int(fd, SOL_SOCKET, SO_SNDBUF);

  napi_value handle = bn_io_wrap(env, &u->io, UDP_MAGIC, fd, bn_udp_on_readable, udp_destroy);
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
  char text[HOST_TEXT + 1];
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
  if (text_len < HOST_TEXT && inet_pton(AF_INET, text, &local.v4.sin_addr) == 1) {
    family = AF_INET;
    local.v4.sin_family = AF_INET;
    local.v4.sin_port = htons((uint16_t)port);
  } else if (text_len < HOST_TEXT && inet_pton(AF_INET6, text, &local.v6.sin6_addr) == 1) {
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
  bn_io *io = bn_io_unwrap(env, argv[0], UDP_MAGIC, true, "UDP bind is closed");
  if (!io) return NULL;
  return bn_io_start(env, io, argv[0], argv[1], "BurrowUdp");
}

/* ---- sending --------------------------------------------------------------------------------- */

/* The hop limit of one send (IP_TTL, or IPV6_HOPLIMIT toward a native IPv6 address) as its cmsg. */
typedef union {
  char buf[CMSG_SPACE(sizeof(int))];
  struct cmsghdr align;
} udp_ttl_ctl;

static void set_ttl(udp_ttl_ctl *ctl, struct msghdr *h, const bn_sockaddr *to, int ttl) {
  struct cmsghdr *cm = (struct cmsghdr *)(void *)ctl->buf;
  /* A v4-mapped destination on the dual-stack socket goes out as IPv4, which reads IP_TTL. */
  bool v6 = to->sa.sa_family == AF_INET6 && !IN6_IS_ADDR_V4MAPPED(&to->v6.sin6_addr);
  cm->cmsg_level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
  cm->cmsg_type = v6 ? IPV6_HOPLIMIT : IP_TTL;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &ttl, sizeof ttl);
  h->msg_control = ctl->buf;
  h->msg_controllen = sizeof ctl->buf;
}

/* udpSend(handle, datas: Uint8Array[], meta: Uint32Array (port | hostIndex << 16), hosts: string[],
 * ttl?: number): number sent. Hosts are all parsed before anything is sent. With ttl (1..255) the
 * datagrams go out with that hop limit: a hole punch that opens our own NAT without reaching the
 * peer's (helper/paths). */
napi_value bn_udp_send(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  size_t argc = 5;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    bn_throw_last(env);
    return NULL;
  }
  if (argc < 4) return bn_throw_type(env, "expected 4 or 5 arguments, got %zu", argc);
  uint32_t ttl = 0;
  napi_valuetype ttl_type = napi_undefined;
  if (argc == 5) napi_typeof(env, argv[4], &ttl_type);
  if (ttl_type != napi_undefined) {
    if (!bn_get_u32(env, argv[4], "ttl", &ttl)) return NULL;
    if (ttl < 1 || ttl > 255) return bn_throw_range(env, "ttl must be 1 to 255, got %u", ttl);
  }
  bn_udp *u = (bn_udp *)bn_io_unwrap(env, argv[0], UDP_MAGIC, true, "UDP bind is closed");
  if (!u) return NULL;
  bool is_array = false, is_hosts_array = false, is_typed = false;
  napi_is_array(env, argv[1], &is_array);
  napi_is_array(env, argv[3], &is_hosts_array);
  napi_is_typedarray(env, argv[2], &is_typed);
  if (!is_array || !is_hosts_array) return bn_throw_type(env, "datagrams and hosts must be arrays");
  napi_typedarray_type meta_type = napi_int8_array;
  size_t meta_len = 0;
  void *meta_data = NULL;
  if (is_typed) napi_get_typedarray_info(env, argv[2], &meta_type, &meta_len, &meta_data, NULL, NULL);
  if (!is_typed || meta_type != napi_uint32_array) return bn_throw_type(env, "meta must be a Uint32Array");
  const uint32_t *meta = meta_data;
  uint32_t n = 0, n_hosts = 0;
  BN_CALL(env, napi_get_array_length(env, argv[1], &n));
  BN_CALL(env, napi_get_array_length(env, argv[3], &n_hosts));
  if (meta_len < n) return bn_throw_range(env, "meta has %zu entries for %u datagrams", meta_len, n);

  bn_sockaddr stack_hosts[UDP_STACK_HOSTS];
  bn_sockaddr *hosts = n_hosts <= UDP_STACK_HOSTS ? stack_hosts : malloc(sizeof(bn_sockaddr) * n_hosts);
  if (!hosts) return bn_throw_errno(env, ENOMEM, NULL, "allocating %u addresses", n_hosts);
  napi_value result = NULL;
  for (uint32_t h = 0; h < n_hosts; h++) {
    napi_value value;
    napi_valuetype type = napi_undefined;
    char text[HOST_TEXT + 1];
    size_t len = 0;
    if (napi_get_element(env, argv[3], h, &value) == napi_ok) napi_typeof(env, value, &type);
    if (type != napi_string) {
      bn_throw_type(env, "host must be a string");
      goto out;
    }
    napi_get_value_string_utf8(env, value, text, sizeof text, &len);
    const char *problem = len >= HOST_TEXT ? "too long for an address literal" : bn_parse_host(u->family, text, &hosts[h]);
    if (problem) {
      char message[320];
      snprintf(message, sizeof message, "invalid host \"%.*s\": %s", (int)(len > 64 ? 64 : len), text, problem);
      napi_throw_type_error(env, "ERR_INVALID_IP_ADDRESS", message);
      goto out;
    }
  }

  struct mmsghdr msgs[UDP_SEND_CHUNK];
  struct iovec iov[UDP_SEND_CHUNK];
  bn_sockaddr addrs[UDP_SEND_CHUNK];
  udp_ttl_ctl ttls[UDP_SEND_CHUNK];
  socklen_t addr_len = u->family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  uint64_t sent_before = u->packets_sent;
  memset(msgs, 0, sizeof msgs);
  for (uint32_t base = 0; base < n; base += UDP_SEND_CHUNK) {
    uint32_t count = n - base < UDP_SEND_CHUNK ? n - base : UDP_SEND_CHUNK;
    for (uint32_t j = 0; j < count; j++) {
      uint32_t i = base + j;
      napi_value element;
      bool typed = false;
      napi_typedarray_type type = napi_int8_array;
      size_t length = 0;
      void *data = NULL;
      if (napi_get_element(env, argv[1], i, &element) == napi_ok) napi_is_typedarray(env, element, &typed);
      if (typed) napi_get_typedarray_info(env, element, &type, &length, &data, NULL, NULL);
      if (!typed || type != napi_uint8_array) {
        bn_throw_type(env, "datagrams[%u].data is not a Uint8Array", i);
        goto out;
      }
      uint32_t port = meta[i] & 0xffff, host = meta[i] >> 16;
      if (port == 0 || host >= n_hosts) {
        bn_throw_range(env, "datagrams[%u]: port %u / host index %u out of range", i, port, host);
        goto out;
      }
      addrs[j] = hosts[host];
      if (u->family == AF_INET6) {
        addrs[j].v6.sin6_port = htons((uint16_t)port);
      } else {
        addrs[j].v4.sin_port = htons((uint16_t)port);
      }
      iov[j].iov_base = data;
      iov[j].iov_len = length;
      msgs[j].msg_hdr.msg_name = &addrs[j];
      msgs[j].msg_hdr.msg_namelen = addr_len;
      msgs[j].msg_hdr.msg_iov = &iov[j];
      msgs[j].msg_hdr.msg_iovlen = 1;
      if (ttl != 0) set_ttl(&ttls[j], &msgs[j].msg_hdr, &addrs[j], (int)ttl);
    }
    bn_udp_send_msgs(u, msgs, count);
  }
  napi_create_uint32(env, (uint32_t)(u->packets_sent - sent_before), &result);
out:
  if (hosts != stack_hosts) free(hosts);
  return result;
}

/* udpStats(handle): counters */
napi_value bn_udp_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!bn_args(env, info, 1, argv)) return NULL;
  bn_udp *u = (bn_udp *)bn_io_unwrap(env, argv[0], UDP_MAGIC, false, "UDP bind");
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
  bn_io *io = bn_io_unwrap(env, argv[0], UDP_MAGIC, true, "UDP bind");
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
  bn_io *io = bn_io_unwrap(env, argv[0], UDP_MAGIC, false, "UDP bind");
  if (!io) return NULL;
  bn_io_close(io);
  return NULL;
}
