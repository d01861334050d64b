// X25519 (RFC 7748) on raw 32-byte keys through OpenSSL's EVP interface.
//
// node:crypto does X25519 only on KeyObjects, and importing a raw private key into one costs as much
// as the Diffie-Hellman itself (JWK parsing, then OpenSSL computing the public key). Here each call
// takes the raw keys. OpenSSL still needs a private key imported (which computes its public key, a
// scalar multiplication as dear as a DH), so the last few private keys stay imported, found again
// by their bytes: the static key serves every handshake, and an ephemeral key its two or three DHs
// after the import that made its public key. Public keys are kept the same way (a peer's static key
// and ephemeral key each serve two DHs of a handshake), which saves their import's allocations. The
// tables live in C rather than as handles in JavaScript because a N-API external with a finalizer
// costs several microseconds to make and slows the garbage collector, two per handshake.

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "x25519.h"

#define KEY_LEN 32
// The static key and a few handshakes' ephemeral keys, and as many public keys. An evicted private
// key is cleansed, and a key is imported again if it is used again.
#define SLOTS 8

typedef struct {
  EVP_PKEY *key;
  EVP_PKEY_CTX *derive;  // private keys: derive-initialised on `key`, reused for each DH
  uint8_t raw[KEY_LEN];
  uint64_t used;  // when it was last used, for eviction
} slot_t;

typedef struct {
  slot_t privates[SLOTS];
  slot_t publics[SLOTS];
  uint64_t clock;
} table_t;

static void clear(slot_t *s) {
  EVP_PKEY_CTX_free(s->derive);
  EVP_PKEY_free(s->key);  // cleanses OpenSSL's copy of the private key
  OPENSSL_cleanse(s->raw, KEY_LEN);
  s->derive = NULL;
  s->key = NULL;
  s->used = 0;
}

static void table_free(void *data) {
  table_t *t = (table_t *)data;
  for (int i = 0; i < SLOTS; i++) {
    clear(&t->privates[i]);
    clear(&t->publics[i]);
  }
  free(t);
}

// Reads `value` as a 32-byte key; 0 (with an exception pending) if it is not one. `message` names it.
static int get_key(napi_env env, napi_value value, const char *message, uint8_t **raw) {
  size_t length;
  if (!crypto_get_bytes(env, value, raw, &length)) {
    napi_throw_type_error(env, NULL, message);
    return 0;
  }
  if (length != KEY_LEN) {
    napi_throw_range_error(env, NULL, message);
    return 0;
  }
  return 1;
}

// The slot of `slots` holding the key `raw` (*found), or else the least recently used one, cleared.
static slot_t *find(table_t *t, slot_t *slots, const uint8_t *raw, int *found) {
  slot_t *match = NULL, *oldest = &slots[0];
  for (int i = 0; i < SLOTS; i++) {
    slot_t *s = &slots[i];
    if (s->key != NULL && CRYPTO_memcmp(s->raw, raw, KEY_LEN) == 0) match = s;
    if (s->used < oldest->used) oldest = s;
  }
  *found = match != NULL;
  if (match == NULL) {
    match = oldest;
    clear(match);
  }
  match->used = ++t->clock;
  return match;
}

// The slot holding the private key `raw`, imported now if no slot holds it. NULL, with an exception
// pending, if OpenSSL cannot import it.
static slot_t *private_key(napi_env env, table_t *t, const uint8_t *raw) {
  int found;
  slot_t *s = find(t, t->privates, raw, &found);
  if (found) return s;
  s->key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, raw, KEY_LEN);
  if (s->key != NULL) s->derive = EVP_PKEY_CTX_new(s->key, NULL);
  if (s->derive == NULL || EVP_PKEY_derive_init(s->derive) != 1) {
    clear(s);
    ERR_clear_error();
    napi_throw_error(env, NULL, "OpenSSL has no usable X25519");
    return NULL;
  }
  memcpy(s->raw, raw, KEY_LEN);
  return s;
}

// The public key `raw` imported, from its slot or now. NULL, with an exception pending, on failure.
static EVP_PKEY *public_key_of(napi_env env, table_t *t, const uint8_t *raw) {
  int found;
  slot_t *s = find(t, t->publics, raw, &found);
  if (found) return s->key;
  s->key = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, raw, KEY_LEN);
  if (s->key == NULL) {
    ERR_clear_error();
    napi_throw_error(env, NULL, "X25519 public key import failed");
    return NULL;
  }
  memcpy(s->raw, raw, KEY_LEN);
  return s->key;
}

// x25519PublicKey(privateKey: Uint8Array(32)) -> Uint8Array(32)
static napi_value public_key(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data;
  napi_get_cb_info(env, info, &argc, argv, NULL, &data);
  uint8_t *raw;
  if (argc < 1 || !get_key(env, argv[0], "X25519 private key must be 32 bytes", &raw)) return NULL;
  slot_t *s = private_key(env, (table_t *)data, raw);
  if (s == NULL) return NULL;
  uint8_t *out;
  napi_value result = crypto_new_bytes(env, KEY_LEN, &out);
  if (result == NULL) return NULL;
  size_t length = KEY_LEN;
  if (EVP_PKEY_get_raw_public_key(s->key, out, &length) != 1 || length != KEY_LEN) {
    ERR_clear_error();
    napi_throw_error(env, NULL, "X25519 public key export failed");
    return NULL;
  }
  return result;
}

// x25519(privateKey: Uint8Array(32), publicKey: Uint8Array(32)) -> Uint8Array(32), or null for the
// all-zero result of a low-order public key (which OpenSSL refuses to return, and WireGuard must
// refuse too).
static napi_value derive(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *data;
  napi_get_cb_info(env, info, &argc, argv, NULL, &data);
  uint8_t *raw_private, *raw_public;
  if (argc < 2 || !get_key(env, argv[0], "X25519 private key must be 32 bytes", &raw_private) ||
      !get_key(env, argv[1], "X25519 public key must be 32 bytes", &raw_public)) {
    return NULL;
  }
  table_t *t = (table_t *)data;
  slot_t *s = private_key(env, t, raw_private);
  if (s == NULL) return NULL;
  EVP_PKEY *peer = public_key_of(env, t, raw_public);
  if (peer == NULL) return NULL;
  // No validation of the peer key: X25519 takes any 32 bytes, and checking costs a context.
  if (EVP_PKEY_derive_set_peer_ex(s->derive, peer, 0) != 1) {
    ERR_clear_error();
    napi_throw_error(env, NULL, "X25519 public key import failed");
    return NULL;
  }
  uint8_t *out;
  napi_value result = crypto_new_bytes(env, KEY_LEN, &out);
  if (result == NULL) return NULL;
  size_t length = KEY_LEN;
  int ok = EVP_PKEY_derive(s->derive, out, &length) == 1 && length == KEY_LEN;
  if (!ok) {
    // With both keys imported, the derive fails only for the all-zero result.
    ERR_clear_error();
    napi_get_null(env, &result);
  }
  return result;
}

napi_status burrow_x25519_register(napi_env env, napi_value exports) {
  // One table per N-API environment (the main thread and each worker that loads the addon).
  table_t *t = calloc(1, sizeof(table_t));
  if (t == NULL) return napi_generic_failure;
  napi_status status = napi_add_env_cleanup_hook(env, table_free, t);
  if (status != napi_ok) {
    free(t);
    return status;
  }
  napi_property_descriptor props[] = {
      {"x25519PublicKey", NULL, public_key, NULL, NULL, NULL, napi_default, t},
      {"x25519", NULL, derive, NULL, NULL, NULL, napi_default, t},
  };
  return napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
