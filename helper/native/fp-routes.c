#include "fp-routes.h"

#include <stdlib.h>
#include <string.h>

void fp_routes_init(fp_routes *r) {
  memset(r, 0, sizeof *r);
  r->root[0] = r->root[1] = -1;
}

void fp_routes_free(fp_routes *r) {
  free(r->nodes);
  fp_routes_init(r);
}

static int32_t new_node(fp_routes *r) {
  if (r->count == r->cap) {
    uint32_t cap = r->cap ? r->cap * 2 : 64;
    fp_route_node *nodes = realloc(r->nodes, sizeof *nodes * cap);
    if (!nodes) return -1;
    r->nodes = nodes;
    r->cap = cap;
  }
  fp_route_node *n = &r->nodes[r->count];
  n->child[0] = n->child[1] = n->slot = -1;
  return (int32_t)r->count++;
}

static inline int bit_at(const uint8_t *addr, int i) {
  return (addr[i >> 3] >> (7 - (i & 7))) & 1;
}

bool fp_routes_insert(fp_routes *r, const uint8_t *addr, int bytes, int cidr, int32_t slot) {
  int family = bytes == 4 ? 0 : 1;
  if (r->root[family] < 0 && (r->root[family] = new_node(r)) < 0) return false;
  int32_t at = r->root[family];
  for (int i = 0; i < cidr; i++) {
    int b = bit_at(addr, i);
    int32_t next = r->nodes[at].child[b];
    if (next < 0) {
      if ((next = new_node(r)) < 0) return false;
      r->nodes[at].child[b] = next; /* new_node may have moved r->nodes: index again */
    }
    at = next;
  }
  r->nodes[at].slot = slot;
  return true;
}

int32_t fp_routes_lookup(const fp_routes *r, const uint8_t *addr, int bytes) {
  int32_t at = r->root[bytes == 4 ? 0 : 1];
  int32_t found = -1;
  for (int i = 0; at >= 0; i++) {
    if (r->nodes[at].slot >= 0) found = r->nodes[at].slot;
    if (i == bytes * 8) break;
    at = r->nodes[at].child[bit_at(addr, i)];
  }
  return found;
}
