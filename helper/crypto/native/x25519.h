#ifndef BURROW_X25519_H
#define BURROW_X25519_H

#include <node_api.h>

// Adds x25519PublicKey and x25519 to the addon's exports.
napi_status burrow_x25519_register(napi_env env, napi_value exports);

#endif
