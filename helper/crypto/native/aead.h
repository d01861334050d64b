#ifndef BURROW_AEAD_H
#define BURROW_AEAD_H

#include <node_api.h>

// Adds aeadCreate, aeadSeal, aeadOpen, aeadWipe, aeadSealOnce and aeadOpenOnce to the addon's exports.
napi_status burrow_aead_register(napi_env env, napi_value exports);

#endif
