/*
 * sd_notify(3) without libsystemd: one datagram to the unix socket systemd names in NOTIFY_SOCKET,
 * which Node cannot send (its dgram module is UDP only). A name starting with "@" is in the
 * abstract namespace. burrowd sends "READY=1" once it is ready, for units of Type=notify.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"
#include "native.h"

napi_value bn_sd_notify(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!bn_args(env, info, 2, argv)) return NULL;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t path_len;
  if (napi_get_value_string_utf8(env, argv[0], addr.sun_path, sizeof addr.sun_path, &path_len) != napi_ok)
    return bn_throw_type(env, "sdNotify: the socket must be a string");
  if (path_len == 0 || path_len >= sizeof addr.sun_path - 1 || (addr.sun_path[0] != '/' && addr.sun_path[0] != '@'))
    return bn_throw_type(env, "sdNotify: \"%s\" is not an absolute or abstract socket name", addr.sun_path);
  char message[256];
  size_t message_len;
  if (napi_get_value_string_utf8(env, argv[1], message, sizeof message, &message_len) != napi_ok)
    return bn_throw_type(env, "sdNotify: the message must be a string");
  if (message_len >= sizeof message - 1) return bn_throw_type(env, "sdNotify: the message is too long");
  char name[sizeof addr.sun_path];
  memcpy(name, addr.sun_path, sizeof name);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return bn_throw_errno(env, errno, "socket", "AF_UNIX datagram socket");
  ssize_t sent = sendto(fd, message, message_len, MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len);
  int err = errno;
  close(fd);
  if (sent < 0) return bn_throw_errno(env, err, "sendto", "NOTIFY_SOCKET %s", name);
  napi_value undefined;
  BN_CALL(env, napi_get_undefined(env, &undefined));
  return undefined;
}
