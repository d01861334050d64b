/* The fast path engine's inbound half (fp-engine.c says how it works): UDP GRO batches opened in
 * place and written to the TUN device coalesced, handshakes within their budget. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "fp-engine-io.h"

#define RX_ROUNDS 2u

/* A handshake initiation or response (WireGuard message types 1 and 2, by their fixed sizes). */
static bool is_handshake(const uint8_t *data, size_t size) {
  return size >= 4 && ((data[0] == 1 && size == 148) || (data[0] == 2 && size == 92)) && data[1] == 0 &&
         data[2] == 0 && data[3] == 0;
}

/* Takes one of the handshake budget's tokens, which refill at HANDSHAKE_BUDGET per second. */
static bool take_handshake_token(fp_engine *e, double now) {
  double refill = (now - e->handshake_at) * (HANDSHAKE_BUDGET / 1000.0);
  if (refill > 0) {
    e->handshake_tokens = fmin(HANDSHAKE_BUDGET, e->handshake_tokens + refill);
    e->handshake_at = now;
  }
  if (e->handshake_tokens < 1) return false;
  e->handshake_tokens -= 1;
  return true;
}

static void write_gro(fp_engine *e) {
  uint32_t writes = fp_gro_finish(e->gro);
  for (uint32_t i = 0; i < writes; i++) {
    int iovcnt;
    struct iovec *iov = fp_gro_write(e->gro, i, &iovcnt);
    bn_tun_writev(e->tun, iov, iovcnt);
  }
  e->stats.tun_writes += writes;
  fp_gro_reset(e->gro);
}

void fp_engine_udp_readable(bn_io *io, int poll_status) {
  fp_engine *e = io->owner;
  bn_udp *u = e->udp;
  fp_core *c = e->core;
  double now = engine_now(e);
  int fatal = 0;
  for (uint32_t round = 0; round < RX_ROUNDS; round++) {
    for (uint32_t i = 0; i < RX_BATCH; i++) {
      struct msghdr *h = &e->rmsgs[i].msg_hdr;
      h->msg_namelen = sizeof(fp_sockaddr);
      h->msg_control = ((gro_cmsg *)e->rcmsg)[i].buf;
      h->msg_controllen = sizeof(gro_cmsg);
      h->msg_flags = 0;
    }
    int n;
    do {
      n = recvmmsg(io->fd, e->rmsgs, RX_BATCH, MSG_DONTWAIT, NULL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        u->receive_errors++;
        u->last_receive_errno = errno;
        if (errno == EBADF || errno == ENOTSOCK || errno == EFAULT || errno == EINVAL) fatal = errno;
      }
      break;
    }
    u->receive_batches++;
    for (int i = 0; i < n; i++) {
      struct msghdr *h = &e->rmsgs[i].msg_hdr;
      if (h->msg_flags & MSG_TRUNC) {
        u->truncated++;
        continue;
      }
      size_t len = e->rmsgs[i].msg_len, segment = len;
      for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm; cm = CMSG_NXTHDR(h, cm)) {
        if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
          int gso = 0;
          memcpy(&gso, CMSG_DATA(cm), sizeof gso);
          if (gso > 0) segment = (size_t)gso;
        }
      }
      uint8_t *slot = e->rslots + (size_t)i * BN_UDP_SLOT;
      const fp_sockaddr *from = &e->raddrs[i];
      bn_udp_learn_source(u, from, h);
      for (size_t off = 0; off < len; off += segment) {
        size_t size = len - off < segment ? len - off : segment;
        uint8_t *data = slot + off;
        fp_peer *peer = NULL;
        uint8_t *inner = NULL;
        size_t inner_len = 0;
        int r = fp_rx_open(c, data, size, from, now, &peer, &inner, &inner_len);
        if (r != FP_PUNT) {
          u->packets_received++;
          u->bytes_received += size;
        }
        if (r == FP_DELIVER && c->gated && !fp_filter_passes(inner, inner_len)) {
          /* The packet filter (JS) judges it: the rest of the batch goes on meanwhile. */
          if (!slow_has_room(&e->judged, inner_len, 1)) {
            write_gro(e);
            if (!fp_engine_to_js(e)) return;
          }
          slow_add(&e->judged, inner, inner_len, from, peer->slot);
        } else if (r == FP_DELIVER) {
          if (!fp_gro_add(e->gro, inner, inner_len)) {
            write_gro(e);
            fp_gro_add(e->gro, inner, inner_len);
          }
        } else if (r == FP_PUNT && is_handshake(data, size) && !take_handshake_token(e, now)) {
          e->stats.handshakes_shed++;
        } else if (r == FP_PUNT) {
          slow_batch *b = &e->udp_slow;
          if (!slow_has_room(b, size, 1)) {
            write_gro(e);
            if (!fp_engine_to_js(e)) return; /* the slots are not reused before this returns: data stays valid */
          }
          slow_add(b, data, size, from, 0);
        }
      }
    }
    write_gro(e);
    if ((uint32_t)n < RX_BATCH) break;
  }
  if (!fp_engine_to_js(e)) return;
  if (fatal) {
    bn_io_fail(io, fatal, "recvmmsg", "recvmmsg on UDP socket");
  } else if (poll_status < 0) {
    bn_io_fail(io, -poll_status, "poll", "poll UDP socket");
  }
}
