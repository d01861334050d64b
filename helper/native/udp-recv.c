/*
 * The UDP socket's receive path (udp.c says what the socket is).
 *
 * A receive batch reaches JS as callback(buffer, count, hosts): `buffer` is a fresh ArrayBuffer with
 * the payloads back to back, followed (at byteLength - 8 * count, 4-aligned) by `count` pairs of
 * uint32 in host byte order: [length, port | hostIndex << 16]; hosts[hostIndex] is the source address
 * as text (IPv4 dotted, v4-mapped IPv6 shown as IPv4, IPv6 as inet_ntop writes it, "%scope" appended
 * for scoped addresses). Errors arrive as callback(undefined, 0, error), after which reading stopped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "common.h"
#include "udp.h"

#define UDP_SLOT BN_UDP_SLOT
#define UDP_MAX_BATCH BN_UDP_MAX_BATCH
#define UDP_HOST_CACHE 16u    /* distinct sources remembered per receive batch */

static bool same_host(const bn_sockaddr *a, const bn_sockaddr *b) {
  if (a->sa.sa_family != b->sa.sa_family) return false;
  if (a->sa.sa_family == AF_INET) return a->v4.sin_addr.s_addr == b->v4.sin_addr.s_addr;
  return a->v6.sin6_scope_id == b->v6.sin6_scope_id &&
         memcmp(&a->v6.sin6_addr, &b->v6.sin6_addr, sizeof(struct in6_addr)) == 0;
}

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
      char text[BN_HOST_TEXT];
      napi_value str;
      bn_format_host(a, text);
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

