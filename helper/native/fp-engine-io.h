/* What the fast path engine's files share: fp-engine.c attaches it and hands what it punts to JS,
 * fp-engine-tx.c reads the TUN device and sends, fp-engine-rx.c receives and writes the TUN device. */
#ifndef BURROW_NATIVE_FP_ENGINE_IO_H
#define BURROW_NATIVE_FP_ENGINE_IO_H

#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>

#include "fp-engine.h"

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
/* Handshake messages handed to JS per second, at most (and in one burst). A flood of initiations
 * would otherwise keep the Node thread busy answering them (each a mac1 check and a cookie reply or
 * a DH) while the socket's buffer overflows and established sessions' packets are lost with the
 * flood's; past the budget they are dropped here, unread, as wireguard-go drops handshakes its
 * full queue cannot take. Above what this machine can answer (bench:core: ~3,600 initiations/s
 * with the DH), so it bites only in a flood. */
#define HANDSHAKE_BUDGET 4096.0
#define MM_MAX 1024u
#define RX_BATCH 64u
#define SLOW_BUF (1u << 20)
#define SLOW_MAX 2048u

typedef union {
  char buf[CMSG_SPACE(sizeof(uint16_t))];
  struct cmsghdr align;
} gso_cmsg;

typedef bn_udp_rx_ctl gro_cmsg; /* UDP_GRO and the pktinfo the source is learned from */

typedef fp_batch slow_batch;

static inline double engine_now(const fp_engine *e) {
  return (double)uv_hrtime() / 1e6 - e->time_offset;
}

/* Appends a packet (with its source and peer slot where the batch keeps them). */
static inline void slow_add(slow_batch *b, const uint8_t *data, size_t len, const fp_sockaddr *from, uint32_t slot) {
  memcpy(b->data + b->used, data, len);
  if (b->from) b->from[b->count] = *from;
  if (b->slots) b->slots[b->count] = slot;
  b->lengths[b->count++] = (uint32_t)len;
  b->used += len;
}

static inline bool slow_has_room(const slow_batch *b, size_t bytes, uint32_t count) {
  return b->used + bytes <= SLOW_BUF && b->count + count <= SLOW_MAX;
}

/* Hands what JS must see to it: packets the core punted, then handshakes it asked for. Returns false
 * when the engine went away meanwhile (JS detached it or closed a handle). */
bool fp_engine_to_js(fp_engine *e);
/* The poll callbacks of the TUN device and the UDP socket while the engine is attached. */
void fp_engine_tun_readable(bn_io *io, int poll_status);
void fp_engine_udp_readable(bn_io *io, int poll_status);

#endif
