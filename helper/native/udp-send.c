/* The UDP socket's send path from JS (udp.c says what the socket is); bn_udp_send_msgs, which the
 * fast path's engine calls too, is in udp-source.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common.h"
#include "native.h"
#include "udp.h"

#define UDP_SEND_CHUNK 128u   /* datagrams per sendmmsg(2) */
#define UDP_STACK_HOSTS 16u

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
  bn_udp *u = (bn_udp *)bn_io_unwrap(env, argv[0], BN_UDP_MAGIC, true, "UDP bind is closed");
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
    char text[BN_HOST_TEXT + 1];
    size_t len = 0;
    if (napi_get_element(env, argv[3], h, &value) == napi_ok) napi_typeof(env, value, &type);
    if (type != napi_string) {
      bn_throw_type(env, "host must be a string");
      goto out;
    }
    napi_get_value_string_utf8(env, value, text, sizeof text, &len);
    const char *problem = len >= BN_HOST_TEXT ? "too long for an address literal" : bn_parse_host(u->family, text, &hosts[h]);
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
