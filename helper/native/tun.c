/*
 * TUN device: /dev/net/tun with IFF_TUN | IFF_NO_PI, non-blocking, close-on-exec, read in batches
 * from a uv_poll callback.
 *
 * A batch reaches JS as callback(buffer, count): `buffer` is a fresh ArrayBuffer holding the packets
 * back to back, followed (at byteLength - 4 * count, 4-aligned) by `count` uint32 packet lengths in
 * host byte order. The ArrayBuffer is never reused, so JS may keep the packets. Errors arrive as
 * callback(undefined, 0, error), after which reading has stopped.
 *
 * With `vnet` (IFF_VNET_HDR) every read and write starts with a struct virtio_net_hdr. JS never sees
 * it: reads are cut into plain packets (fp-tso.c: a super-packet, which comes only while the fast
 * path's engine has turned offloads on, into its segments) and writes get a zero header. The engine
 * (fp-engine.c) reads and writes the device itself while attached, through tun.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common.h"
#include "fp-offload.h"
#include "native.h"
#include "tun.h"

#define TUN_MAGIC 0x54554e31u /* "TUN1" */
#define TUN_MAX_PACKET 65536u      /* room left for each read(2): the largest packet a TUN can hold */
#define TUN_SCRATCH (1u << 20)     /* per device; a batch ends early when less than TUN_MAX_PACKET is left */
#define TUN_MAX_BATCH 1024u
#define TUN_STACK_PACKETS 256u
#define TUN_MAX_SEGMENTS 1024u  /* of one super-packet handed to JS; any more are dropped */

static void tun_free(bn_tun *t) {
  free(t->scratch);
  free(t->raw);
  free(t->lengths);
  free(t);
}

static void tun_destroy(bn_io *io) {
  tun_free((bn_tun *)io);
}

/* Reads one packet into scratch + *used (cut into segments in vnet mode), adding their lengths.
 * Returns 1 when something was read, 0 when there is nothing more, -errno on error. */
static int read_one(bn_tun *t, size_t *used, uint32_t *count) {
  int fd = t->io.fd;
  for (;;) {
    ssize_t n = read(fd, t->vnet ? t->raw : t->scratch + *used, t->vnet ? FP_VNET_HDR_LEN + TUN_MAX_PACKET : TUN_MAX_PACKET);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
    if (n == 0) return 0;
    if (!t->vnet) {
      t->lengths[(*count)++] = (uint32_t)n;
      *used += (size_t)n;
      return 1;
    }
    if ((size_t)n <= FP_VNET_HDR_LEN) return 1;
    struct virtio_net_hdr h;
    memcpy(&h, t->raw, sizeof h);
    const uint8_t *packet = t->raw + FP_VNET_HDR_LEN;
    size_t len = (size_t)n - FP_VNET_HDR_LEN;
    fp_tso_plan plan;
    if (!fp_tso_plan_split(&h, packet, len, &plan)) return 1; /* malformed: dropped */
    for (uint32_t i = 0; i < plan.count && i < TUN_MAX_SEGMENTS; i++) {
      size_t size = fp_tso_segment(&h, packet, len, &plan, i, t->scratch + *used);
      t->lengths[(*count)++] = (uint32_t)size;
      *used += size;
    }
    return 1;
  }
}

void bn_tun_deliver(bn_tun *t, const uint8_t *data, const uint32_t *lengths, uint32_t count) {
  bn_io *io = &t->io;
  size_t used = 0;
  for (uint32_t i = 0; i < count; i++) used += lengths[i];
  t->packets_read += count;
  t->bytes_read += used;
  t->read_batches++;
  size_t table = (used + 3) & ~(size_t)3;
  size_t total = table + (size_t)count * 4;
  void *buffer = NULL;
  napi_value argv[2];
  if (napi_create_arraybuffer(io->env, total, &buffer, &argv[0]) != napi_ok) {
    napi_value ignored;
    napi_get_and_clear_last_exception(io->env, &ignored);
    bn_io_fail(io, ENOMEM, NULL, "allocating a TUN batch buffer");
    return;
  }
  memcpy(buffer, data, used);
  memset((uint8_t *)buffer + used, 0, table - used);
  memcpy((uint8_t *)buffer + table, lengths, (size_t)count * 4);
  napi_create_uint32(io->env, count, &argv[1]);
  bn_io_call(io, 2, argv);
}

void bn_tun_fail(bn_tun *t, int err, int poll_status) {
  if (err != 0) {
    char message[96];
    snprintf(message, sizeof message, "read from TUN %s%s", t->name,
             err == EBADFD ? " (the interface was deleted)" : "");
    bn_io_fail(&t->io, err, "read", message);
  } else if (poll_status < 0) {
    char message[64];
    snprintf(message, sizeof message, "poll TUN %s", t->name);
    bn_io_fail(&t->io, -poll_status, "poll", message);
  }
}

void bn_tun_on_readable(bn_io *io, int poll_status) {
  bn_tun *t = (bn_tun *)io;
  size_t used = 0;
  uint32_t count = 0;
  int err = 0;
  /* Room for one more read: a whole super-packet's segments (each with at most 128 bytes of
   * headers repeated) in vnet mode. */
  size_t room = t->vnet ? 2 * TUN_MAX_PACKET : TUN_MAX_PACKET;
  while (count < t->batch && TUN_SCRATCH - used >= room) {
    int r = read_one(t, &used, &count);
    if (r < 0) err = -r;
    if (r <= 0) break;
  }
  if (count > 0) {
    bn_tun_deliver(t, t->scratch, t->lengths, count);
    if (io->fd < 0) return; /* closed by the callback */
  }
  bn_tun_fail(t, err, poll_status);
}

/* tunOpen(name: string, batch: number, vnet: boolean): { handle, name } */
napi_value bn_tun_open(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!bn_args(env, info, 3, argv)) return NULL;
  napi_valuetype type;
  BN_CALL(env, napi_typeof(env, argv[0], &type));
  if (type != napi_string) return bn_throw_type(env, "TUN name must be a string");
  char name[64];
  size_t len = 0;
  BN_CALL(env, napi_get_value_string_utf8(env, argv[0], NULL, 0, &len));
  if (len >= IFNAMSIZ) {
    return bn_throw_range(env, "TUN name is %zu bytes long; Linux allows at most %d (IFNAMSIZ %d, with the NUL)",
                          len, IFNAMSIZ - 1, IFNAMSIZ);
  }
  BN_CALL(env, napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len));
  if (strlen(name) != len) return bn_throw_type(env, "TUN name contains a NUL character");
  uint32_t batch;
  if (!bn_get_u32(env, argv[1], "batch size", &batch)) return NULL;
  if (batch < 1 || batch > TUN_MAX_BATCH) return bn_throw_range(env, "batch size must be 1 to %u", TUN_MAX_BATCH);
  bool vnet = false;
  BN_CALL(env, napi_get_value_bool(env, argv[2], &vnet));

  bn_tun *t = calloc(1, sizeof *t);
  if (t) {
    t->vnet = vnet;
    t->scratch = malloc(TUN_SCRATCH);
    /* A super-packet read last in a batch may add up to TUN_MAX_SEGMENTS segments past it. */
    t->lengths = malloc(sizeof(uint32_t) * (batch + TUN_MAX_SEGMENTS));
    t->raw = vnet ? malloc(FP_VNET_HDR_LEN + TUN_MAX_PACKET) : NULL;
  }
  if (!t || !t->scratch || !t->lengths || (vnet && !t->raw)) {
    if (t) tun_free(t);
    return bn_throw_errno(env, ENOMEM, NULL, "allocating TUN buffers");
  }
  t->batch = batch;

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    tun_free(t);
    return bn_throw_errno(env, e, "open", "open /dev/net/tun%s",
                          e == EACCES || e == EPERM ? " (needs root or CAP_NET_ADMIN)" : "");
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name, len); /* len < IFNAMSIZ; the rest is NUL */
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    tun_free(t);
    const char *hint = e == EPERM    ? " (needs CAP_NET_ADMIN)"
                       : e == EBUSY  ? " (the interface exists and is not a free TUN device)"
                       : e == EINVAL ? " (invalid interface name, or an existing interface of another type)"
                                     : "";
    return bn_throw_errno(env, e, "ioctl", "TUNSETIFF \"%s\"%s", name, hint);
  }
  memcpy(t->name, ifr.ifr_name, IFNAMSIZ);
  t->name[IFNAMSIZ - 1] = '\0';

  napi_value handle = bn_io_wrap(env, &t->io, TUN_MAGIC, fd, bn_tun_on_readable, tun_destroy);
  if (!handle) return NULL;
  napi_value result, actual;
  BN_CALL(env, napi_create_object(env, &result));
  BN_CALL(env, napi_create_string_utf8(env, t->name, NAPI_AUTO_LENGTH, &actual));
  BN_CALL(env, napi_set_named_property(env, result, "handle", handle));
  BN_CALL(env, napi_set_named_property(env, result, "name", actual));
  return result;
}

void bn_tun_writev(bn_tun *t, const struct iovec *iov, int iovcnt) {
  ssize_t r;
  do {
    r = writev(t->io.fd, iov, iovcnt);
  } while (r < 0 && errno == EINTR);
  if (r >= 0) {
    t->packets_written++;
    t->bytes_written += (uint64_t)r - (t->vnet ? FP_VNET_HDR_LEN : 0);
  } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
    t->write_dropped++;
  } else {
    t->write_errors++;
    t->last_write_errno = errno;
  }
}

bn_tun *bn_tun_unwrap(napi_env env, napi_value value) {
  return (bn_tun *)bn_io_unwrap(env, value, TUN_MAGIC, true, "TUN device is closed");
}

/* tunStart(handle, callback) */
napi_value bn_tun_start(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!bn_args(env, info, 2, argv)) return NULL;
  bn_io *io = bn_io_unwrap(env, argv[0], TUN_MAGIC, true, "TUN device is closed");
  if (!io) return NULL;
  return bn_io_start(env, io, argv[0], argv[1], "BurrowTun");
}

/* tunWrite(handle, packets: Uint8Array[]): number written */
napi_value bn_tun_write(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!bn_args(env, info, 2, argv)) return NULL;
  bn_tun *t = (bn_tun *)bn_io_unwrap(env, argv[0], TUN_MAGIC, true, "TUN device is closed");
  if (!t) return NULL;
  bool is_array = false;
  BN_CALL(env, napi_is_array(env, argv[1], &is_array));
  if (!is_array) return bn_throw_type(env, "packets must be an array of Uint8Array");
  uint32_t n = 0;
  BN_CALL(env, napi_get_array_length(env, argv[1], &n));

  /* Check every element before writing any, so that bad input writes nothing. */
  struct iovec stack[TUN_STACK_PACKETS];
  struct iovec *iov = n <= TUN_STACK_PACKETS ? stack : malloc(sizeof(struct iovec) * n);
  if (!iov) return bn_throw_errno(env, ENOMEM, NULL, "allocating %u iovecs", n);
  napi_value result = NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value element;
    bool is_typed = false;
    napi_typedarray_type type = napi_int8_array;
    size_t length = 0;
    void *data = NULL;
    if (napi_get_element(env, argv[1], i, &element) != napi_ok) {
      bn_throw_last(env);
      goto out;
    }
    napi_is_typedarray(env, element, &is_typed);
    if (is_typed) napi_get_typedarray_info(env, element, &type, &length, &data, NULL, NULL);
    if (!is_typed || type != napi_uint8_array) {
      bn_throw_type(env, "packets[%u] is not a Uint8Array", i);
      goto out;
    }
    iov[i].iov_base = data;
    iov[i].iov_len = length;
  }
  uint64_t before = t->packets_written;
  static uint8_t zero[FP_VNET_HDR_LEN];
  for (uint32_t i = 0; i < n; i++) {
    struct iovec one[2] = {{zero, FP_VNET_HDR_LEN}, iov[i]};
    bn_tun_writev(t, t->vnet ? one : one + 1, t->vnet ? 2 : 1);
  }
  uint32_t written = (uint32_t)(t->packets_written - before);
  napi_create_uint32(env, written, &result);
out:
  if (iov != stack) free(iov);
  return result;
}

/* tunStats(handle): counters */
napi_value bn_tun_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!bn_args(env, info, 1, argv)) return NULL;
  bn_tun *t = (bn_tun *)bn_io_unwrap(env, argv[0], TUN_MAGIC, false, "TUN device");
  if (!t) return NULL;
  napi_value o;
  BN_CALL(env, napi_create_object(env, &o));
  bn_set_double(env, o, "packetsRead", (double)t->packets_read);
  bn_set_double(env, o, "bytesRead", (double)t->bytes_read);
  bn_set_double(env, o, "readBatches", (double)t->read_batches);
  bn_set_double(env, o, "packetsWritten", (double)t->packets_written);
  bn_set_double(env, o, "bytesWritten", (double)t->bytes_written);
  bn_set_double(env, o, "writeDropped", (double)t->write_dropped);
  bn_set_double(env, o, "writeErrors", (double)t->write_errors);
  bn_set_errno_name(env, o, "lastWriteError", t->last_write_errno);
  return o;
}

/* tunClose(handle) */
napi_value bn_tun_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!bn_args(env, info, 1, argv)) return NULL;
  bn_io *io = bn_io_unwrap(env, argv[0], TUN_MAGIC, false, "TUN device");
  if (!io) return NULL;
  bn_io_close(io);
  return NULL;
}
