/*
 * The transport fast path's core: the sessions the TypeScript core (src/wireguard/device.ts)
 * installed, and per-packet sealing and opening of transport messages for them, with the same
 * rules as the TypeScript code and no I/O. Whatever it cannot decide the way the TypeScript core
 * would (no usable session, a session to confirm, a roaming peer, a key to refresh) it hands back
 * ("punts") untouched, and the TypeScript core handles it as it always did.
 *
 * State the two share lives in memory both read and write: each peer's timers, byte counters and
 * flags (fp_peer.shared, a Float64Array in JS) and each session's send counter (fp_kp.shared).
 * Everything runs on the Node thread, so there is no locking: while C handles a packet no JS runs.
 */
#ifndef BURROW_NATIVE_FP_CORE_H
#define BURROW_NATIVE_FP_CORE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "fp-replay.h"
#include "fp-routes.h"

/* Bump with any change to the layouts below; src/wireguard/fast-path.ts has the same numbers. */
#define FP_LAYOUT_VERSION 2

/* A peer's shared fields (doubles; times in ms of the JS monotonic clock, Infinity for "not set"). */
enum {
  FP_RETRANSMIT_HANDSHAKE = 0,
  FP_SEND_KEEPALIVE = 1,
  FP_NEW_HANDSHAKE = 2,
  FP_ZERO_KEY_MATERIAL = 3,
  FP_PERSISTENT_KEEPALIVE = 4,
  FP_NEED_ANOTHER_KEEPALIVE = 5, /* 0 or 1 */
  FP_HANDSHAKE_ATTEMPTS = 6,
  FP_PERSISTENT_KEEPALIVE_INTERVAL = 7,
  FP_RX_BYTES = 8,
  FP_TX_BYTES = 9,
  FP_SENT_LAST_MINUTE_HANDSHAKE = 10, /* 0 or 1 */
  FP_LAST_ACTIVE = 11,                /* when C last sent to or received from the peer (mesh paths) */
  FP_PEER_FIELDS = 12
};

/* A session's shared fields. */
enum { FP_SEND_COUNTER = 0, FP_KP_FIELDS = 2 };

/* The core's shared fields: what JS reads after a call, and counters it collects. */
enum {
  FP_WAKE = 0,        /* the earliest deadline C set since JS last looked (Infinity: none) */
  FP_ARMED = 1,       /* JS: when its timer fires; C reports deadlines earlier than this */
  FP_LAST_PEER = 2,   /* the peer slot of the last fpSend / fpReceive result */
  FP_LAST_REKEY = 3,  /* 1 when the last fpSend asks for a new handshake */
  FP_DROPS = 4,       /* FP_DROPS + reason: packets dropped by C, per reason (JS adds and zeroes them) */
  FP_CORE_FIELDS = FP_DROPS + 8
};

/* Results of the per-packet functions. Drops are counted in shared[FP_DROPS + reason]. */
enum {
  FP_DROP_NO_ROUTE = 0,
  FP_DROP_DECRYPT_FAILED = 1,
  FP_DROP_REPLAYED = 2,
  FP_DROP_BAD_INNER_PACKET = 3,
  FP_DROP_DISALLOWED_SOURCE = 4,
  FP_DROP_REASONS = 5
};
enum { FP_PUNT = -1, FP_DONE = -2, FP_DELIVER = -3 };

typedef union {
  struct sockaddr sa;
  struct sockaddr_in v4;
  struct sockaddr_in6 v6;
} fp_sockaddr;

typedef struct fp_peer fp_peer;
typedef struct fp_kp fp_kp;
typedef struct fp_core fp_core;

struct fp_kp {
  uint32_t magic;
  uint32_t local_index, remote_index;
  bool initiator;
  bool installed; /* in the index table; false once the TS core retired it */
  int refs;       /* the core's index table, the JS handle, the JS shared buffer */
  double created;
  fp_peer *peer;
  uint8_t send_key[32], recv_key[32];
  fp_replay replay;
  fp_kp *hash_next;
  double shared[FP_KP_FIELDS];
};

struct fp_peer {
  uint32_t magic;
  uint32_t slot;
  int refs; /* the core's table, the JS handle, the JS shared buffer */
  bool removed;
  bool endpoint_known; /* the TS core's peer.endpoint is set */
  bool has_endpoint;   /* and is an address we can send to ourselves (not a mesh virtual endpoint) */
  fp_sockaddr endpoint;
  socklen_t endpoint_len;
  /* A mesh peer's direct path, usable until direct_until (its path conn's trust in it expires). */
  fp_sockaddr direct;
  socklen_t direct_len;
  double direct_until;
  fp_kp *current, *next;
  bool rekey_pending; /* the engine has asked JS for a handshake in this batch */
  double shared[FP_PEER_FIELDS];
};

typedef struct {
  double rekey_after_messages, reject_after_messages;
  double rekey_after_time, reject_after_time, rekey_timeout, keepalive_timeout;
} fp_limits;

struct fp_core {
  uint32_t magic;
  int refs; /* the JS handle, the JS shared buffer */
  fp_limits limits;
  uint32_t mtu;
  bool roaming;
  fp_peer **peers;
  uint32_t peer_cap;
  fp_kp **index; /* hash table of installed sessions by local index */
  uint32_t index_mask;
  uint32_t index_count;
  fp_routes routes;
  /* The last lookup of each direction (a flow's packets come in runs); cleared with the routes. */
  struct {
    uint8_t addr[16];
    int bytes;
    int32_t slot;
  } route_cache[2];
  void *seal_ctx, *open_ctx; /* EVP_CIPHER_CTX, one each: everything runs on one thread */
  int family;                /* of the UDP socket endpoints are for: AF_INET6 (dual-stack) or AF_INET */
  bool gated;                /* a packet filter judges inbound packets: the engine delivers only
                                what fp_filter_passes lets through, and reports outbound flows */
  struct fp_engine *engine;  /* the I/O engine, while attached (fp-engine.c) */
  double shared[FP_CORE_FIELDS];
};

int fp_core_init(fp_core *c, const fp_limits *limits, uint32_t mtu, bool roaming, int family);
void fp_core_release(fp_core *c); /* drops one reference; frees on the last */

/* Peers and sessions, as the TypeScript core tells of them. */
fp_peer *fp_peer_add(fp_core *c);
void fp_peer_remove(fp_core *c, fp_peer *p);
void fp_peer_release(fp_peer *p);
fp_kp *fp_kp_add(fp_core *c, fp_peer *p, uint32_t local_index, uint32_t remote_index, bool initiator,
                 double created, const uint8_t send_key[32], const uint8_t recv_key[32]);
void fp_kp_remove(fp_core *c, fp_kp *kp); /* out of the index, keys wiped */
void fp_kp_release(fp_kp *kp);
fp_kp *fp_kp_lookup(const fp_core *c, uint32_t local_index);

/* The padded plaintext length of a `len`-byte packet (whitepaper §5.4.6). */
size_t fp_padded(const fp_core *c, size_t len);

/*
 * Outbound. The route of a packet: 0 with *peer its destination's peer, FP_DONE for no route
 * (counted), FP_PUNT for a malformed packet. Then whether `n` packets can go on that peer's current
 * session now: the session, or NULL to punt.
 */
int fp_tx_route(fp_core *c, const uint8_t *packet, size_t len, fp_peer **peer);
fp_kp *fp_tx_session(fp_core *c, fp_peer *p, double now, uint32_t n);
/* Seals a packet with the session's next counter and does the sender's bookkeeping; returns the
 * message length. The packet is the `head` bytes at msg + 16 followed by the `tail_len` bytes at
 * `tail` (elsewhere: a super-packet's payload is sealed from where it was read, never copied);
 * msg has room for the padding and tag after it. */
size_t fp_tx_seal(fp_core *c, fp_kp *kp, uint8_t *msg, size_t head, const uint8_t *tail, size_t tail_len,
                  double now);
/* After sealing: whether the TS core must start a handshake (its sendStaged's rekey check). */
bool fp_tx_wants_rekey(const fp_core *c, const fp_kp *kp, double now);

/*
 * Inbound: one datagram. `from` is its source (NULL: not compared, for a core without roaming).
 * Returns FP_PUNT (untouched: the TS core must handle it), FP_DONE (a keepalive, or a drop counted
 * in shared[FP_DROPS + reason]) or FP_DELIVER with *packet / *packet_len the inner packet
 * (decrypted in place) and *peer its peer.
 */
int fp_rx_open(fp_core *c, uint8_t *data, size_t len, const fp_sockaddr *from, double now, fp_peer **peer,
               uint8_t **packet, size_t *packet_len);

/* Replaces the routes (taking `r` over) and forgets cached lookups. */
void fp_core_set_routes(fp_core *c, fp_routes *r);

/* Records a deadline set by C: reported to JS through shared[FP_WAKE] when before its timer. */
static inline void fp_wake_by(fp_core *c, double at) {
  if (at < c->shared[FP_WAKE]) c->shared[FP_WAKE] = at;
}

bool fp_same_endpoint(const fp_sockaddr *a, const fp_sockaddr *b);

/* Where packets to the peer go now: its own endpoint, else its direct path while trusted; NULL
 * when neither (the TS core's driver sends, through the relay say). */
static inline const fp_sockaddr *fp_send_to(const fp_peer *p, double now, socklen_t *len) {
  if (p->has_endpoint) {
    *len = p->endpoint_len;
    return &p->endpoint;
  }
  if (now < p->direct_until) {
    *len = p->direct_len;
    return &p->direct;
  }
  return NULL;
}

/*
 * Whether burrowd's packet filter (src/filter/inbound-filter.ts) is sure to let this inbound packet
 * through without consulting or changing its state: a well-formed TCP segment, not a later
 * fragment, that is not a bare SYN (the filter takes every such segment as a reply). Anything else
 * goes to the filter in JS (fp-filter.c). helper/fastpath/filter-verdicts.test.ts checks the two agree.
 */
bool fp_filter_passes(const uint8_t *packet, size_t len);

#endif
