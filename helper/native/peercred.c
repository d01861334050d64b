/*
 * The credentials of the process at the other end of a unix socket (SO_PEERCRED), which Node does
 * not expose. burrowd's LocalAPI authorises each connection by them: root and the operator user may
 * change things, anyone else may only read. The kernel records them at connect(), so a client
 * cannot forge them.
 */
#include <errno.h>
#include <sys/socket.h>

#include "common.h"
#include "native.h"

napi_value bn_peer_cred(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!bn_args(env, info, 1, argv)) return NULL;
  int32_t fd;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0)
    return bn_throw_type(env, "peerCred: fd must be a non-negative integer");
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return bn_throw_errno(env, errno, "getsockopt", "SO_PEERCRED on fd %d", fd);
  napi_value out, pid, uid, gid;
  BN_CALL(env, napi_create_object(env, &out));
  BN_CALL(env, napi_create_int32(env, cred.pid, &pid));
  BN_CALL(env, napi_create_uint32(env, cred.uid, &uid));
  BN_CALL(env, napi_create_uint32(env, cred.gid, &gid));
  BN_CALL(env, napi_set_named_property(env, out, "pid", pid));
  BN_CALL(env, napi_set_named_property(env, out, "uid", uid));
  BN_CALL(env, napi_set_named_property(env, out, "gid", gid));
  return out;
}
