/* The fast path engine's outbound half (fp-engine.c says how it works): TUN reads cut and sealed in
 * place, sent with UDP GSO. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fp-engine-io.h"
#include "fp-offload.h"

#define TX_FLUSH 128u        /* messages sent per flush, as wireguard-go's batches: a slow peer's socket
                                 takes a few bursts of this size better than one of megabytes */
#define TX_READS 8u          /* TUN reads per poll callback, at most */
#define TX_MAX_SEGMENTS 1024u /* a super-packet cut into more is dropped */
#define GSO_MAX_SEGMENTS 64u  /* UDP_MAX_SEGMENTS */
#define GSO_MAX_BYTES 65000u
#define SMALL_MESSAGE 160u    /* a message carrying at most 112 bytes: a TCP ACK, a small datagram */

/* Adds one sendmsg for messages [i, j) (a GSO run when more than one) to e->mm; sends when full. */
static void add_send(fp_engine *e, uint32_t *n, uint32_t i, uint32_t j, size_t total) {
  const fp_tx_msg *m = &e->msgs[i];
  struct msghdr *h = &e->mm[*n].msg_hdr;
  memset(h, 0, sizeof *h);
  e->mm_iov[*n] = (struct iovec){e->tx + m->offset, total};
  h->msg_iov = &e->mm_iov[*n];
  h->msg_iovlen = 1;
  h->msg_name = (void *)m->to;
  h->msg_namelen = m->to_len;
  if (j - i > 1) {
    gso_cmsg *c = &((gso_cmsg *)e->mm_cmsg)[*n];
    h->msg_control = c->buf;
    h->msg_controllen = sizeof c->buf;
    struct cmsghdr *cm = CMSG_FIRSTHDR(h);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t segment = (uint16_t)m->len;
    memcpy(CMSG_DATA(cm), &segment, sizeof segment);
    e->stats.gso_sends++;
  }
  e->stats.tx_datagrams += j - i;
  if (++*n == MM_MAX) {
    bn_udp_send_msgs(e->udp, e->mm, *n);
    *n = 0;
  }
}

/*
 * Sends what is sealed: runs of equal-sized messages to one peer go as one GSO sendmsg. Small
 * messages (acknowledgments, handshakes' answers, keepalives) go first: at a peer whose socket our
 * bulk traffic keeps full, what arrives first after a pause is what still finds room.
 */
static void flush_tx(fp_engine *e) {
  const fp_tx_msg *ms = e->msgs;
  uint32_t n = 0;
  for (int pass = 0; pass < 2; pass++) {
    uint32_t i = 0;
    while (i < e->nmsgs) {
      size_t size = ms[i].len, total = size;
      uint32_t j = i + 1;
      while (e->gso && j < e->nmsgs && j - i < GSO_MAX_SEGMENTS && ms[j].peer == ms[i].peer &&
             ms[j - 1].len == size && ms[j].len <= size && total + ms[j].len <= GSO_MAX_BYTES &&
             ms[j].offset == ms[j - 1].offset + ms[j - 1].len) {
        total += ms[j].len;
        j++;
      }
      if ((size <= SMALL_MESSAGE) == (pass == 0)) add_send(e, &n, i, j, total);
      i = j;
    }
  }
  if (n > 0) bn_udp_send_msgs(e->udp, e->mm, n);
  /* A kernel or path without UDP GSO refuses it: go on without (what was refused is lost). */
  if (e->gso && e->udp->send_errors != e->send_errors_seen &&
      (e->udp->last_send_errno == EIO || e->udp->last_send_errno == EINVAL)) {
    e->gso = false;
  }
  e->send_errors_seen = e->udp->send_errors;
  e->nmsgs = 0;
  e->tx_used = 0;
}

static void add_rekey(fp_engine *e, fp_peer *p) {
  if (p->rekey_pending || e->nrekey == e->rekey_cap) return;
  p->rekey_pending = true;
  e->rekey[e->nrekey++] = p;
}

/* Whether the flows batch has a packet of the same TCP or UDP flow (addresses and ports) already:
 * the filter records a flow once per batch as well as once per packet. */
static bool flow_recorded(const fp_batch *b, const uint8_t *p, size_t len) {
  bool v4 = (p[0] >> 4) == 4;
  size_t transport = v4 ? (size_t)(p[0] & 0x0f) * 4 : 40;
  uint8_t protocol = v4 ? p[9] : p[6];
  if ((protocol != 6 && protocol != 17) || len < transport + 4) return false;
  size_t at = 0;
  for (uint32_t i = 0; i < b->count; i++) {
    const uint8_t *q = b->data + at;
    at += b->lengths[i];
    if (q[0] != p[0] || (v4 ? q[9] : q[6]) != protocol) continue;
    if (memcmp(v4 ? q + 12 : q + 8, v4 ? p + 12 : p + 8, v4 ? 8 : 32) == 0 &&
        memcmp(q + transport, p + transport, 4) == 0) {
      return true;
    }
  }
  return false;
}

/* Cuts a read into plain packets for JS. */
static void punt_read(fp_engine *e, const struct virtio_net_hdr *h, const uint8_t *packet, size_t len,
                      const fp_tso_plan *plan) {
  for (uint32_t i = 0; i < plan->count; i++) {
    slow_batch *b = &e->tun_slow;
    if (!slow_has_room(b, plan->segment, 1)) {
      if (!fp_engine_to_js(e)) return;
    }
    size_t size = fp_tso_segment(h, packet, len, plan, i, b->data + b->used);
    b->lengths[b->count++] = (uint32_t)size;
    b->used += size;
  }
}

void fp_engine_tun_readable(bn_io *io, int poll_status) {
  fp_engine *e = io->owner;
  bn_tun *t = e->tun;
  fp_core *c = e->core;
  double now = engine_now(e);
  int err = 0;
  for (uint32_t reads = 0; reads < TX_READS; reads++) {
    ssize_t n = read(io->fd, e->raw, RAW_SIZE);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
      break;
    }
    if (n == 0) break;
    if ((size_t)n <= FP_VNET_HDR_LEN) continue;
    struct virtio_net_hdr h;
    memcpy(&h, e->raw, sizeof h);
    const uint8_t *packet = e->raw + FP_VNET_HDR_LEN;
    size_t len = (size_t)n - FP_VNET_HDR_LEN;
    fp_tso_plan plan;
    if (!fp_tso_plan_split(&h, packet, len, &plan) || plan.count > TX_MAX_SEGMENTS) {
      e->stats.tx_malformed++;
      continue;
    }
    if (plan.count > 1) e->stats.tso_reads++;
    size_t stride = 32 + fp_padded(c, plan.segment);
    if (e->tx_used + stride * plan.count > TX_BUF || e->nmsgs + plan.count > TX_MSGS) flush_tx(e);
    if (c->gated && !slow_has_room(&e->flows, plan.segment, 1)) {
      flush_tx(e);
      if (!fp_engine_to_js(e)) return;
    }
    uint8_t *base = e->tx + e->tx_used;
    /* Each segment's headers are written in its message's place; its payload is sealed from the
     * read buffer, never copied. */
    const uint8_t *tail;
    size_t tail_len;
    size_t head = fp_tso_head(&h, packet, len, &plan, 0, base + 16, &tail, &tail_len);
    fp_peer *peer = NULL;
    int routed = plan.header == 0 ? fp_tx_route(c, packet, len, &peer)
                                  : fp_tx_route(c, base + 16, head + tail_len, &peer);
    if (routed == FP_DONE) {
      c->shared[FP_DROPS + FP_DROP_NO_ROUTE] += plan.count - 1; /* the core counts per packet */
      continue;
    }
    fp_kp *kp = routed == 0 ? fp_tx_session(c, peer, now, plan.count) : NULL;
    if (kp == NULL) {
      flush_tx(e); /* what JS sends for these goes after what came before them */
      punt_read(e, &h, packet, len, &plan);
      if (e->detached || io->fd < 0) return;
      continue;
    }
    t->packets_read += plan.count;
    t->bytes_read += len + (size_t)(plan.count - 1) * plan.header;
    if (c->gated) {
      /* The filter records the flow of what we send: one packet of the read stands for them all. */
      size_t first = head + tail_len; /* room was made before the read was cut */
      if (!flow_recorded(&e->flows, base + 16, first)) {
        fp_batch *b = &e->flows;
        memcpy(b->data + b->used, base + 16, head);
        memcpy(b->data + b->used + head, tail, tail_len);
        b->lengths[b->count++] = (uint32_t)first;
        b->used += first;
      }
    }
    socklen_t to_len = 0;
    const fp_sockaddr *to = fp_send_to(peer, now, &to_len);
    size_t at = e->tx_used;
    for (uint32_t i = 0; i < plan.count; i++) {
      uint8_t *msg = base + (size_t)i * stride;
      if (i > 0) head = fp_tso_head(&h, packet, len, &plan, i, msg + 16, &tail, &tail_len);
      size_t message = fp_tx_seal(c, kp, msg, head, tail, tail_len, now);
      e->msgs[e->nmsgs++] = (fp_tx_msg){at, message, peer, to, to_len};
      at += message;
    }
    e->tx_used = at;
    if (fp_tx_wants_rekey(c, kp, now)) add_rekey(e, peer);
    if (e->nmsgs >= TX_FLUSH) flush_tx(e);
  }
  flush_tx(e);
  if (!fp_engine_to_js(e)) return;
  if (err != 0 || poll_status < 0) bn_tun_fail(t, err, poll_status);
}
