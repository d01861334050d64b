/*
 * burrow_crypto: ChaCha20-Poly1305 for burrowd's datapath through OpenSSL's EVP interface (aead.c),
 * and the handshake's X25519 (x25519.c, EVP too) and BLAKE2s (blake2s.c).
 * A separate addon from burrow_native on purpose: it binds to the OpenSSL symbols that Node exports,
 * which Electron (BoringSSL) does not have, while the packet I/O addon must load anywhere N-API does.
 */
#include <node_api.h>

#include "aead.h"
#include "blake2s.h"
#include "x25519.h"

static napi_value init(napi_env env, napi_value exports) {
  if (burrow_aead_register(env, exports) != napi_ok || burrow_x25519_register(env, exports) != napi_ok ||
      burrow_blake2s_register(env, exports) != napi_ok) {
    return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
