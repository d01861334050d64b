/*
 * The fast path's I/O: while attached, it reads the TUN device and the UDP socket itself, from the
 * same libuv poll callbacks that would otherwise call JS (on the Node thread, so JS never runs
 * concurrently with it). Outbound: one read may bring a TSO super-packet of up to 64 KiB; its
 * segments are cut straight into their messages' places, sealed in place, and go out with UDP GSO,
 * one sendmsg per run of equal-sized messages to one peer. Inbound: UDP GRO brings runs of
 * datagrams from one source; each is opened in place, and the packets go up coalesced into TCP
 * super-packets (fp-gro.c). What the core punts goes to JS through the TUN's and the socket's own
 * callbacks, in their usual batch layouts; handshakes the core asks for, through the engine's.
 */
#include "fp-engine.h"

#include <errno.h>
#include <math.h>
#include <linux/if_tun.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fp-offload.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

#define RAW_SIZE (FP_VNET_HDR_LEN + 65536)
#define TX_BUF (4u << 20)
#define TX_MSGS 16384u
#define TX_FLUSH 128u        /* messages sent per flush, as wireguard-go's batches: a slow peer's socket
                                 takes a few bursts of this size better than one of megabytes */
/* Handshake messages handed to JS per second, at most (and in one burst). A flood of initiations
 * would otherwise keep the Node thread busy answering them (each a mac1 check and a cookie reply or
 * a DH) while the socket's buffer overflows and established sessions' packets are lost with the
 * flood's; past the budget they are dropped here, unread, as wireguard-go drops handshakes its
 * full queue cannot take. Above what this machine can answer (bench:core: ~3,600 initiations/s
 * with the DH), so it bites only in a flood. */
#define HANDSHAKE_BUDGET 4096.0
#define TX_READS 8u          /* TUN reads per poll callback, at most */
#define TX_MAX_SEGMENTS 1024u /* a super-packet cut into more is dropped */
#define GSO_MAX_SEGMENTS 64u  /* UDP_MAX_SEGMENTS */
#define GSO_MAX_BYTES 65000u
#define SMALL_MESSAGE 160u    /* a message carrying at most 112 bytes: a TCP ACK, a small datagram */
#define MM_MAX 1024u
#define RX_BATCH 64u
#define RX_ROUNDS 2u
#define SLOW_BUF (1u << 20)
#define SLOW_MAX 2048u
#define GRO_CAP 4096u

typedef union {
  char buf[CMSG_SPACE(sizeof(uint16_t))];
  struct cmsghdr align;
} gso_cmsg;

typedef bn_udp_rx_ctl gro_cmsg; /* UDP_GRO and the pktinfo the source is learned from */

typedef fp_batch slow_batch;

static double engine_now(const fp_engine *e) {
  return (double)uv_hrtime() / 1e6 - e->time_offset;
}

static bool slow_init(slow_batch *b, bool with_from, bool with_slots) {
  b->data = malloc(SLOW_BUF);
  b->lengths = malloc(sizeof *b->lengths * SLOW_MAX);
  b->from = with_from ? malloc(sizeof *b->from * SLOW_MAX) : NULL;
  b->slots = with_slots ? malloc(sizeof *b->slots * SLOW_MAX) : NULL;
  return b->data && b->lengths && (!with_from || b->from) && (!with_slots || b->slots);
}

static void slow_free(slow_batch *b) {
  free(b->data);
  free(b->lengths);
  free(b->from);
  free(b->slots);
}

/* Appends a packet (with its source and peer slot where the batch keeps them). */
static void slow_add(slow_batch *b, const uint8_t *data, size_t len, const fp_sockaddr *from, uint32_t slot) {
  memcpy(b->data + b->used, data, len);
  if (b->from) b->from[b->count] = *from;
  if (b->slots) b->slots[b->count] = slot;
  b->lengths[b->count++] = (uint32_t)len;
  b->used += len;
}

static bool slow_has_room(const slow_batch *b, size_t bytes, uint32_t count) {
  return b->used + bytes <= SLOW_BUF && b->count + count <= SLOW_MAX;
}

/* ---- outbound ---------------------------------------------------------------------------------- */

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

/* Hands what JS must see to it: packets the core punted, then handshakes it asked for. Returns false
 * when the engine went away meanwhile (JS detached it or closed a handle). */
static bool to_js(fp_engine *e) {
  fp_core *c = e->core;
  napi_env env = e->env;
  /* Peers become slot numbers first: JS may remove them while it handles the packets. */
  bool call = e->nrekey > 0 || c->shared[FP_WAKE] < c->shared[FP_ARMED];
  napi_value slots = NULL;
  if (call) {
    napi_create_array_with_length(env, e->nrekey, &slots);
    for (uint32_t i = 0; i < e->nrekey; i++) {
      napi_value slot;
      e->rekey[i]->rekey_pending = false;
      napi_create_uint32(env, e->rekey[i]->slot, &slot);
      napi_set_element(env, slots, i, slot);
    }
    e->nrekey = 0;
  }
  e->in_callback++;
  if (e->tun_slow.count > 0) {
    uint32_t count = e->tun_slow.count;
    e->tun_slow.count = 0;
    e->tun_slow.used = 0;
    e->stats.tx_slow += count;
    bn_tun_deliver(e->tun, e->tun_slow.data, e->tun_slow.lengths, count);
  }
  if (!e->detached && e->udp_slow.count > 0) {
    uint32_t count = e->udp_slow.count;
    e->udp_slow.count = 0;
    e->udp_slow.used = 0;
    e->stats.rx_slow += count;
    bn_udp_deliver(e->udp, e->udp_slow.data, e->udp_slow.lengths, e->udp_slow.from, count);
  }
  /* With a filter: inbound packets it must judge, and the outbound flows it must record.
   * callback(rekeySlots, judged, judgedCount, judgedHosts, flows, flowsCount) */
  napi_value args[6];
  napi_get_undefined(env, &args[1]);
  args[3] = args[4] = args[1];
  napi_create_uint32(env, 0, &args[2]);
  args[5] = args[2];
  if (!e->detached && (e->judged.count > 0 || e->flows.count > 0)) {
    call = true;
    if (e->judged.count > 0) {
      e->stats.judged += e->judged.count;
      if (bn_datagram_batch(env, e->judged.data, e->judged.lengths, e->judged.from, e->judged.slots,
                            e->judged.count, &args[1], &args[3])) {
        napi_create_uint32(env, e->judged.count, &args[2]);
      }
      e->judged.count = 0;
      e->judged.used = 0;
    }
    if (e->flows.count > 0) {
      e->stats.flows += e->flows.count;
      /* The TUN batch layout: packets back to back, then their lengths. */
      size_t table = (e->flows.used + 3) & ~(size_t)3;
      void *data;
      if (napi_create_arraybuffer(env, table + 4 * (size_t)e->flows.count, &data, &args[4]) == napi_ok) {
        memcpy(data, e->flows.data, e->flows.used);
        memset((uint8_t *)data + e->flows.used, 0, table - e->flows.used);
        memcpy((uint8_t *)data + table, e->flows.lengths, 4 * (size_t)e->flows.count);
        napi_create_uint32(env, e->flows.count, &args[5]);
      }
      e->flows.count = 0;
      e->flows.used = 0;
    }
  }
  if (slots == NULL && call) napi_create_array(env, &slots);
  args[0] = slots;
  napi_value fn, recv, result;
  if (call && !e->detached && napi_get_reference_value(env, e->callback, &fn) == napi_ok && fn) {
    napi_get_global(env, &recv);
    if (napi_make_callback(env, e->async, recv, fn, 6, args, &result) != napi_ok) {
      bool pending = false;
      napi_value error;
      if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
          napi_get_and_clear_last_exception(env, &error) == napi_ok) {
        napi_fatal_exception(env, error);
      }
    }
  }
  e->in_callback--;
  bool alive = !e->detached && e->tun->io.fd >= 0 && e->udp->io.fd >= 0;
  if (e->detached && e->in_callback == 0) fp_engine_free(e);
  return alive;
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

/* Cuts a read into plain packets for JS. */
static void punt_read(fp_engine *e, const struct virtio_net_hdr *h, const uint8_t *packet, size_t len,
                      const fp_tso_plan *plan) {
  for (uint32_t i = 0; i < plan->count; i++) {
    slow_batch *b = &e->tun_slow;
    if (!slow_has_room(b, plan->segment, 1)) {
      if (!to_js(e)) return;
    }
    size_t size = fp_tso_segment(h, packet, len, plan, i, b->data + b->used);
    b->lengths[b->count++] = (uint32_t)size;
    b->used += size;
  }
}

static void engine_tun_readable(bn_io *io, int poll_status) {
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
      if (!to_js(e)) return;
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
  if (!to_js(e)) return;
  if (err != 0 || poll_status < 0) bn_tun_fail(t, err, poll_status);
}

/* ---- inbound ----------------------------------------------------------------------------------- */

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

static void engine_udp_readable(bn_io *io, int poll_status) {
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
            if (!to_js(e)) return;
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
            if (!to_js(e)) return; /* the slots are not reused before this returns: data stays valid */
          }
          slow_add(b, data, size, from, 0);
        }
      }
    }
    write_gro(e);
    if ((uint32_t)n < RX_BATCH) break;
  }
  if (!to_js(e)) return;
  if (fatal) {
    bn_io_fail(io, fatal, "recvmmsg", "recvmmsg on UDP socket");
  } else if (poll_status < 0) {
    bn_io_fail(io, -poll_status, "poll", "poll UDP socket");
  }
}

/* ---- attaching --------------------------------------------------------------------------------- */

void fp_engine_free(fp_engine *e) {
  if (e->env) {
    if (e->callback) napi_delete_reference(e->env, e->callback);
    if (e->tun_ref) napi_delete_reference(e->env, e->tun_ref);
    if (e->udp_ref) napi_delete_reference(e->env, e->udp_ref);
    if (e->async) napi_async_destroy(e->env, e->async);
  }
  free(e->raw);
  free(e->tx);
  free(e->msgs);
  free(e->mm);
  free(e->mm_iov);
  free(e->mm_cmsg);
  free(e->rekey);
  free(e->rmsgs);
  free(e->riov);
  free(e->raddrs);
  free(e->rslots);
  free(e->rcmsg);
  fp_gro_free(e->gro);
  slow_free(&e->tun_slow);
  slow_free(&e->udp_slow);
  slow_free(&e->judged);
  slow_free(&e->flows);
  free(e);
}

fp_engine *fp_engine_new(fp_core *c, bn_tun *t, bn_udp *u, double time_offset, bool gso, bool gro) {
  fp_engine *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  e->core = c;
  e->tun = t;
  e->udp = u;
  e->time_offset = time_offset;
  e->handshake_tokens = HANDSHAKE_BUDGET;
  e->handshake_at = engine_now(e);
  e->gso = gso;
  e->rekey_cap = 4096;
  e->raw = malloc(RAW_SIZE);
  e->tx = malloc(TX_BUF);
  e->msgs = malloc(sizeof *e->msgs * TX_MSGS);
  e->mm = malloc(sizeof *e->mm * MM_MAX);
  e->mm_iov = malloc(sizeof *e->mm_iov * MM_MAX);
  e->mm_cmsg = calloc(MM_MAX, sizeof(gso_cmsg));
  e->rekey = malloc(sizeof *e->rekey * e->rekey_cap);
  e->rmsgs = calloc(RX_BATCH, sizeof *e->rmsgs);
  e->riov = calloc(RX_BATCH, sizeof *e->riov);
  e->raddrs = calloc(RX_BATCH, sizeof *e->raddrs);
  e->rslots = malloc((size_t)RX_BATCH * BN_UDP_SLOT);
  e->rcmsg = calloc(RX_BATCH, sizeof(gro_cmsg));
  e->gro = fp_gro_new(GRO_CAP);
  bool ok = e->raw && e->tx && e->msgs && e->mm && e->mm_iov && e->mm_cmsg && e->rekey && e->rmsgs && e->riov &&
            e->raddrs && e->rslots && e->rcmsg && e->gro && slow_init(&e->tun_slow, false, false) &&
            slow_init(&e->udp_slow, true, false) && slow_init(&e->judged, true, true) && slow_init(&e->flows, false, false);
  if (!ok) {
    fp_engine_free(e);
    return NULL;
  }
  for (uint32_t i = 0; i < RX_BATCH; i++) {
    e->riov[i] = (struct iovec){e->rslots + (size_t)i * BN_UDP_SLOT, BN_UDP_SLOT};
    e->rmsgs[i].msg_hdr.msg_iov = &e->riov[i];
    e->rmsgs[i].msg_hdr.msg_iovlen = 1;
    e->rmsgs[i].msg_hdr.msg_name = &e->raddrs[i];
  }
  unsigned int offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
  e->tso = ioctl(t->io.fd, TUNSETOFFLOAD, offloads) == 0;
  int one = 1;
  e->gro_on = gro && setsockopt(u->io.fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
  t->io.owner = e;
  u->io.owner = e;
  e->tun_reader = t->io.on_readable;
  e->udp_reader = u->io.on_readable;
  t->io.on_readable = engine_tun_readable;
  u->io.on_readable = engine_udp_readable;
  c->engine = e;
  return e;
}

void fp_engine_detach(fp_engine *e) {
  if (e->detached) return;
  e->detached = true;
  bn_tun *t = e->tun;
  bn_udp *u = e->udp;
  if (t->io.fd >= 0) ioctl(t->io.fd, TUNSETOFFLOAD, 0u);
  int zero = 0;
  if (u->io.fd >= 0 && e->gro_on) setsockopt(u->io.fd, SOL_UDP, UDP_GRO, &zero, sizeof zero);
  t->io.on_readable = e->tun_reader;
  u->io.on_readable = e->udp_reader;
  t->io.owner = u->io.owner = NULL;
  e->core->engine = NULL;
  if (e->in_callback == 0) fp_engine_free(e);
}
