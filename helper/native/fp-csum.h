/*
 * The Internet checksum (RFC 1071) for segmenting and coalescing TCP and UDP. Sums are taken over
 * 32-bit little-endian loads into 64 bits; a one's-complement sum does not depend on byte order
 * (RFC 1071 §2), so folding and swapping once at the end gives the big-endian value.
 */
#ifndef BURROW_NATIVE_FP_CSUM_H
#define BURROW_NATIVE_FP_CSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Adds `len` bytes starting at an even offset of the checksummed data (only the last region may
 * have an odd length). */
static inline uint64_t fp_csum_add(uint64_t sum, const uint8_t *p, size_t len) {
  while (len >= 32) {
    uint32_t w[8];
    memcpy(w, p, 32);
    sum += (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4] + w[5] + w[6] + w[7];
    p += 32;
    len -= 32;
  }
  while (len >= 4) {
    uint32_t w;
    memcpy(&w, p, 4);
    sum += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    sum += (uint32_t)p[0] | (uint32_t)p[1] << 8;
    p += 2;
    len -= 2;
  }
  if (len) sum += p[0];
  return sum;
}

/* The folded 16-bit sum, as a big-endian number (not complemented). */
static inline uint16_t fp_csum_fold(uint64_t sum) {
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)(((sum & 0xff) << 8) | (sum >> 8));
}

static inline uint16_t fp_get_be16(const uint8_t *p) {
  return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void fp_put_be16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static inline uint32_t fp_get_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void fp_put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* The pseudo-header sum of an IPv4 (v6 false) or IPv6 packet for its transport protocol. */
static inline uint64_t fp_csum_pseudo(const uint8_t *ip, int v6, uint8_t protocol, uint32_t length) {
  uint8_t tail[8] = {0, 0, (uint8_t)(length >> 24), (uint8_t)(length >> 16), (uint8_t)(length >> 8),
                     (uint8_t)length, 0, protocol};
  uint64_t sum = v6 ? fp_csum_add(0, ip + 8, 32) : fp_csum_add(0, ip + 12, 8);
  /* IPv4's pseudo header has a 16-bit length: the upper half of this one is zero then. */
  return fp_csum_add(sum, tail, 8);
}

/* The IPv4 header checksum, written in place. */
static inline void fp_ipv4_checksum(uint8_t *ip, size_t header_length) {
  ip[10] = ip[11] = 0;
  fp_put_be16(ip + 10, (uint16_t)~fp_csum_fold(fp_csum_add(0, ip, header_length)));
}

#endif
