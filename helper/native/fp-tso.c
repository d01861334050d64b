/*
 * Cutting what the TUN hands us into IP packets: a TSO/USO super-packet into segments with their
 * IPv4 length, ID and header checksum, TCP sequence numbers and flags (or UDP lengths) and
 * transport checksums fixed, as a NIC would; a single packet whose checksum the kernel left to us
 * (VIRTIO_NET_HDR_F_NEEDS_CSUM) gets it finished.
 */
#include <string.h>

#include "fp-csum.h"
#include "fp-offload.h"

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static bool is_udp_gso(uint8_t type) {
  return type == VIRTIO_NET_HDR_GSO_UDP_L4;
}

bool fp_tso_plan_split(const struct virtio_net_hdr *h, const uint8_t *packet, size_t len, fp_tso_plan *plan) {
  uint8_t type = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
  if (len == 0) return false;
  int version = packet[0] >> 4;
  if (type == VIRTIO_NET_HDR_GSO_NONE) {
    if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
      if ((size_t)h->csum_start + h->csum_offset + 2 > len) return false;
    }
    plan->count = 1;
    plan->segment = plan->last = len;
    plan->header = 0;
    return true;
  }
  if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || h->gso_size == 0) return false;
  if (type == VIRTIO_NET_HDR_GSO_TCPV4 && version != 4) return false;
  if (type == VIRTIO_NET_HDR_GSO_TCPV6 && version != 6) return false;
  if (type != VIRTIO_NET_HDR_GSO_TCPV4 && type != VIRTIO_NET_HDR_GSO_TCPV6 && !is_udp_gso(type)) return false;
  size_t l4 = h->csum_start;
  size_t ip_header = version == 4 ? (size_t)(packet[0] & 0x0f) * 4 : 40;
  if (version != 4 && version != 6) return false;
  if (l4 < ip_header || l4 + 8 > len) return false;
  size_t l4_header = is_udp_gso(type) ? 8 : (size_t)(packet[l4 + 12] >> 4) * 4;
  if (l4_header < 8 || (!is_udp_gso(type) && l4_header < 20) || l4 + l4_header > len) return false;
  size_t header = l4 + l4_header;
  size_t payload = len - header;
  if (payload == 0) return false;
  plan->header = header;
  plan->count = (uint32_t)((payload + h->gso_size - 1) / h->gso_size);
  plan->segment = header + h->gso_size;
  plan->last = header + (payload - (size_t)(plan->count - 1) * h->gso_size);
  return true;
}

size_t fp_tso_head(const struct virtio_net_hdr *h, const uint8_t *packet, size_t len, const fp_tso_plan *plan,
                   uint32_t i, uint8_t *out, const uint8_t **tail, size_t *tail_len) {
  if (plan->header == 0) {
    size_t head = 0;
    if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
      /* The kernel left the pseudo-header sum in the checksum field: sum the rest over it. The
       * head (up to the field) is rewritten; the rest is summed where it lies. */
      head = (size_t)h->csum_start + h->csum_offset + 2;
      if ((head - h->csum_start) & 1) head = len; /* an odd split would garble the sum: copy all */
      memcpy(out, packet, head);
      uint64_t sum = fp_csum_add(0, out + h->csum_start, head - h->csum_start);
      uint16_t csum = (uint16_t)~fp_csum_fold(fp_csum_add(sum, packet + head, len - head));
      uint8_t protocol = (out[0] >> 4) == 4 ? out[9] : out[6];
      if (csum == 0 && protocol == 17) csum = 0xffff; /* UDP sends zero as all ones */
      fp_put_be16(out + h->csum_start + h->csum_offset, csum);
    }
    *tail = packet + head;
    *tail_len = len - head;
    return head;
  }
  size_t header = plan->header;
  size_t gso = h->gso_size;
  size_t size = i + 1 == plan->count ? plan->last : plan->segment;
  size_t payload = size - header;
  const uint8_t *data = packet + header + (size_t)i * gso;
  memcpy(out, packet, header);
  bool v4 = (out[0] >> 4) == 4;
  size_t l4 = h->csum_start;
  uint8_t type = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
  if (v4) {
    fp_put_be16(out + 2, (uint16_t)size);
    fp_put_be16(out + 4, (uint16_t)(fp_get_be16(packet + 4) + i));
    fp_ipv4_checksum(out, (size_t)(out[0] & 0x0f) * 4);
  } else {
    fp_put_be16(out + 4, (uint16_t)(size - 40));
  }
  uint8_t *t = out + l4;
  uint8_t protocol;
  if (is_udp_gso(type)) {
    protocol = 17;
    fp_put_be16(t + 4, (uint16_t)(size - l4));
  } else {
    protocol = 6;
    fp_put_be32(t + 4, fp_get_be32(packet + l4 + 4) + (uint32_t)(i * gso));
    if (i + 1 != plan->count) t[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
    if (i != 0) t[13] &= (uint8_t)~TCP_CWR;
  }
  uint8_t *field = t + h->csum_offset;
  field[0] = field[1] = 0;
  /* Header lengths are multiples of 4, so the payload's sum joins at an even offset. */
  uint64_t sum = fp_csum_pseudo(out, !v4, protocol, (uint32_t)(size - l4));
  sum = fp_csum_add(sum, t, header - l4);
  uint16_t csum = (uint16_t)~fp_csum_fold(fp_csum_add(sum, data, payload));
  if (csum == 0 && protocol == 17) csum = 0xffff;
  fp_put_be16(field, csum);
  *tail = data;
  *tail_len = payload;
  return header;
}

size_t fp_tso_segment(const struct virtio_net_hdr *h, const uint8_t *packet, size_t len, const fp_tso_plan *plan,
                      uint32_t i, uint8_t *out) {
  const uint8_t *tail;
  size_t tail_len;
  size_t head = fp_tso_head(h, packet, len, plan, i, out, &tail, &tail_len);
  memcpy(out + head, tail, tail_len);
  return head + tail_len;
}
