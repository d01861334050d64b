/* Inner packets (src/packet/ip.ts): what the fast path reads of an IPv4 or IPv6 header. */
#ifndef BURROW_NATIVE_FP_IP_H
#define BURROW_NATIVE_FP_IP_H

#include <stddef.h>
#include <stdint.h>

/* The total length an IPv4 or IPv6 header declares, or -1 when malformed or longer than len. */
static inline long fp_ip_total_length(const uint8_t *p, size_t len) {
  if (len == 0) return -1;
  int version = p[0] >> 4;
  if (version == 4) {
    if (len < 20) return -1;
    size_t header = (size_t)(p[0] & 0x0f) * 4;
    size_t total = (size_t)p[2] << 8 | p[3];
    if (header < 20 || total < header || total > len) return -1;
    return (long)total;
  }
  if (version == 6) {
    if (len < 40) return -1;
    size_t total = 40 + ((size_t)p[4] << 8 | p[5]);
    return total > len ? -1 : (long)total;
  }
  return -1;
}

#endif
