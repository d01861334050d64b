/*
 * burrow_crypto: ChaCha20-Poly1305 for burrowd's datapath through OpenSSL's EVP interface (aead.c).
 * A separate addon from burrow_native on purpose: it binds to the OpenSSL symbols that Node exports,
 * which Electron (BoringSSL) does not have, while the packet I/O addon must load anywhere N-API does.
 */
#include <node_api.h>

#include "aead.h"

static napi_value init(napi_env env, napi_value exports) {
  if (burrow_aead_register(env, exports) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
