// ChaCha20-Poly1305 for the datapath, straight from OpenSSL's EVP interface.
//
// node:crypto's createCipheriv costs ~6 us of fixed overhead per packet (a new cipher object, key
// schedule, several JS<->C++ crossings); for 1420-byte packets that is most of the work. Here one
// EVP context per direction is set up once per session key and each packet costs one N-API call.
// A key used once (the handshake's messages each have their own) goes through aeadSealOnce and
// aeadOpenOnce instead, which rekey one shared context: making a context handle (a N-API external
// with a finalizer) costs several microseconds and burdens the garbage collector.
// Node links OpenSSL statically and exports its symbols, so the addon uses Node's own copy.

#include <node_api.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aead.h"

#define KEY_LEN 32
#define TAG_LEN 16
#define NONCE_LEN 12

typedef struct {
  EVP_CIPHER_CTX *seal;
  EVP_CIPHER_CTX *open;
} aead_t;

static void aead_free(aead_t *a) {
  if (a->seal) EVP_CIPHER_CTX_free(a->seal);  // EVP_CIPHER_CTX_free cleanses the key schedule
  if (a->open) EVP_CIPHER_CTX_free(a->open);
  a->seal = a->open = NULL;
}

static void aead_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  aead_free((aead_t *)data);
  free(data);
}

static napi_value throw_error(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

static napi_value throw_range(napi_env env, const char *message) {
  napi_throw_range_error(env, NULL, message);
  return NULL;
}

// Reads a Uint8Array argument; returns 0 if it is not one.
static int get_bytes(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  void *raw;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, &buffer, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = (uint8_t *)raw;
  return 1;
}

// The WireGuard nonce: 4 zero bytes, then the counter as a 64-bit little-endian integer.
static int get_nonce(napi_env env, napi_value value, uint8_t nonce[NONCE_LEN]) {
  double counter;
  if (napi_get_value_double(env, value, &counter) != napi_ok) return 0;
  if (!(counter >= 0 && counter <= 9007199254740991.0) || counter != (double)(uint64_t)counter) return 0;
  uint64_t n = (uint64_t)counter;
  memset(nonce, 0, 4);
  for (int i = 0; i < 8; i++) nonce[4 + i] = (uint8_t)(n >> (8 * i));
  return 1;
}

static aead_t *get_aead(napi_env env, napi_value value) {
  void *data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok || data == NULL) return NULL;
  aead_t *a = (aead_t *)data;
  return a->seal ? a : NULL;
}

// aeadCreate(key: Uint8Array(32)) -> External
static napi_value aead_create(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *key;
  size_t key_len;
  if (argc < 1 || !get_bytes(env, argv[0], &key, &key_len)) return throw_error(env, "key must be a Uint8Array");
  if (key_len != KEY_LEN) return throw_range(env, "ChaCha20-Poly1305 key must be 32 bytes");
  aead_t *a = calloc(1, sizeof(aead_t));
  if (!a) return throw_error(env, "out of memory");
  a->seal = EVP_CIPHER_CTX_new();
  a->open = EVP_CIPHER_CTX_new();
  if (!a->seal || !a->open || EVP_EncryptInit_ex(a->seal, EVP_chacha20_poly1305(), NULL, key, NULL) != 1 ||
      EVP_DecryptInit_ex(a->open, EVP_chacha20_poly1305(), NULL, key, NULL) != 1) {
    aead_free(a);
    free(a);
    return throw_error(env, "OpenSSL has no usable chacha20-poly1305");
  }
  napi_value external;
  if (napi_create_external(env, a, aead_finalize, NULL, &external) != napi_ok) {
    aead_free(a);
    free(a);
    return throw_error(env, "cannot create handle");
  }
  return external;
}

// Seals with `ctx`, rekeyed with `key` first unless it is NULL: argv is (counter, plaintext,
// ad | null, out, outOffset). Returns the number of bytes written.
static napi_value seal_with(napi_env env, EVP_CIPHER_CTX *ctx, const uint8_t *key, napi_value *argv) {
  uint8_t nonce[NONCE_LEN];
  if (!get_nonce(env, argv[0], nonce)) return throw_range(env, "counter must be a non-negative safe integer");
  uint8_t *pt, *out, *ad = NULL;
  size_t pt_len, out_len, ad_len = 0;
  if (!get_bytes(env, argv[1], &pt, &pt_len)) return throw_error(env, "plaintext must be a Uint8Array");
  napi_valuetype ad_type;
  napi_typeof(env, argv[2], &ad_type);
  if (ad_type != napi_null && !get_bytes(env, argv[2], &ad, &ad_len)) return throw_error(env, "ad must be a Uint8Array or null");
  if (!get_bytes(env, argv[3], &out, &out_len)) return throw_error(env, "out must be a Uint8Array");
  uint32_t offset;
  if (napi_get_value_uint32(env, argv[4], &offset) != napi_ok) return throw_range(env, "bad outOffset");
  if (pt_len > INT32_MAX - TAG_LEN || (size_t)offset + pt_len + TAG_LEN > out_len) {
    return throw_range(env, "out has no room for the sealed message");
  }
  int n = 0;
  uint8_t *dst = out + offset;
  if (EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) != 1 ||
      (ad_len > 0 && EVP_EncryptUpdate(ctx, NULL, &n, ad, (int)ad_len) != 1) ||
      EVP_EncryptUpdate(ctx, dst, &n, pt, (int)pt_len) != 1 || EVP_EncryptFinal_ex(ctx, dst + n, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, dst + pt_len) != 1) {
    return throw_error(env, "ChaCha20-Poly1305 seal failed");
  }
  napi_value result;
  napi_create_uint32(env, (uint32_t)(pt_len + TAG_LEN), &result);
  return result;
}

// aeadSeal(handle, counter, plaintext, ad | null, out, outOffset) -> bytes written
static napi_value aead_seal(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 6) return throw_error(env, "aeadSeal takes 6 arguments");
  aead_t *a = get_aead(env, argv[0]);
  if (!a) return throw_error(env, "not a live AEAD handle");
  return seal_with(env, a->seal, NULL, argv + 1);
}

// Opens with `ctx`, rekeyed with `key` first unless it is NULL: argv is (counter, sealed, ad | null).
// Returns the plaintext, or null if it is not authentic.
static napi_value open_with(napi_env env, EVP_CIPHER_CTX *ctx, const uint8_t *key, napi_value *argv) {
  napi_value null_value;
  napi_get_null(env, &null_value);
  uint8_t nonce[NONCE_LEN];
  if (!get_nonce(env, argv[0], nonce)) return null_value;
  uint8_t *sealed, *ad = NULL;
  size_t sealed_len, ad_len = 0;
  if (!get_bytes(env, argv[1], &sealed, &sealed_len)) return throw_error(env, "sealed must be a Uint8Array");
  napi_valuetype ad_type;
  napi_typeof(env, argv[2], &ad_type);
  if (ad_type != napi_null && !get_bytes(env, argv[2], &ad, &ad_len)) return throw_error(env, "ad must be a Uint8Array or null");
  if (sealed_len < TAG_LEN || sealed_len > INT32_MAX) return null_value;
  size_t ct_len = sealed_len - TAG_LEN;
  void *plain;
  napi_value arraybuffer, result;
  if (napi_create_arraybuffer(env, ct_len, &plain, &arraybuffer) != napi_ok) return throw_error(env, "out of memory");
  int n = 0;
  uint8_t tag[TAG_LEN];
  memcpy(tag, sealed + ct_len, TAG_LEN);
  int ok = EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) == 1 &&
           (ad_len == 0 || EVP_DecryptUpdate(ctx, NULL, &n, ad, (int)ad_len) == 1) &&
           EVP_DecryptUpdate(ctx, plain, &n, sealed, (int)ct_len) == 1 &&
           EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) == 1 &&
           EVP_DecryptFinal_ex(ctx, (uint8_t *)plain + n, &n) == 1;
  if (!ok) {
    // OpenSSL decrypts before it checks the tag: do not leave forged plaintext around.
    memset(plain, 0, ct_len);
    return null_value;
  }
  napi_create_typedarray(env, napi_uint8_array, ct_len, arraybuffer, 0, &result);
  return result;
}

// aeadOpen(handle, counter, sealed, ad | null) -> Uint8Array | null (null: not authentic)
static napi_value aead_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) return throw_error(env, "aeadOpen takes 4 arguments");
  aead_t *a = get_aead(env, argv[0]);
  if (!a) return throw_error(env, "not a live AEAD handle");
  return open_with(env, a->open, NULL, argv + 1);
}

// The key argument of the one-shot calls; NULL (with an exception pending) if it is not 32 bytes.
static const uint8_t *get_key(napi_env env, napi_value value) {
  uint8_t *key;
  size_t key_len;
  if (!get_bytes(env, value, &key, &key_len)) return throw_error(env, "key must be a Uint8Array"), NULL;
  if (key_len != KEY_LEN) return throw_range(env, "ChaCha20-Poly1305 key must be 32 bytes"), NULL;
  return key;
}

// Overwrites a shared context's key schedule, so that a one-shot key does not outlive its call there.
static void forget_key(EVP_CIPHER_CTX *ctx) {
  static const uint8_t zero[KEY_LEN];
  EVP_CipherInit_ex(ctx, NULL, NULL, zero, NULL, -1);
}

// aeadSealOnce(key, counter, plaintext, ad | null, out, outOffset) -> bytes written
static napi_value aead_seal_once(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  void *data;
  napi_get_cb_info(env, info, &argc, argv, NULL, &data);
  if (argc < 6) return throw_error(env, "aeadSealOnce takes 6 arguments");
  const uint8_t *key = get_key(env, argv[0]);
  if (key == NULL) return NULL;
  EVP_CIPHER_CTX *ctx = ((aead_t *)data)->seal;
  napi_value result = seal_with(env, ctx, key, argv + 1);
  forget_key(ctx);
  return result;
}

// aeadOpenOnce(key, counter, sealed, ad | null) -> Uint8Array | null (null: not authentic)
static napi_value aead_open_once(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  void *data;
  napi_get_cb_info(env, info, &argc, argv, NULL, &data);
  if (argc < 4) return throw_error(env, "aeadOpenOnce takes 4 arguments");
  const uint8_t *key = get_key(env, argv[0]);
  if (key == NULL) return NULL;
  EVP_CIPHER_CTX *ctx = ((aead_t *)data)->open;
  napi_value result = open_with(env, ctx, key, argv + 1);
  forget_key(ctx);
  return result;
}

// aeadWipe(handle): frees (and so cleanses) both contexts; the handle is dead afterwards.
static napi_value aead_wipe(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *data = NULL;
  if (argc >= 1 && napi_get_value_external(env, argv[0], &data) == napi_ok && data) aead_free((aead_t *)data);
  return NULL;
}

static void shared_free(void *data) {
  aead_free((aead_t *)data);
  free(data);
}

napi_status burrow_aead_register(napi_env env, napi_value exports) {
  // The one-shot calls' contexts, one pair per N-API environment, keyed at each call.
  aead_t *shared = calloc(1, sizeof(aead_t));
  if (!shared) return napi_generic_failure;
  shared->seal = EVP_CIPHER_CTX_new();
  shared->open = EVP_CIPHER_CTX_new();
  if (!shared->seal || !shared->open || EVP_EncryptInit_ex(shared->seal, EVP_chacha20_poly1305(), NULL, NULL, NULL) != 1 ||
      EVP_DecryptInit_ex(shared->open, EVP_chacha20_poly1305(), NULL, NULL, NULL) != 1 ||
      napi_add_env_cleanup_hook(env, shared_free, shared) != napi_ok) {
    shared_free(shared);
    return napi_generic_failure;
  }
  napi_property_descriptor props[] = {
      {"aeadCreate", NULL, aead_create, NULL, NULL, NULL, napi_default, NULL},
      {"aeadSeal", NULL, aead_seal, NULL, NULL, NULL, napi_default, NULL},
      {"aeadOpen", NULL, aead_open, NULL, NULL, NULL, napi_default, NULL},
      {"aeadWipe", NULL, aead_wipe, NULL, NULL, NULL, napi_default, NULL},
      {"aeadSealOnce", NULL, aead_seal_once, NULL, NULL, NULL, napi_default, shared},
      {"aeadOpenOnce", NULL, aead_open_once, NULL, NULL, NULL, napi_default, shared},
  };
  return napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
