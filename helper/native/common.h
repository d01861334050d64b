/*
 * Shared plumbing for burrow_native: errors, argument checks, and the life cycle of a file
 * descriptor that libuv polls and JavaScript owns through an external (bn_io).
 */
#ifndef BURROW_NATIVE_COMMON_H
#define BURROW_NATIVE_COMMON_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Bumped whenever the JS <-> C contract changes; helper/native/index.ts checks it. */
#define BN_ABI_VERSION 6

/* Returns NULL from the enclosing napi callback when a napi call fails (an exception is pending). */
#define BN_CALL(env, call)                                                                         \
  do {                                                                                             \
    if ((call) != napi_ok) {                                                                       \
      bn_throw_last(env);                                                                          \
      return NULL;                                                                                 \
    }                                                                                              \
  } while (0)

/* Throws Error(`${what}: ${strerror(err)} (${ECODE})`) with code, errno (negative, as Node's system
 * errors have it) and syscall properties. Always returns NULL. */
napi_value bn_throw_errno(napi_env env, int err, const char *syscall, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Throws a TypeError / RangeError with Node's code for it. Always return NULL. */
napi_value bn_throw_type(napi_env env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
napi_value bn_throw_range(napi_env env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Throws an Error for the last failed napi call unless an exception is already pending. */
void bn_throw_last(napi_env env);
/* Creates (does not throw) an Error for errno `err`, as bn_throw_errno would. */
napi_value bn_errno_error(napi_env env, int err, const char *syscall, const char *message);
/* Symbolic name of a positive errno ("EAGAIN"), from libuv. */
const char *bn_errno_name(int err);

/* Reads exactly `argc` arguments; throws a TypeError if fewer were passed. */
bool bn_args(napi_env env, napi_callback_info info, size_t argc, napi_value *argv);
bool bn_get_u32(napi_env env, napi_value value, const char *what, uint32_t *out);
bool bn_set_double(napi_env env, napi_value obj, const char *key, double value);
/* Sets obj[key] to the errno's name ("EAGAIN"), or leaves obj alone when err is 0. */
bool bn_set_errno_name(napi_env env, napi_value obj, const char *key, int err);

/*
 * A polled descriptor owned by a JS external. Freed when both the external is collected and the
 * uv_poll handle has finished closing, in whichever order those happen.
 */
typedef struct bn_io bn_io;
struct bn_io {
  uint32_t magic;         /* which kind of handle this is (checked when unwrapping) */
  int fd;                 /* -1 once closed */
  napi_env env;
  uv_poll_t poll;         /* initialised with the fd; uv_close'd by bn_io_close */
  bool polling;           /* uv_poll_start'ed */
  bool handle_closed;     /* uv_close callback ran */
  bool finalized;         /* the JS external was collected */
  int in_callback;        /* depth of calls into JS from the poll callback */
  napi_ref callback;      /* the JS function, while reading */
  napi_ref self;          /* strong reference to the external, while reading */
  napi_async_context async_context;
  napi_async_cleanup_hook_handle cleanup_hook;
  /* Called with a handle scope open; poll_status < 0: libuv saw POLLERR. */
  void (*on_readable)(bn_io *io, int poll_status);
  void (*destroy)(bn_io *io); /* frees the struct containing this bn_io */
  void *owner;                /* the fast path's engine, while it reads this descriptor itself */
};

/* Initialises `io` around an open fd (taking ownership of it), and wraps it in an external.
 * On failure closes the fd, destroys io, throws and returns NULL. */
napi_value bn_io_wrap(napi_env env, bn_io *io, uint32_t magic, int fd, void (*on_readable)(bn_io *, int),
                      void (*destroy)(bn_io *));
/* The bn_io of an external of kind `magic`, or NULL with a TypeError thrown. With open_only, a closed
 * handle throws too ("<what> is closed"). */
bn_io *bn_io_unwrap(napi_env env, napi_value value, uint32_t magic, bool open_only, const char *what);
/* Starts polling for readability and calling `callback` (kept referenced) from the poll callback. */
napi_value bn_io_start(napi_env env, bn_io *io, napi_value self, napi_value callback,
                       const char *resource_name);
/* Stops polling, closes the fd, releases JS references; idempotent. */
void bn_io_close(bn_io *io);
/* Stops polling (after a fatal read error) without closing the fd. */
void bn_io_stop(bn_io *io);
/* Calls the JS callback with argv inside a callback scope (microtasks and nextTicks run after it);
 * an exception thrown by it becomes an uncaught exception. Must be called with a handle scope open. */
void bn_io_call(bn_io *io, size_t argc, napi_value *argv);
/* Stops polling and calls the JS callback as (undefined, 0, error). Needs a handle scope. */
void bn_io_fail(bn_io *io, int err, const char *syscall, const char *message);

#endif
