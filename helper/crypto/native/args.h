// Argument reading and result making shared by the crypto addon's X25519 and BLAKE2s functions.
#ifndef BURROW_CRYPTO_ARGS_H
#define BURROW_CRYPTO_ARGS_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

// Reads a Uint8Array argument; returns 0 if it is not one.
int crypto_get_bytes(napi_env env, napi_value value, uint8_t **data, size_t *length);

// A new Uint8Array of `length` bytes (a plain one, not a Buffer); *data points at its bytes.
// Returns NULL (with an exception pending) if it cannot be made.
napi_value crypto_new_bytes(napi_env env, size_t length, uint8_t **data);

napi_value crypto_throw_type(napi_env env, const char *message);
napi_value crypto_throw_range(napi_env env, const char *message);

#endif
