/*
 * Coalescing decrypted packets into TCP super-packets for the TUN (GRO), by Linux's rules
 * (tcp_gro_receive, inet_gro_receive, ipv6_gro_receive): segments of one flow with consecutive
 * sequence numbers, equal acknowledgment, window, options and IP fields, flags ACK (PSH on the
 * last), each full-sized but the last. Every segment's checksum is verified before it joins, since
 * the super-packet goes up marked as checksummed. The rest goes up as it came, in order.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fp-csum.h"
#include "fp-offload.h"

#define OPEN_FLOWS 8
#define TCP_ACK 0x10
#define TCP_PSH 0x08
#define MAX_SUPER 65535u
#define MAX_SEGMENTS 64u /* keeps a write within IOV_MAX */
#define NONE UINT32_MAX

typedef struct {
  uint8_t *packet;
  size_t len;
  uint32_t next; /* the next member of its group */
} gro_item;

typedef struct {
  uint32_t first, last, count;
  bool v6, closed, verified;
  size_t ip_header, tcp_header, gso, total;
  uint32_t next_seq;
  uint8_t header[FP_VNET_HDR_LEN + 40 + 60];
} gro_group;

struct fp_gro {
  uint32_t cap, n, groups_used, open_count, writes;
  gro_item *items;
  gro_group *groups;
  uint32_t open[OPEN_FLOWS];
  struct iovec *iov;
  uint32_t *write_at;
  int *write_count;
  uint8_t zero[FP_VNET_HDR_LEN];
  uint64_t merged;
};

fp_gro *fp_gro_new(uint32_t capacity) {
  fp_gro *g = calloc(1, sizeof *g);
  if (!g) return NULL;
  g->cap = capacity;
  g->items = calloc(capacity, sizeof *g->items);
  g->groups = calloc(capacity, sizeof *g->groups);
  g->iov = calloc((size_t)capacity * 2, sizeof *g->iov);
  g->write_at = calloc(capacity, sizeof *g->write_at);
  g->write_count = calloc(capacity, sizeof *g->write_count);
  if (!g->items || !g->groups || !g->iov || !g->write_at || !g->write_count) {
    fp_gro_free(g);
    return NULL;
  }
  return g;
}

void fp_gro_free(fp_gro *g) {
  if (!g) return;
  free(g->items);
  free(g->groups);
  free(g->iov);
  free(g->write_at);
  free(g->write_count);
  free(g);
}

void fp_gro_reset(fp_gro *g) {
  g->n = g->groups_used = g->open_count = g->writes = 0;
}

uint64_t fp_gro_merged(const fp_gro *g) {
  return g->merged;
}

/* A TCP segment that may join a super-packet: its header lengths and payload, or false. */
static bool coalescable(const uint8_t *p, size_t len, bool *v6, size_t *ip_header, size_t *tcp_header) {
  if (len < 40) return false;
  if ((p[0] >> 4) == 4) {
    /* No options, not a fragment (DF allowed), TCP */
    if (p[0] != 0x45 || (fp_get_be16(p + 6) & 0x3fff) != 0 || p[9] != 6 || fp_get_be16(p + 2) != len) return false;
    *v6 = false;
    *ip_header = 20;
  } else if ((p[0] >> 4) == 6) {
    if (p[6] != 6 || (size_t)fp_get_be16(p + 4) + 40 != len) return false;
    *v6 = true;
    *ip_header = 40;
  } else {
    return false;
  }
  const uint8_t *t = p + *ip_header;
  if (len < *ip_header + 20) return false;
  *tcp_header = (size_t)(t[12] >> 4) * 4;
  if (*tcp_header < 20 || *ip_header + *tcp_header >= len) return false; /* no payload: nothing to merge */
  uint8_t flags = t[13];
  return flags == TCP_ACK || flags == (TCP_ACK | TCP_PSH);
}

static bool checksum_ok(const uint8_t *p, size_t len, bool v6, size_t ip_header) {
  uint64_t sum = fp_csum_pseudo(p, v6, 6, (uint32_t)(len - ip_header));
  return fp_csum_fold(fp_csum_add(sum, p + ip_header, len - ip_header)) == 0xffff;
}

/* Whether segment `p` belongs to the flow of group `gr` (everything but the sequence number). */
static bool same_flow(const gro_group *gr, const uint8_t *first, const uint8_t *p, bool v6, size_t ip_header,
                      size_t tcp_header) {
  if (gr->v6 != v6 || gr->tcp_header != tcp_header) return false;
  if (v6) {
    /* version, traffic class, flow label; hop limit; addresses */
    if (memcmp(first, p, 4) != 0 || first[7] != p[7] || memcmp(first + 8, p + 8, 32) != 0) return false;
  } else {
    /* TOS, DF, TTL, protocol; addresses */
    if (first[1] != p[1] || first[6] != p[6] || first[8] != p[8] || memcmp(first + 12, p + 12, 8) != 0) return false;
  }
  const uint8_t *a = first + ip_header, *b = p + ip_header;
  /* ports; acknowledgment; header length, flags but PSH, window; options */
  return memcmp(a, b, 4) == 0 && memcmp(a + 8, b + 8, 4) == 0 && a[12] == b[12] &&
         (a[13] & ~TCP_PSH) == (b[13] & ~TCP_PSH) && memcmp(a + 14, b + 14, 2) == 0 &&
         memcmp(a + 20, b + 20, tcp_header - 20) == 0;
}

static void close_open(fp_gro *g, uint32_t at) {
  g->groups[g->open[at]].closed = true;
  g->open[at] = g->open[--g->open_count];
}

static uint32_t new_group(fp_gro *g, uint32_t item) {
  gro_group *gr = &g->groups[g->groups_used];
  memset(gr, 0, offsetof(gro_group, header));
  gr->first = gr->last = item;
  gr->count = 1;
  gr->closed = true;
  return g->groups_used++;
}

bool fp_gro_add(fp_gro *g, uint8_t *packet, size_t len) {
  if (g->n == g->cap) return false;
  uint32_t item = g->n++;
  g->items[item] = (gro_item){packet, len, NONE};
  bool v6;
  size_t ip_header, tcp_header;
  if (!coalescable(packet, len, &v6, &ip_header, &tcp_header)) {
    new_group(g, item);
    return true;
  }
  size_t payload = len - ip_header - tcp_header;
  uint32_t seq = fp_get_be32(packet + ip_header + 4);
  bool psh = packet[ip_header + 13] & TCP_PSH;
  for (uint32_t o = 0; o < g->open_count; o++) {
    gro_group *gr = &g->groups[g->open[o]];
    const uint8_t *first = g->items[gr->first].packet;
    if (!same_flow(gr, first, packet, v6, ip_header, tcp_header)) continue;
    bool fits = seq == gr->next_seq && payload <= gr->gso && gr->total + payload <= MAX_SUPER &&
                gr->count < MAX_SEGMENTS;
    if (fits && !gr->verified) {
      gr->verified = checksum_ok(first, g->items[gr->first].len, v6, ip_header);
      fits = gr->verified;
    }
    if (fits && checksum_ok(packet, len, v6, ip_header)) {
      g->items[gr->last].next = item;
      gr->last = item;
      gr->count++;
      gr->total += payload;
      gr->next_seq = seq + (uint32_t)payload;
      g->merged++;
      if (payload < gr->gso || psh) close_open(g, o);
      return true;
    }
    close_open(g, o); /* out of order, or a change: the flow starts over */
    break;
  }
  uint32_t at = new_group(g, item);
  gro_group *gr = &g->groups[at];
  if (psh) return true;
  gr->closed = false;
  gr->v6 = v6;
  gr->ip_header = ip_header;
  gr->tcp_header = tcp_header;
  gr->gso = payload;
  gr->total = len;
  gr->next_seq = seq + (uint32_t)payload;
  if (g->open_count == OPEN_FLOWS) close_open(g, 0);
  g->open[g->open_count++] = at;
  return true;
}

/* The virtio header and IP/TCP headers of a super-packet, from its first segment. */
static size_t super_header(const fp_gro *g, gro_group *gr) {
  const gro_item *first = &g->items[gr->first];
  const gro_item *last = &g->items[gr->last];
  size_t headers = gr->ip_header + gr->tcp_header;
  uint8_t *h = gr->header + FP_VNET_HDR_LEN;
  memcpy(h, first->packet, headers);
  uint8_t *t = h + gr->ip_header;
  t[13] |= last->packet[gr->ip_header + 13] & TCP_PSH;
  if (gr->v6) {
    fp_put_be16(h + 4, (uint16_t)(gr->total - 40));
  } else {
    fp_put_be16(h + 2, (uint16_t)gr->total);
    fp_ipv4_checksum(h, 20);
  }
  /* CHECKSUM_PARTIAL: the field holds the pseudo-header sum, as a NIC would expect it */
  fp_put_be16(t + 16, fp_csum_fold(fp_csum_pseudo(h, gr->v6, 6, (uint32_t)(gr->total - gr->ip_header))));
  struct virtio_net_hdr vh = {
      .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
      .gso_type = gr->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
      .hdr_len = (uint16_t)headers,
      .gso_size = (uint16_t)gr->gso,
      .csum_start = (uint16_t)gr->ip_header,
      .csum_offset = 16,
  };
  memcpy(gr->header, &vh, sizeof vh);
  return FP_VNET_HDR_LEN + headers;
}

uint32_t fp_gro_finish(fp_gro *g) {
  uint32_t at = 0;
  g->writes = 0;
  for (uint32_t i = 0; i < g->groups_used; i++) {
    gro_group *gr = &g->groups[i];
    g->write_at[g->writes] = at;
    if (gr->count == 1) {
      g->iov[at++] = (struct iovec){g->zero, FP_VNET_HDR_LEN};
      g->iov[at++] = (struct iovec){g->items[gr->first].packet, g->items[gr->first].len};
      g->write_count[g->writes++] = 2;
      continue;
    }
    size_t headers = gr->ip_header + gr->tcp_header;
    g->iov[at++] = (struct iovec){gr->header, super_header(g, gr)};
    for (uint32_t m = gr->first; m != NONE; m = g->items[m].next) {
      g->iov[at++] = (struct iovec){g->items[m].packet + headers, g->items[m].len - headers};
    }
    g->write_count[g->writes++] = (int)(gr->count + 1);
  }
  return g->writes;
}

struct iovec *fp_gro_write(fp_gro *g, uint32_t i, int *iovcnt) {
  *iovcnt = g->write_count[i];
  return &g->iov[g->write_at[i]];
}
