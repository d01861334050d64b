/* The fast path's I/O engine (fp-engine.c, fp-engine-tx.c, fp-engine-rx.c): reads and writes the TUN
 * device and UDP socket itself. */
#ifndef BURROW_NATIVE_FP_ENGINE_H
#define BURROW_NATIVE_FP_ENGINE_H

#include <node_api.h>

#include "fp-core.h"
#include "fp-offload.h"
#include "tun.h"
#include "udp.h"

typedef struct fp_engine fp_engine;

/* A sealed message waiting in the outbound buffer. */
typedef struct {
  size_t offset, len;
  fp_peer *peer;
  const fp_sockaddr *to; /* the peer's endpoint or direct path, as chosen when sealed */
  socklen_t to_len;
} fp_tx_msg;

/* Packets for JS: back to back, with lengths, and sources and peer slots where they apply. */
typedef struct {
  uint8_t *data;
  size_t used;
  uint32_t *lengths;
  fp_sockaddr *from;
  uint32_t *slots;
  uint32_t count;
} fp_batch;

typedef struct {
  uint64_t tso_reads, tx_malformed, tx_slow, tx_datagrams, gso_sends;
  uint64_t rx_slow, tun_writes, judged, flows, handshakes_shed;
} fp_engine_stats;

struct fp_engine {
  fp_core *core;
  bn_tun *tun;
  bn_udp *udp;
  /* JS: the engine's callback (handshakes to start, deadlines to wake for), and the handles it
   * keeps alive while attached; released by fp_engine_free. */
  napi_env env;
  napi_ref callback, tun_ref, udp_ref;
  napi_async_context async;
  void (*tun_reader)(bn_io *, int);
  void (*udp_reader)(bn_io *, int);
  double time_offset; /* uv_hrtime() in ms minus this is the JS monotonic clock */
  bool gso, gro_on, tso;
  bool detached;
  int in_callback;
  uint64_t send_errors_seen;
  fp_engine_stats stats;
  /* outbound */
  uint8_t *raw;
  uint8_t *tx;
  size_t tx_used;
  fp_tx_msg *msgs;
  uint32_t nmsgs;
  struct mmsghdr *mm;
  struct iovec *mm_iov;
  void *mm_cmsg;
  fp_peer **rekey;
  uint32_t nrekey, rekey_cap;
  /* inbound: the handshake budget (tokens, and when it was last topped up, in ms) */
  double handshake_tokens, handshake_at;
  struct mmsghdr *rmsgs;
  struct iovec *riov;
  fp_sockaddr *raddrs;
  uint8_t *rslots;
  void *rcmsg;
  fp_gro *gro;
  /* for JS: punted reads and datagrams; with a filter, inbound packets it must judge and a
   * packet of each outbound flow it must record */
  fp_batch tun_slow, udp_slow, judged, flows;
};

/* Takes over reading both handles (which JS must have started reading). NULL when out of memory. */
fp_engine *fp_engine_new(fp_core *c, bn_tun *t, bn_udp *u, double time_offset, bool gso, bool gro);
/* Gives reading back to JS and frees the engine (once no callback of it is running). */
void fp_engine_detach(fp_engine *e);
void fp_engine_free(fp_engine *e);

#endif
