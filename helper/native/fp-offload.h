/*
 * TUN offloads (IFF_VNET_HDR with TUNSETOFFLOAD): what the kernel hands us may be a TCP super-packet
 * of up to 64 KiB with a virtio_net_hdr saying how to cut it (TSO) and a checksum still to finish;
 * what we write may be such a super-packet too (GRO), built from consecutive segments of one TCP
 * flow. fp-tso.c cuts, fp-gro.c coalesces.
 */
#ifndef BURROW_NATIVE_FP_OFFLOAD_H
#define BURROW_NATIVE_FP_OFFLOAD_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define FP_VNET_HDR_LEN ((size_t)sizeof(struct virtio_net_hdr))
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5 /* USO, Linux 6.2; older headers lack it */
#endif

/* How a packet read from the TUN splits: `count` packets, each `segment` bytes but the last. */
typedef struct {
  uint32_t count;
  size_t segment;
  size_t last;
  size_t header; /* IP + transport header length, copied into every segment */
} fp_tso_plan;

/* Plans the split of `len` bytes read after `h`; false when the header or packet is malformed. */
bool fp_tso_plan_split(const struct virtio_net_hdr *h, const uint8_t *packet, size_t len, fp_tso_plan *plan);
/* Writes the head of segment i (of plan->count) at `out` (its headers, fixed, for a super-packet;
 * for a single packet up to its checksum, finished, or nothing) and returns its length; the rest
 * of the segment is the *tail_len bytes at *tail, in `packet`. */
size_t fp_tso_head(const struct virtio_net_hdr *h, const uint8_t *packet, size_t len, const fp_tso_plan *plan,
                   uint32_t i, uint8_t *out, const uint8_t **tail, size_t *tail_len);
/* Writes segment i (of plan->count) as a complete IP packet at `out`; returns its length. */
size_t fp_tso_segment(const struct virtio_net_hdr *h, const uint8_t *packet, size_t len, const fp_tso_plan *plan,
                      uint32_t i, uint8_t *out);

/*
 * Coalesces delivered packets into as few TUN writes as it can. Add packets in order, then take
 * the writes: each is an iovec list whose first element is the virtio header (and, for a
 * super-packet, the rewritten IP and TCP headers), then payloads pointing into the packets, which
 * must stay in place until written.
 */
typedef struct fp_gro fp_gro;
fp_gro *fp_gro_new(uint32_t capacity);
void fp_gro_free(fp_gro *g);
void fp_gro_reset(fp_gro *g);
/* false when full: write out what is there and reset first. */
bool fp_gro_add(fp_gro *g, uint8_t *packet, size_t len);
/* The number of writes, and write i's iovecs (valid until the next reset). */
uint32_t fp_gro_finish(fp_gro *g);
struct iovec *fp_gro_write(fp_gro *g, uint32_t i, int *iovcnt);
/* Packets merged into super-packets so far (a counter for stats). */
uint64_t fp_gro_merged(const fp_gro *g);

#endif
