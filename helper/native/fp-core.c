#include "fp-core.h"

#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "fp-ip.h"

#define PEER_MAGIC 0x46505045u /* "FPPE" */
#define KP_MAGIC 0x46504b50u   /* "FPKP" */
#define HEADER 16u
#define TAG 16u
#define MESSAGE_TRANSPORT 4u

static inline uint32_t get_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void put_le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

static inline void nonce_of(uint8_t nonce[12], uint64_t counter) {
  memset(nonce, 0, 4);
  for (int i = 0; i < 8; i++) nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

int fp_core_init(fp_core *c, const fp_limits *limits, uint32_t mtu, bool roaming, int family) {
  memset(c, 0, sizeof *c);
  c->family = family;
  c->limits = *limits;
  c->mtu = mtu;
  c->roaming = roaming;
  c->refs = 2;
  c->index_mask = 255;
  c->index = calloc(c->index_mask + 1, sizeof *c->index);
  fp_routes_init(&c->routes);
  for (int i = 0; i < FP_CORE_FIELDS; i++) c->shared[i] = 0;
  c->shared[FP_WAKE] = INFINITY;
  c->shared[FP_ARMED] = INFINITY;
  EVP_CIPHER_CTX *seal = EVP_CIPHER_CTX_new(), *open = EVP_CIPHER_CTX_new();
  c->seal_ctx = seal;
  c->open_ctx = open;
  if (!c->index || !seal || !open || EVP_EncryptInit_ex(seal, EVP_chacha20_poly1305(), NULL, NULL, NULL) != 1 ||
      EVP_DecryptInit_ex(open, EVP_chacha20_poly1305(), NULL, NULL, NULL) != 1) {
    return -1;
  }
  return 0;
}

void fp_core_release(fp_core *c) {
  if (--c->refs > 0) return;
  for (uint32_t i = 0; i < c->peer_cap; i++) {
    if (c->peers[i]) fp_peer_remove(c, c->peers[i]);
  }
  free(c->peers);
  free(c->index);
  fp_routes_free(&c->routes);
  EVP_CIPHER_CTX_free(c->seal_ctx);
  EVP_CIPHER_CTX_free(c->open_ctx);
  free(c);
}

/* ---- peers ------------------------------------------------------------------------------------ */

fp_peer *fp_peer_add(fp_core *c) {
  uint32_t slot = 0;
  while (slot < c->peer_cap && c->peers[slot]) slot++;
  if (slot == c->peer_cap) {
    uint32_t cap = c->peer_cap ? c->peer_cap * 2 : 16;
    fp_peer **peers = realloc(c->peers, sizeof *peers * cap);
    if (!peers) return NULL;
    memset(peers + c->peer_cap, 0, sizeof *peers * (cap - c->peer_cap));
    c->peers = peers;
    c->peer_cap = cap;
  }
  fp_peer *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->magic = PEER_MAGIC;
  p->slot = slot;
  p->direct_until = -INFINITY;
  p->refs = 3;
  c->peers[slot] = p;
  return p;
}

void fp_peer_release(fp_peer *p) {
  if (--p->refs == 0) free(p);
}

void fp_peer_remove(fp_core *c, fp_peer *p) {
  if (p->removed) return;
  p->removed = true;
  /* Its sessions stay in the index only if the TS core forgot to retire them: do it now. */
  for (uint32_t i = 0; i <= c->index_mask; i++) {
    for (fp_kp *kp = c->index[i], *next; kp; kp = next) {
      next = kp->hash_next;
      if (kp->peer == p) fp_kp_remove(c, kp);
    }
  }
  p->current = p->next = NULL;
  p->has_endpoint = p->endpoint_known = false;
  p->direct_until = -INFINITY;
  c->peers[p->slot] = NULL;
  fp_peer_release(p);
}

/* ---- sessions --------------------------------------------------------------------------------- */

fp_kp *fp_kp_lookup(const fp_core *c, uint32_t local_index) {
  for (fp_kp *kp = c->index[local_index & c->index_mask]; kp; kp = kp->hash_next) {
    if (kp->local_index == local_index) return kp;
  }
  return NULL;
}

static void grow_index(fp_core *c) {
  uint32_t mask = c->index_mask * 2 + 1;
  fp_kp **index = calloc(mask + 1, sizeof *index);
  if (!index) return; /* longer chains, still correct */
  for (uint32_t i = 0; i <= c->index_mask; i++) {
    for (fp_kp *kp = c->index[i], *next; kp; kp = next) {
      next = kp->hash_next;
      kp->hash_next = index[kp->local_index & mask];
      index[kp->local_index & mask] = kp;
    }
  }
  free(c->index);
  c->index = index;
  c->index_mask = mask;
}

fp_kp *fp_kp_add(fp_core *c, fp_peer *p, uint32_t local_index, uint32_t remote_index, bool initiator,
                 double created, const uint8_t send_key[32], const uint8_t recv_key[32]) {
  fp_kp *old = fp_kp_lookup(c, local_index);
  if (old) fp_kp_remove(c, old); /* the TS core's index table is the authority: it reused the index */
  fp_kp *kp = calloc(1, sizeof *kp);
  if (!kp) return NULL;
  kp->magic = KP_MAGIC;
  kp->refs = 3;
  kp->local_index = local_index;
  kp->remote_index = remote_index;
  kp->initiator = initiator;
  kp->created = created;
  kp->peer = p;
  memcpy(kp->send_key, send_key, 32);
  memcpy(kp->recv_key, recv_key, 32);
  kp->installed = true;
  uint32_t bucket = local_index & c->index_mask;
  kp->hash_next = c->index[bucket];
  c->index[bucket] = kp;
  if (++c->index_count > c->index_mask) grow_index(c);
  return kp;
}

void fp_kp_remove(fp_core *c, fp_kp *kp) {
  if (!kp->installed) return;
  kp->installed = false;
  for (fp_kp **at = &c->index[kp->local_index & c->index_mask]; *at; at = &(*at)->hash_next) {
    if (*at == kp) {
      *at = kp->hash_next;
      break;
    }
  }
  c->index_count--;
  if (kp->peer) {
    if (kp->peer->current == kp) kp->peer->current = NULL;
    if (kp->peer->next == kp) kp->peer->next = NULL;
  }
  kp->peer = NULL;
  OPENSSL_cleanse(kp->send_key, 32);
  OPENSSL_cleanse(kp->recv_key, 32);
  fp_kp_release(kp);
}

void fp_kp_release(fp_kp *kp) {
  if (--kp->refs == 0) free(kp);
}

bool fp_same_endpoint(const fp_sockaddr *a, const fp_sockaddr *b) {
  if (a->sa.sa_family != b->sa.sa_family) return false;
  if (a->sa.sa_family == AF_INET) {
    return a->v4.sin_port == b->v4.sin_port && a->v4.sin_addr.s_addr == b->v4.sin_addr.s_addr;
  }
  return a->v6.sin6_port == b->v6.sin6_port && a->v6.sin6_scope_id == b->v6.sin6_scope_id &&
         memcmp(&a->v6.sin6_addr, &b->v6.sin6_addr, sizeof(struct in6_addr)) == 0;
}

/* ---- routes (inner packets: fp-ip.h) ---------------------------------------------------------- */

void fp_core_set_routes(fp_core *c, fp_routes *r) {
  fp_routes_free(&c->routes);
  c->routes = *r;
  c->route_cache[0].bytes = c->route_cache[1].bytes = 0;
}

/* The peer `addr` routes to; `way` 0 for destinations, 1 for sources, each with its cache. */
static fp_peer *route_of(fp_core *c, const uint8_t *addr, int bytes, int way) {
  __typeof__(c->route_cache[0]) *cache = &c->route_cache[way];
  int32_t slot;
  if (cache->bytes == bytes && memcmp(cache->addr, addr, (size_t)bytes) == 0) {
    slot = cache->slot;
  } else {
    slot = fp_routes_lookup(&c->routes, addr, bytes);
    memcpy(cache->addr, addr, (size_t)bytes);
    cache->bytes = bytes;
    cache->slot = slot;
  }
  /* A removed peer's slot is empty (and routes change before a new peer takes it). */
  if (slot < 0 || (uint32_t)slot >= c->peer_cap) return NULL;
  return c->peers[slot];
}

/* ---- outbound (device.ts: send, sendStaged, sealTransport) -------------------------------------- */

size_t fp_padded(const fp_core *c, size_t len) {
  if (len > c->mtu) return len;
  size_t padded = (len + 15) & ~(size_t)15;
  return padded < c->mtu ? padded : c->mtu;
}

int fp_tx_route(fp_core *c, const uint8_t *packet, size_t len, fp_peer **peer) {
  /* A malformed packet is the TS core's to count (bad-inner-packet). */
  if (fp_ip_total_length(packet, len) < 0) return FP_PUNT;
  fp_peer *p = (packet[0] >> 4) == 4 ? route_of(c, packet + 16, 4, 0) : route_of(c, packet + 24, 16, 0);
  if (!p) {
    c->shared[FP_DROPS + FP_DROP_NO_ROUTE]++;
    return FP_DONE;
  }
  *peer = p;
  return 0;
}

fp_kp *fp_tx_session(fp_core *c, fp_peer *p, double now, uint32_t n) {
  fp_kp *kp = p->current;
  socklen_t len;
  if (!kp || !fp_send_to(p, now, &len)) return NULL;
  double counter = kp->shared[FP_SEND_COUNTER];
  /* usableForSending, for the last of the n packets too */
  if (!(counter + n - 1 < c->limits.reject_after_messages) || !(now - kp->created < c->limits.reject_after_time)) {
    return NULL;
  }
  return kp;
}

size_t fp_tx_seal(fp_core *c, fp_kp *kp, uint8_t *msg, size_t head, const uint8_t *tail, size_t tail_len,
                  double now) {
  fp_peer *p = kp->peer;
  size_t len = head + tail_len;
  size_t padded = fp_padded(c, len);
  uint64_t counter = (uint64_t)kp->shared[FP_SEND_COUNTER];
  kp->shared[FP_SEND_COUNTER] = (double)(counter + 1);
  put_le32(msg, MESSAGE_TRANSPORT);
  put_le32(msg + 4, kp->remote_index);
  for (int i = 0; i < 8; i++) msg[8 + i] = (uint8_t)(counter >> (8 * i));
  uint8_t nonce[12];
  nonce_of(nonce, counter);
  EVP_CIPHER_CTX *ctx = c->seal_ctx;
  int n = 0;
  uint8_t *text = msg + HEADER;
  EVP_EncryptInit_ex(ctx, NULL, NULL, kp->send_key, nonce);
  if (head > 0) EVP_EncryptUpdate(ctx, text, &n, text, (int)head);
  if (tail_len > 0) EVP_EncryptUpdate(ctx, text + head, &n, tail, (int)tail_len);
  if (padded > len) {
    memset(text + len, 0, padded - len);
    EVP_EncryptUpdate(ctx, text + len, &n, text + len, (int)(padded - len));
  }
  EVP_EncryptFinal_ex(ctx, text + padded, &n);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG, text + padded);
  size_t message = HEADER + padded + TAG;

  /* The bookkeeping of sealTransport, in its order (timers.ts). */
  double *s = p->shared;
  s[FP_LAST_ACTIVE] = now;
  s[FP_TX_BYTES] += (double)message;
  if (s[FP_PERSISTENT_KEEPALIVE_INTERVAL] > 0) {
    s[FP_PERSISTENT_KEEPALIVE] = now + s[FP_PERSISTENT_KEEPALIVE_INTERVAL];
    fp_wake_by(c, s[FP_PERSISTENT_KEEPALIVE]);
  }
  s[FP_SEND_KEEPALIVE] = INFINITY;
  if (len > 0 && s[FP_NEW_HANDSHAKE] == INFINITY) {
    s[FP_NEW_HANDSHAKE] = now + c->limits.keepalive_timeout + c->limits.rekey_timeout;
    fp_wake_by(c, s[FP_NEW_HANDSHAKE]);
  }
  return message;
}

bool fp_tx_wants_rekey(const fp_core *c, const fp_kp *kp, double now) {
  return kp->shared[FP_SEND_COUNTER] > c->limits.rekey_after_messages ||
         (kp->initiator && now - kp->created >= c->limits.rekey_after_time);
}

/* ---- inbound (device.ts: receiveTransport) -------------------------------------------------------- */

int fp_rx_open(fp_core *c, uint8_t *data, size_t len, const fp_sockaddr *from, double now, fp_peer **peer,
               uint8_t **packet, size_t *packet_len) {
  /* classify(): the type word, and the length of a transport message */
  if (len < HEADER + TAG || len > 65535 - 8 || get_le32(data) != MESSAGE_TRANSPORT) return FP_PUNT;
  fp_kp *kp = fp_kp_lookup(c, get_le32(data + 4));
  if (!kp || !kp->peer) return FP_PUNT;
  fp_peer *p = kp->peer;
  const fp_limits *l = &c->limits;
  /* Whatever the TS core does more than count and deliver is its to do: punted before opening. */
  if (kp == p->next) return FP_PUNT; /* confirms the session */
  if (now - kp->created >= l->reject_after_time) return FP_PUNT;
  uint64_t counter = (uint64_t)get_le32(data + 8) | (uint64_t)get_le32(data + 12) << 32;
  if (!((double)counter < l->reject_after_messages) || counter >= (1ull << 53)) return FP_PUNT;
  /* roam(): the endpoint follows the packet, or is set by it when there was none */
  if (!p->endpoint_known) return FP_PUNT;
  if (c->roaming && (!p->has_endpoint || !from || !fp_same_endpoint(&p->endpoint, from))) return FP_PUNT;
  fp_kp *cur = p->current;
  if (p->shared[FP_SENT_LAST_MINUTE_HANDSHAKE] == 0 && cur && cur->initiator &&
      now - cur->created >= l->reject_after_time - l->keepalive_timeout - l->rekey_timeout) {
    return FP_PUNT; /* keepKeyFreshReceiving */
  }

  uint8_t nonce[12];
  nonce_of(nonce, counter);
  EVP_CIPHER_CTX *ctx = c->open_ctx;
  uint8_t *text = data + HEADER;
  size_t text_len = len - HEADER - TAG;
  int n = 0;
  int ok = EVP_DecryptInit_ex(ctx, NULL, NULL, kp->recv_key, nonce) == 1 &&
           EVP_DecryptUpdate(ctx, text, &n, text, (int)text_len) == 1 &&
           EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG, text + text_len) == 1 &&
           EVP_DecryptFinal_ex(ctx, text + n, &n) == 1;
  if (!ok) {
    memset(text, 0, text_len); /* no forged plaintext left behind */
    c->shared[FP_DROPS + FP_DROP_DECRYPT_FAILED]++;
    return FP_DONE;
  }
  if (!fp_replay_accept(&kp->replay, counter, (uint64_t)fmin(l->reject_after_messages, 9007199254740992.0))) {
    c->shared[FP_DROPS + FP_DROP_REPLAYED]++;
    return FP_DONE;
  }
  /* The receiver's bookkeeping, in receiveTransport's order (timers.ts). */
  double *s = p->shared;
  if (s[FP_PERSISTENT_KEEPALIVE_INTERVAL] > 0) {
    s[FP_PERSISTENT_KEEPALIVE] = now + s[FP_PERSISTENT_KEEPALIVE_INTERVAL];
    fp_wake_by(c, s[FP_PERSISTENT_KEEPALIVE]);
  }
  s[FP_NEW_HANDSHAKE] = INFINITY;
  s[FP_RX_BYTES] += (double)len;
  s[FP_LAST_ACTIVE] = now;
  *peer = p;
  if (text_len == 0) return FP_DONE; /* keepalive */
  if (s[FP_SEND_KEEPALIVE] == INFINITY) {
    s[FP_SEND_KEEPALIVE] = now + l->keepalive_timeout;
    fp_wake_by(c, s[FP_SEND_KEEPALIVE]);
  } else {
    s[FP_NEED_ANOTHER_KEEPALIVE] = 1;
  }
  long total = fp_ip_total_length(text, text_len);
  if (total < 0) {
    c->shared[FP_DROPS + FP_DROP_BAD_INNER_PACKET]++;
    return FP_DONE;
  }
  bool v4 = (text[0] >> 4) == 4;
  if (route_of(c, v4 ? text + 12 : text + 8, v4 ? 4 : 16, 1) != p) {
    c->shared[FP_DROPS + FP_DROP_DISALLOWED_SOURCE]++;
    return FP_DONE;
  }
  *packet = text;
  *packet_len = (size_t)total;
  return FP_DELIVER;
}
