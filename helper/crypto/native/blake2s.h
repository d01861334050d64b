#ifndef BURROW_BLAKE2S_H
#define BURROW_BLAKE2S_H

#include <node_api.h>

// Adds blake2sHash, blake2sKeyed, hmacBlake2s and hkdfBlake2s to the addon's exports.
napi_status burrow_blake2s_register(napi_env env, napi_value exports);

#endif
