/* Addresses as JS gives and sees them: address literals parsed for the socket's family, and
 * sources formatted as text (IPv4 dotted, v4-mapped IPv6 shown as IPv4, "%scope" for scoped ones). */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udp.h"

void bn_format_host(const bn_sockaddr *a, char *out) {
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
      snprintf(out + len, BN_HOST_TEXT - len, "%%%s", ifname);
    } else {
      snprintf(out + len, BN_HOST_TEXT - len, "%%%u", a->v6.sin6_scope_id);
    }
  }
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
  char addr[BN_HOST_TEXT];
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
