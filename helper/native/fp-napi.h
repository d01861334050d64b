/* What the fast path's JavaScript interface (fp-napi.c) shares between its files: the core's box
 * and the readers of handles and arguments, which throw and return NULL / false on a wrong one. */
#ifndef BURROW_NATIVE_FP_NAPI_H
#define BURROW_NATIVE_FP_NAPI_H

#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>

#include "fp-core.h"

#define MAX_PACKET 65535u

typedef struct {
  fp_core core;
  uint8_t *scratch; /* fpReceive opens a copy here, so the caller's bytes stay as they were */
} core_box;

/* The object behind an external whose first word is `magic`, else a TypeError "not a <what> handle". */
void *fp_napi_unwrap(napi_env env, napi_value value, uint32_t magic, const char *what);
fp_core *fp_napi_core_arg(napi_env env, napi_value v);
bool fp_napi_bytes_arg(napi_env env, napi_value v, const char *what, uint8_t **data, size_t *len);
bool fp_napi_double_arg(napi_env env, napi_value v, const char *what, double *out);

#endif
