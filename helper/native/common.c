#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *bn_errno_name(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  /* glibc names every errno (libuv only those it maps, and uv_err_name leaks a string for others). */
  const char *name = strerrorname_np(err);
  if (name) return name;
#endif
  static char buffer[32]; /* only ever used on the JS thread */
  return uv_err_name_r(-err, buffer, sizeof buffer);
}

napi_value bn_errno_error(napi_env env, int err, const char *syscall, const char *message) {
  char text[512];
  snprintf(text, sizeof text, "%s: %s (%s)", message, strerror(err), bn_errno_name(err));
  napi_value code, msg, error, num, sys;
  if (napi_create_string_utf8(env, bn_errno_name(err), NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg) != napi_ok ||
      napi_create_error(env, code, msg, &error) != napi_ok) {
    return NULL;
  }
  if (napi_create_int32(env, -err, &num) == napi_ok) napi_set_named_property(env, error, "errno", num);
  if (syscall && napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys) == napi_ok) {
    napi_set_named_property(env, error, "syscall", sys);
  }
  return error;
}

napi_value bn_throw_errno(napi_env env, int err, const char *syscall, const char *fmt, ...) {
  char message[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  napi_value error = bn_errno_error(env, err, syscall, message);
  if (error) {
    napi_throw(env, error);
  } else {
    napi_throw_error(env, bn_errno_name(err), message);
  }
  return NULL;
}

napi_value bn_throw_type(napi_env env, const char *fmt, ...) {
  char message[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

napi_value bn_throw_range(napi_env env, const char *fmt, ...) {
  char message[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
  return NULL;
}

void bn_throw_last(napi_env env) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  napi_throw_error(env, NULL, info && info->error_message ? info->error_message : "napi call failed");
}

bool bn_args(napi_env env, napi_callback_info info, size_t argc, napi_value *argv) {
  size_t got = argc;
  if (napi_get_cb_info(env, info, &got, argv, NULL, NULL) != napi_ok) {
    bn_throw_last(env);
    return false;
  }
  if (got < argc) {
    bn_throw_type(env, "expected %zu arguments, got %zu", argc, got);
    return false;
  }
  return true;
}

bool bn_get_u32(napi_env env, napi_value value, const char *what, uint32_t *out) {
  napi_valuetype type;
  double d;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number) {
    bn_throw_type(env, "%s must be a number", what);
    return false;
  }
  napi_get_value_double(env, value, &d);
  if (!(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) {
    bn_throw_range(env, "%s must be an integer from 0 to 4294967295, got %g", what, d);
    return false;
  }
  *out = (uint32_t)d;
  return true;
}

bool bn_set_double(napi_env env, napi_value obj, const char *key, double value) {
  napi_value v;
  return napi_create_double(env, value, &v) == napi_ok && napi_set_named_property(env, obj, key, v) == napi_ok;
}

bool bn_set_errno_name(napi_env env, napi_value obj, const char *key, int err) {
  if (err == 0) return true;
  napi_value v;
  return napi_create_string_utf8(env, bn_errno_name(err), NAPI_AUTO_LENGTH, &v) == napi_ok &&
         napi_set_named_property(env, obj, key, v) == napi_ok;
}

/* ---- bn_io life cycle ---------------------------------------------------------------------- */

static void release_js(bn_io *io) {
  if (io->callback) {
    napi_delete_reference(io->env, io->callback);
    io->callback = NULL;
  }
  if (io->async_context) {
    napi_async_destroy(io->env, io->async_context);
    io->async_context = NULL;
  }
  if (io->self) {
    napi_delete_reference(io->env, io->self);
    io->self = NULL;
  }
}

static void on_handle_closed(uv_handle_t *handle) {
  bn_io *io = handle->data;
  io->handle_closed = true;
  if (io->cleanup_hook) {
    /* Unregisters the hook, or tells Node that an environment teardown may go on. */
    napi_remove_async_cleanup_hook(io->cleanup_hook);
    io->cleanup_hook = NULL;
  }
  if (io->finalized) io->destroy(io);
}

void bn_io_stop(bn_io *io) {
  if (io->polling) {
    uv_poll_stop(&io->poll);
    io->polling = false;
  }
}

void bn_io_close(bn_io *io) {
  if (io->fd < 0) return;
  bn_io_stop(io);
  /* uv_poll_stop took the fd out of epoll, so closing it now is safe. */
  close(io->fd);
  io->fd = -1;
  uv_close((uv_handle_t *)&io->poll, on_handle_closed);
  /* Inside a call into JS the references are still in use; bn_io_call releases them after it. */
  if (io->in_callback == 0) release_js(io);
}

static void on_env_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  bn_io *io = arg;
  bn_io_close(io); /* on_handle_closed removes the hook once the poll handle has closed */
}

static void on_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  bn_io *io = data;
  io->finalized = true;
  if (io->fd >= 0) {
    bn_io_close(io); /* dropped without close(): the poll handle closes, then it is freed */
  } else if (io->handle_closed) {
    io->destroy(io);
  }
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  (void)events;
  bn_io *io = handle->data;
  if (io->fd < 0) return;
  /* On POLLERR libuv has already stopped the handle and passes UV_EBADF; the reader then drains what
   * it can, and reports the error that read(2)/recvmmsg(2) give, or this one. */
  if (status < 0) io->polling = false;
  napi_handle_scope scope;
  if (napi_open_handle_scope(io->env, &scope) != napi_ok) return;
  io->on_readable(io, status);
  napi_close_handle_scope(io->env, scope);
}

napi_value bn_io_wrap(napi_env env, bn_io *io, uint32_t magic, int fd, void (*on_readable)(bn_io *, int),
                      void (*destroy)(bn_io *)) {
  io->magic = magic;
  io->fd = fd;
  io->env = env;
  io->on_readable = on_readable;
  io->destroy = destroy;
  uv_loop_t *loop = NULL;
  int rc;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == NULL) {
    close(fd);
    destroy(io);
    napi_throw_error(env, NULL, "no libuv event loop");
    return NULL;
  }
  if ((rc = uv_poll_init(loop, &io->poll, fd)) != 0) {
    close(fd);
    destroy(io);
    return bn_throw_errno(env, -rc, "uv_poll_init", "uv_poll_init");
  }
  io->poll.data = io;
  napi_value external;
  if (napi_create_external(env, io, on_finalize, NULL, &external) != napi_ok) {
    io->finalized = true; /* nobody else will ever see it: free it once the handle has closed */
    bn_io_close(io);
    bn_throw_last(env);
    return NULL;
  }
  if (napi_add_async_cleanup_hook(env, on_env_teardown, io, &io->cleanup_hook) != napi_ok) {
    io->cleanup_hook = NULL; /* the external's finalizer still closes it */
  }
  return external;
}

bn_io *bn_io_unwrap(napi_env env, napi_value value, uint32_t magic, bool open_only, const char *what) {
  napi_valuetype type;
  void *data = NULL;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external ||
      napi_get_value_external(env, value, &data) != napi_ok || data == NULL ||
      ((bn_io *)data)->magic != magic) {
    bn_throw_type(env, "not a %s handle", what);
    return NULL;
  }
  bn_io *io = data;
  if (open_only && io->fd < 0) {
    napi_throw_error(env, "ERR_BURROW_CLOSED", what);
    return NULL;
  }
  return io;
}

napi_value bn_io_start(napi_env env, bn_io *io, napi_value self, napi_value callback, const char *resource_name) {
  napi_valuetype type;
  if (napi_typeof(env, callback, &type) != napi_ok || type != napi_function) {
    return bn_throw_type(env, "callback must be a function");
  }
  if (io->callback) {
    napi_throw_error(env, NULL, "already reading");
    return NULL;
  }
  napi_value resource, name;
  int rc = 0;
  if (napi_create_object(env, &resource) != napi_ok ||
      napi_create_string_utf8(env, resource_name, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, resource, name, &io->async_context) != napi_ok ||
      napi_create_reference(env, callback, 1, &io->callback) != napi_ok ||
      /* While reading, the external may not be collected: an open, polled device is in use. */
      napi_create_reference(env, self, 1, &io->self) != napi_ok ||
      (rc = uv_poll_start(&io->poll, UV_READABLE, on_poll)) != 0) {
    release_js(io);
    if (rc != 0) return bn_throw_errno(env, -rc, "uv_poll_start", "uv_poll_start");
    bn_throw_last(env);
    return NULL;
  }
  io->polling = true;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return undefined;
}

void bn_io_call(bn_io *io, size_t argc, napi_value *argv) {
  napi_env env = io->env;
  napi_value fn, recv, result;
  if (!io->callback || napi_get_reference_value(env, io->callback, &fn) != napi_ok || fn == NULL) return;
  napi_get_global(env, &recv); /* napi_make_callback needs an object as `this` */
  io->in_callback++;
  napi_status status = napi_make_callback(env, io->async_context, recv, fn, argc, argv, &result);
  io->in_callback--;
  if (status != napi_ok) {
    bool pending = false;
    napi_value error;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
        napi_get_and_clear_last_exception(env, &error) == napi_ok) {
      napi_fatal_exception(env, error);
    }
  }
  if (io->fd < 0 && io->in_callback == 0) release_js(io); /* closed from inside the callback */
}

void bn_io_fail(bn_io *io, int err, const char *syscall, const char *message) {
  bn_io_stop(io);
  napi_env env = io->env;
  napi_value argv[3];
  napi_get_undefined(env, &argv[0]);
  napi_create_uint32(env, 0, &argv[1]);
  argv[2] = bn_errno_error(env, err, syscall, message);
  if (argv[2] == NULL) napi_get_undefined(env, &argv[2]);
  bn_io_call(io, 3, argv);
}
