/*
 * Sticky source addresses: burrowd answers a remote from the local address that remote last sent
 * to, as wireguard-go (StdNetEndpoint's src) and the kernel do. Without it, on a host with several
 * addresses, replies leave from the address the kernel prefers, and the peer's endpoint for us
 * flips to it. Every receive carries IPV6_PKTINFO / IP_PKTINFO (the address it arrived at); a
 * small table keyed by the remote address and port keeps the last one, and every send to that
 * remote carries it back as a pktinfo cmsg, next to a UDP_SEGMENT cmsg when there is one.
 *
 * The table is a cache: a remote it lost (a collision, or a source cleared because sending from
 * it failed) is answered from the kernel's preferred address, which is what burrowd did before.
 * It is keyed by the remote, not kept with the peer as wireguard-go keeps it, so every datagram
 * teaches it, authenticated or not: a spoofer who knows a peer's address and port can at most make
 * our answers leave from another of our own addresses (which that peer then roams to), never send
 * them elsewhere. A failed send from a learned source is retried once without it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "udp.h"

#define SOURCES_MASK (BN_UDP_SOURCES - 1u)

static uint32_t source_slot(const fp_sockaddr *a) {
  const uint8_t *bytes;
  size_t n;
  uint16_t port;
  if (a->sa.sa_family == AF_INET) {
    bytes = (const uint8_t *)&a->v4.sin_addr;
    n = 4;
    port = a->v4.sin_port;
  } else {
    bytes = a->v6.sin6_addr.s6_addr;
    n = 16;
    port = a->v6.sin6_port;
  }
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ bytes[i]) * 16777619u;
  h = (h ^ (port & 0xff)) * 16777619u;
  h = (h ^ (port >> 8)) * 16777619u;
  return h & SOURCES_MASK;
}

int bn_udp_enable_pktinfo(int fd, int family) {
  int on = 1;
  if (family == AF_INET6) {
    /* On the dual-stack socket IPv4 datagrams come with IPV6_PKTINFO too, their address v4-mapped. */
    return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) == 0 ? 0 : errno;
  }
  return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) == 0 ? 0 : errno;
}

void bn_udp_learn_source(bn_udp *u, const fp_sockaddr *from, const struct msghdr *h) {
  struct in6_addr local;
  uint32_t ifindex = 0;
  bool found = false;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm; cm = CMSG_NXTHDR((struct msghdr *)h, cm)) {
    if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO &&
        cm->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(cm), sizeof pi);
      local = pi.ipi6_addr;
      ifindex = (uint32_t)pi.ipi6_ifindex;
      found = true;
    } else if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO &&
               cm->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(cm), sizeof pi);
      memset(&local, 0, sizeof local);
      local.s6_addr[10] = local.s6_addr[11] = 0xff;
      memcpy(&local.s6_addr[12], &pi.ipi_spec_dst, 4);
      ifindex = (uint32_t)pi.ipi_ifindex;
      found = true;
    }
  }
  if (!found || (from->sa.sa_family != AF_INET && from->sa.sa_family != AF_INET6)) return;
  bn_udp_source *s = &u->sources[source_slot(from)];
  s->remote = *from;
  s->local = local;
  s->ifindex = ifindex;
  u->has_sources = true;
}

/* Puts the source learned for h's destination into h's control (after what is there); false when
 * there is none. The caller's control is kept in ctl to be given back. */
static bool add_source(bn_udp *u, struct msghdr *h, bn_udp_ctl *ctl) {
  const fp_sockaddr *to = h->msg_name;
  if (!to || h->msg_controllen > sizeof ctl->buf - CMSG_SPACE(sizeof(struct in6_pktinfo))) return false;
  const bn_udp_source *s = &u->sources[source_slot(to)];
  if (s->remote.sa.sa_family != to->sa.sa_family || !fp_same_endpoint(&s->remote, to)) return false;
  ctl->orig = h->msg_control;
  ctl->orig_len = h->msg_controllen;
  size_t used = h->msg_controllen;
  if (used > 0) memcpy(ctl->buf, h->msg_control, used);
  struct cmsghdr *cm = (struct cmsghdr *)(void *)(ctl->buf + used);
  if (IN6_IS_ADDR_V4MAPPED(&s->local)) {
    /* Also for a v4-mapped destination on the dual-stack socket: the kernel sends it as IPv4. */
    struct in_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    memcpy(&pi.ipi_spec_dst, &s->local.s6_addr[12], 4);
    cm->cmsg_level = IPPROTO_IP;
    cm->cmsg_type = IP_PKTINFO;
    cm->cmsg_len = CMSG_LEN(sizeof pi);
    memcpy(CMSG_DATA(cm), &pi, sizeof pi);
    used += CMSG_SPACE(sizeof pi);
  } else {
    struct in6_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    pi.ipi6_addr = s->local;
    /* The interface only where the address needs it; otherwise routing picks it, as for any send. */
    if (IN6_IS_ADDR_LINKLOCAL(&s->local)) pi.ipi6_ifindex = s->ifindex;
    cm->cmsg_level = IPPROTO_IPV6;
    cm->cmsg_type = IPV6_PKTINFO;
    cm->cmsg_len = CMSG_LEN(sizeof pi);
    memcpy(CMSG_DATA(cm), &pi, sizeof pi);
    used += CMSG_SPACE(sizeof pi);
  }
  h->msg_control = ctl->buf;
  h->msg_controllen = used;
  return true;
}

static void give_back(struct msghdr *h, bn_udp_ctl *ctl) {
  h->msg_control = ctl->orig;
  h->msg_controllen = ctl->orig_len;
}

/* How the kernel refuses a source that is no longer ours: IPv6 says EINVAL, IPv4's route lookup
 * ENETUNREACH (EINVAL on older kernels). */
static bool stale_source(int err) {
  return err == EINVAL || err == ENETUNREACH || err == EADDRNOTAVAIL;
}

void bn_udp_send_msgs(bn_udp *u, struct mmsghdr *msgs, uint32_t count) {
  if (count > BN_UDP_MAX_BATCH) {
    /* Callers send at most this many at once; more would outrun the control scratch. */
    for (uint32_t at = 0; at < count; at += BN_UDP_MAX_BATCH) {
      bn_udp_send_msgs(u, msgs + at, count - at < BN_UDP_MAX_BATCH ? count - at : BN_UDP_MAX_BATCH);
    }
    return;
  }
  bool any = false;
  for (uint32_t i = 0; i < count; i++) {
    u->ctl[i].sticky = u->has_sources && add_source(u, &msgs[i].msg_hdr, &u->ctl[i]);
    any |= u->ctl[i].sticky;
  }
  uint32_t i = 0;
  while (i < count) {
    int r = sendmmsg(u->io.fd, msgs + i, count - i, MSG_DONTWAIT);
    if (r > 0) {
      for (int j = 0; j < r; j++) u->bytes_sent += msgs[i + (uint32_t)j].msg_len;
      u->packets_sent += (uint32_t)r;
      i += (uint32_t)r;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
      u->send_dropped += count - i; /* the socket buffer is full: drop, as a network would */
      break;
    } else if (r < 0 && stale_source(errno) && u->ctl[i].sticky) {
      /* The source is gone (the address was removed): forget it and send as the kernel prefers. */
      bn_udp_source *s = &u->sources[source_slot(msgs[i].msg_hdr.msg_name)];
      memset(s, 0, sizeof *s);
      give_back(&msgs[i].msg_hdr, &u->ctl[i]);
      u->ctl[i].sticky = false;
      u->source_resets++;
    } else {
      /* msgs[i] itself failed (no route, EACCES from a prohibit route, EMSGSIZE, ...): skip it. */
      u->send_errors++;
      u->last_send_errno = r < 0 ? errno : EIO;
      i++;
    }
  }
  if (!any) return;
  for (uint32_t k = 0; k < count; k++) {
    if (u->ctl[k].sticky) give_back(&msgs[k].msg_hdr, &u->ctl[k]);
  }
}
