#include "args.h"

int crypto_get_bytes(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  void *raw;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, &buffer, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  // An empty array may have no backing store at all.
  *data = raw != NULL ? (uint8_t *)raw : (uint8_t *)"";
  return 1;
}

napi_value crypto_new_bytes(napi_env env, size_t length, uint8_t **data) {
  void *raw;
  napi_value arraybuffer, result;
  if (napi_create_arraybuffer(env, length, &raw, &arraybuffer) != napi_ok ||
      napi_create_typedarray(env, napi_uint8_array, length, arraybuffer, 0, &result) != napi_ok) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  *data = (uint8_t *)raw;
  return result;
}

napi_value crypto_throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

napi_value crypto_throw_range(napi_env env, const char *message) {
  napi_throw_range_error(env, NULL, message);
  return NULL;
}
