/*
 * The fast path's copy of the allowed IPs (src/wireguard/allowed-ips.ts stays the authority and
 * pushes its whole table here whenever it changes): longest-prefix match from an address to a
 * peer slot, in a plain binary trie, one node per bit.
 */
#ifndef BURROW_NATIVE_FP_ROUTES_H
#define BURROW_NATIVE_FP_ROUTES_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  int32_t child[2];
  int32_t slot; /* -1: no route ends here */
} fp_route_node;

typedef struct {
  fp_route_node *nodes;
  uint32_t count, cap;
  int32_t root[2]; /* IPv4, IPv6 */
} fp_routes;

void fp_routes_init(fp_routes *r);
void fp_routes_free(fp_routes *r);
/* addr is 4 or 16 bytes; cidr at most 32 or 128. Returns false when out of memory. */
bool fp_routes_insert(fp_routes *r, const uint8_t *addr, int bytes, int cidr, int32_t slot);
/* The slot of the longest prefix holding the address, or -1. */
int32_t fp_routes_lookup(const fp_routes *r, const uint8_t *addr, int bytes);

#endif
