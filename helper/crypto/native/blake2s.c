// BLAKE2s (RFC 7693) for the handshake: the unkeyed hash, the keyed MAC, HMAC-BLAKE2s and the
// HKDF over it that WireGuard's KDF is.
//
// A handshake makes about a hundred BLAKE2s computations on inputs of one or two blocks. OpenSSL's
// EVP digest costs ~0.3 us of set-up per computation (fetch, init, final) and its BLAKE2SMAC more,
// which is as much as the compressions themselves; this straight C version costs one N-API call
// per hash or HMAC. src/crypto/blake2s.ts (JavaScript) and @noble are the references it is tested against.

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "blake2s.h"

#define BLOCK 64

static const uint32_t IV[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

static const uint8_t SIGMA[10][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4}, {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13}, {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11}, {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5}, {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
};

typedef struct {
  uint32_t h[8];
  uint64_t total;  // bytes compressed so far, counting the block being compressed
  uint8_t buffer[BLOCK];
  size_t buffered;
  size_t out_len;
} state_t;

static inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static inline uint32_t load32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

#define G(a, b, c, d, x, y)     \
  do {                          \
    a = a + b + (x);            \
    d = rotr(d ^ a, 16);        \
    c = c + d;                  \
    b = rotr(b ^ c, 12);        \
    a = a + b + (y);            \
    d = rotr(d ^ a, 8);         \
    c = c + d;                  \
    b = rotr(b ^ c, 7);         \
  } while (0)

static void compress(state_t *s, const uint8_t *block, int last) {
  uint32_t m[16], v[16];
  for (int i = 0; i < 16; i++) m[i] = load32(block + 4 * i);
  for (int i = 0; i < 8; i++) v[i] = s->h[i];
  for (int i = 0; i < 8; i++) v[8 + i] = IV[i];
  v[12] ^= (uint32_t)s->total;
  v[13] ^= (uint32_t)(s->total >> 32);
  if (last) v[14] = ~v[14];
  for (int r = 0; r < 10; r++) {
    const uint8_t *sg = SIGMA[r];
    G(v[0], v[4], v[8], v[12], m[sg[0]], m[sg[1]]);
    G(v[1], v[5], v[9], v[13], m[sg[2]], m[sg[3]]);
    G(v[2], v[6], v[10], v[14], m[sg[4]], m[sg[5]]);
    G(v[3], v[7], v[11], v[15], m[sg[6]], m[sg[7]]);
    G(v[0], v[5], v[10], v[15], m[sg[8]], m[sg[9]]);
    G(v[1], v[6], v[11], v[12], m[sg[10]], m[sg[11]]);
    G(v[2], v[7], v[8], v[13], m[sg[12]], m[sg[13]]);
    G(v[3], v[4], v[9], v[14], m[sg[14]], m[sg[15]]);
  }
  for (int i = 0; i < 8; i++) s->h[i] ^= v[i] ^ v[8 + i];
  OPENSSL_cleanse(m, sizeof m);
  OPENSSL_cleanse(v, sizeof v);
}

static void start(state_t *s, size_t out_len, const uint8_t *key, size_t key_len) {
  memcpy(s->h, IV, sizeof IV);
  s->h[0] ^= 0x01010000 ^ ((uint32_t)key_len << 8) ^ (uint32_t)out_len;
  s->total = 0;
  s->buffered = 0;
  s->out_len = out_len;
  if (key_len > 0) {
    // The key is a full, zero-padded first block.
    memset(s->buffer, 0, BLOCK);
    memcpy(s->buffer, key, key_len);
    s->buffered = BLOCK;
  }
}

static void absorb(state_t *s, const uint8_t *data, size_t length) {
  while (length > 0) {
    // The last block must be compressed with the final flag, so a full buffer is compressed only
    // once more input is known to follow.
    if (s->buffered == BLOCK) {
      s->total += BLOCK;
      compress(s, s->buffer, 0);
      s->buffered = 0;
    }
    if (s->buffered == 0) {
      while (length > BLOCK) {
        s->total += BLOCK;
        compress(s, data, 0);
        data += BLOCK;
        length -= BLOCK;
      }
    }
    size_t take = BLOCK - s->buffered < length ? BLOCK - s->buffered : length;
    memcpy(s->buffer + s->buffered, data, take);
    s->buffered += take;
    data += take;
    length -= take;
  }
}

static void finish(state_t *s, uint8_t *out) {
  s->total += s->buffered;
  memset(s->buffer + s->buffered, 0, BLOCK - s->buffered);
  compress(s, s->buffer, 1);
  for (size_t i = 0; i < s->out_len; i++) out[i] = (uint8_t)(s->h[i >> 2] >> (8 * (i & 3)));
  OPENSSL_cleanse(s, sizeof *s);
}

// Absorbs the call's arguments from `first` on, each a Uint8Array; returns 0 (with a TypeError
// pending) if one is not. Arguments are read a few at a time: the handshake passes one to three.
static int absorb_args(napi_env env, napi_callback_info info, size_t first, state_t *s) {
  enum { CHUNK = 8 };
  napi_value argv[CHUNK];
  size_t argc = CHUNK;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  size_t total = argc;
  napi_value *all = argv;
  if (total > CHUNK) {
    all = malloc(total * sizeof(napi_value));
    if (all == NULL) return napi_throw_error(env, NULL, "out of memory"), 0;
    napi_get_cb_info(env, info, &total, all, NULL, NULL);
  }
  int ok = 1;
  for (size_t i = first; i < total && ok; i++) {
    uint8_t *data;
    size_t length;
    if (crypto_get_bytes(env, all[i], &data, &length)) {
      absorb(s, data, length);
    } else {
      crypto_throw_type(env, "BLAKE2s input must be a Uint8Array");
      ok = 0;
    }
  }
  if (all != argv) free(all);
  return ok;
}

// blake2sHash(...parts: Uint8Array[]) -> Uint8Array(32): BLAKE2s-256 of their concatenation.
static napi_value hash(napi_env env, napi_callback_info info) {
  state_t s;
  start(&s, 32, NULL, 0);
  if (!absorb_args(env, info, 0, &s)) return OPENSSL_cleanse(&s, sizeof s), NULL;
  uint8_t *out;
  napi_value result = crypto_new_bytes(env, 32, &out);
  if (result != NULL) finish(&s, out);
  OPENSSL_cleanse(&s, sizeof s);
  return result;
}

// blake2sKeyed(key: Uint8Array(0..32), data: Uint8Array, outLen: 1..32) -> Uint8Array(outLen)
static napi_value keyed(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *key, *data;
  size_t key_len, data_len;
  uint32_t out_len;
  if (argc < 3 || !crypto_get_bytes(env, argv[0], &key, &key_len) ||
      !crypto_get_bytes(env, argv[1], &data, &data_len)) {
    return crypto_throw_type(env, "blake2sKeyed takes a key, data (Uint8Arrays) and an output length");
  }
  if (napi_get_value_uint32(env, argv[2], &out_len) != napi_ok || out_len < 1 || out_len > 32) {
    return crypto_throw_range(env, "BLAKE2s output length must be 1..32");
  }
  if (key_len > 32) return crypto_throw_range(env, "BLAKE2s key must be at most 32 bytes");
  uint8_t *out;
  napi_value result = crypto_new_bytes(env, out_len, &out);
  if (result == NULL) return NULL;
  state_t s;
  start(&s, out_len, key, key_len);
  absorb(&s, data, data_len);
  finish(&s, out);
  return result;
}

// HMAC (RFC 2104) with BLAKE2s-256 and its 64-byte block: the inner hash, and the padded key for
// the outer one.
typedef struct {
  state_t inner;
  uint8_t pad[BLOCK];
} hmac_t;

static void hmac_start(hmac_t *m, const uint8_t *key, size_t key_len) {
  memset(m->pad, 0, BLOCK);
  if (key_len > BLOCK) {
    start(&m->inner, 32, NULL, 0);
    absorb(&m->inner, key, key_len);
    finish(&m->inner, m->pad);
  } else {
    memcpy(m->pad, key, key_len);
  }
  for (int i = 0; i < BLOCK; i++) m->pad[i] ^= 0x36;
  start(&m->inner, 32, NULL, 0);
  absorb(&m->inner, m->pad, BLOCK);
}

static void hmac_finish(hmac_t *m, uint8_t out[32]) {
  uint8_t inner[32];
  finish(&m->inner, inner);
  for (int i = 0; i < BLOCK; i++) m->pad[i] ^= 0x36 ^ 0x5c;
  start(&m->inner, 32, NULL, 0);
  absorb(&m->inner, m->pad, BLOCK);
  absorb(&m->inner, inner, 32);
  finish(&m->inner, out);
  OPENSSL_cleanse(inner, sizeof inner);
  OPENSSL_cleanse(m, sizeof *m);
}

// hmacBlake2s(key: Uint8Array, ...parts: Uint8Array[]) -> Uint8Array(32)
static napi_value hmac(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value key_value;
  napi_get_cb_info(env, info, &argc, &key_value, NULL, NULL);
  uint8_t *key;
  size_t key_len;
  if (argc < 1 || !crypto_get_bytes(env, key_value, &key, &key_len)) {
    return crypto_throw_type(env, "HMAC key must be a Uint8Array");
  }
  hmac_t m;
  hmac_start(&m, key, key_len);
  napi_value result = NULL;
  uint8_t *out;
  if (absorb_args(env, info, 1, &m.inner) && (result = crypto_new_bytes(env, 32, &out)) != NULL) {
    hmac_finish(&m, out);
  }
  OPENSSL_cleanse(&m, sizeof m);
  return result;
}

// hkdfBlake2s(n: 1..3, key: Uint8Array, input: Uint8Array) -> Uint8Array(32)[n]: WireGuard's KDF_n,
// HKDF (RFC 5869) over HMAC-BLAKE2s with empty info. One call instead of n + 1 HMAC calls.
static napi_value hkdf(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t n;
  uint8_t *key, *input;
  size_t key_len, input_len;
  if (argc < 3 || napi_get_value_uint32(env, argv[0], &n) != napi_ok || n < 1 || n > 3) {
    return crypto_throw_range(env, "KDF output count must be 1..3");
  }
  if (!crypto_get_bytes(env, argv[1], &key, &key_len) || !crypto_get_bytes(env, argv[2], &input, &input_len)) {
    return crypto_throw_type(env, "KDF key and input must be Uint8Arrays");
  }
  napi_value result;
  if (napi_create_array_with_length(env, n, &result) != napi_ok) return NULL;
  uint8_t *outs[3];
  for (uint32_t i = 0; i < n; i++) {
    napi_value t = crypto_new_bytes(env, 32, &outs[i]);
    if (t == NULL || napi_set_element(env, result, i, t) != napi_ok) return NULL;
  }
  hmac_t m;
  uint8_t prk[32];
  hmac_start(&m, key, key_len);
  absorb(&m.inner, input, input_len);
  hmac_finish(&m, prk);
  for (uint32_t i = 0; i < n; i++) {
    uint8_t counter = (uint8_t)(i + 1);
    hmac_start(&m, prk, 32);
    if (i > 0) absorb(&m.inner, outs[i - 1], 32);
    absorb(&m.inner, &counter, 1);
    hmac_finish(&m, outs[i]);
  }
  OPENSSL_cleanse(prk, sizeof prk);
  return result;
}

napi_status burrow_blake2s_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"blake2sHash", NULL, hash, NULL, NULL, NULL, napi_default, NULL},
      {"blake2sKeyed", NULL, keyed, NULL, NULL, NULL, napi_default, NULL},
      {"hmacBlake2s", NULL, hmac, NULL, NULL, NULL, napi_default, NULL},
      {"hkdfBlake2s", NULL, hkdf, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
