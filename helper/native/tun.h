/* The TUN device's internals, for the fast path's engine (fp-engine.c), which reads and writes it. */
#ifndef BURROW_NATIVE_TUN_H
#define BURROW_NATIVE_TUN_H

#include <net/if.h>
#include <sys/uio.h>

#include "common.h"

typedef struct {
  bn_io io;
  char name[IFNAMSIZ];
  bool vnet; /* opened with IFF_VNET_HDR: every read and write starts with a virtio_net_hdr */
  uint32_t batch;
  uint8_t *scratch;
  uint8_t *raw; /* one read with its virtio header, in vnet mode */
  uint32_t *lengths;
  uint64_t packets_read, bytes_read, read_batches;
  uint64_t packets_written, bytes_written, write_dropped, write_errors;
  int last_write_errno;
} bn_tun;

bn_tun *bn_tun_unwrap(napi_env env, napi_value value);
/* Hands `count` packets (back to back in `data`, lengths in `lengths`) to the JS callback as one
 * batch. Needs a handle scope; the device may be closed on return (io.fd < 0). */
void bn_tun_deliver(bn_tun *t, const uint8_t *data, const uint32_t *lengths, uint32_t count);
/* One write(2)/writev(2) of a packet, counted as tunWrite counts it. */
void bn_tun_writev(bn_tun *t, const struct iovec *iov, int iovcnt);
/* The reader JS sees when no engine has taken the device. */
void bn_tun_on_readable(bn_io *io, int poll_status);
/* A read failed with err (or poll reported -poll_status): stops reading and tells JS. */
void bn_tun_fail(bn_tun *t, int err, int poll_status);

#endif
