/*
 * The fast path's I/O: while attached, it reads the TUN device and the UDP socket itself, from the
 * same libuv poll callbacks that would otherwise call JS (on the Node thread, so JS never runs
 * concurrently with it). Outbound: one read may bring a TSO super-packet of up to 64 KiB; its
 * segments are cut straight into their messages' places, sealed in place, and go out with UDP GSO,
 * one sendmsg per run of equal-sized messages to one peer. Inbound: UDP GRO brings runs of
 * datagrams from one source; each is opened in place, and the packets go up coalesced into TCP
 * super-packets (fp-gro.c). What the core punts goes to JS through the TUN's and the socket's own
 * callbacks, in their usual batch layouts; handshakes the core asks for, through the engine's.
 *
 * This file attaches and detaches the engine and hands JS what it must see; the outbound half is
 * fp-engine-tx.c, the inbound half fp-engine-rx.c.
 */
#include "fp-engine.h"

#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "fp-engine-io.h"

#define GRO_CAP 4096u

static bool slow_init(slow_batch *b, bool with_from, bool with_slots) {
  b->data = malloc(SLOW_BUF);
  b->lengths = malloc(sizeof *b->lengths * SLOW_MAX);
  b->from = with_from ? malloc(sizeof *b->from * SLOW_MAX) : NULL;
  b->slots = with_slots ? malloc(sizeof *b->slots * SLOW_MAX) : NULL;
  return b->data && b->lengths && (!with_from || b->from) && (!with_slots || b->slots);
}

static void slow_free(slow_batch *b) {
  free(b->data);
  free(b->lengths);
  free(b->from);
  free(b->slots);
}

/* Hands what JS must see to it: packets the core punted, then handshakes it asked for. Returns false
 * when the engine went away meanwhile (JS detached it or closed a handle). */
bool fp_engine_to_js(fp_engine *e) {
  fp_core *c = e->core;
  napi_env env = e->env;
  /* Peers become slot numbers first: JS may remove them while it handles the packets. */
  bool call = e->nrekey > 0 || c->shared[FP_WAKE] < c->shared[FP_ARMED];
  napi_value slots = NULL;
  if (call) {
    napi_create_array_with_length(env, e->nrekey, &slots);
    for (uint32_t i = 0; i < e->nrekey; i++) {
      napi_value slot;
      e->rekey[i]->rekey_pending = false;
      napi_create_uint32(env, e->rekey[i]->slot, &slot);
      napi_set_element(env, slots, i, slot);
    }
    e->nrekey = 0;
  }
  e->in_callback++;
  if (e->tun_slow.count > 0) {
    uint32_t count = e->tun_slow.count;
    e->tun_slow.count = 0;
    e->tun_slow.used = 0;
    e->stats.tx_slow += count;
    bn_tun_deliver(e->tun, e->tun_slow.data, e->tun_slow.lengths, count);
  }
  if (!e->detached && e->udp_slow.count > 0) {
    uint32_t count = e->udp_slow.count;
    e->udp_slow.count = 0;
    e->udp_slow.used = 0;
    e->stats.rx_slow += count;
    bn_udp_deliver(e->udp, e->udp_slow.data, e->udp_slow.lengths, e->udp_slow.from, count);
  }
  /* With a filter: inbound packets it must judge, and the outbound flows it must record.
   * callback(rekeySlots, judged, judgedCount, judgedHosts, flows, flowsCount) */
  napi_value args[6];
  napi_get_undefined(env, &args[1]);
  args[3] = args[4] = args[1];
  napi_create_uint32(env, 0, &args[2]);
  args[5] = args[2];
  if (!e->detached && (e->judged.count > 0 || e->flows.count > 0)) {
    call = true;
    if (e->judged.count > 0) {
      e->stats.judged += e->judged.count;
      if (bn_datagram_batch(env, e->judged.data, e->judged.lengths, e->judged.from, e->judged.slots,
                            e->judged.count, &args[1], &args[3])) {
        napi_create_uint32(env, e->judged.count, &args[2]);
      }
      e->judged.count = 0;
      e->judged.used = 0;
    }
    if (e->flows.count > 0) {
      e->stats.flows += e->flows.count;
      /* The TUN batch layout: packets back to back, then their lengths. */
      size_t table = (e->flows.used + 3) & ~(size_t)3;
      void *data;
      if (napi_create_arraybuffer(env, table + 4 * (size_t)e->flows.count, &data, &args[4]) == napi_ok) {
        memcpy(data, e->flows.data, e->flows.used);
        memset((uint8_t *)data + e->flows.used, 0, table - e->flows.used);
        memcpy((uint8_t *)data + table, e->flows.lengths, 4 * (size_t)e->flows.count);
        napi_create_uint32(env, e->flows.count, &args[5]);
      }
      e->flows.count = 0;
      e->flows.used = 0;
    }
  }
  if (slots == NULL && call) napi_create_array(env, &slots);
  args[0] = slots;
  napi_value fn, recv, result;
  if (call && !e->detached && napi_get_reference_value(env, e->callback, &fn) == napi_ok && fn) {
    napi_get_global(env, &recv);
    if (napi_make_callback(env, e->async, recv, fn, 6, args, &result) != napi_ok) {
      bool pending = false;
      napi_value error;
      if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
          napi_get_and_clear_last_exception(env, &error) == napi_ok) {
        napi_fatal_exception(env, error);
      }
    }
  }
  e->in_callback--;
  bool alive = !e->detached && e->tun->io.fd >= 0 && e->udp->io.fd >= 0;
  if (e->detached && e->in_callback == 0) fp_engine_free(e);
  return alive;
}

/* ---- attaching --------------------------------------------------------------------------------- */

void fp_engine_free(fp_engine *e) {
  if (e->env) {
    if (e->callback) napi_delete_reference(e->env, e->callback);
    if (e->tun_ref) napi_delete_reference(e->env, e->tun_ref);
    if (e->udp_ref) napi_delete_reference(e->env, e->udp_ref);
    if (e->async) napi_async_destroy(e->env, e->async);
  }
  free(e->raw);
  free(e->tx);
  free(e->msgs);
  free(e->mm);
  free(e->mm_iov);
  free(e->mm_cmsg);
  free(e->rekey);
  free(e->rmsgs);
  free(e->riov);
  free(e->raddrs);
  free(e->rslots);
  free(e->rcmsg);
  fp_gro_free(e->gro);
  slow_free(&e->tun_slow);
  slow_free(&e->udp_slow);
  slow_free(&e->judged);
  slow_free(&e->flows);
  free(e);
}

fp_engine *fp_engine_new(fp_core *c, bn_tun *t, bn_udp *u, double time_offset, bool gso, bool gro) {
  fp_engine *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  e->core = c;
  e->tun = t;
  e->udp = u;
  e->time_offset = time_offset;
  e->handshake_tokens = HANDSHAKE_BUDGET;
  e->handshake_at = engine_now(e);
  e->gso = gso;
  e->rekey_cap = 4096;
  e->raw = malloc(RAW_SIZE);
  e->tx = malloc(TX_BUF);
  e->msgs = malloc(sizeof *e->msgs * TX_MSGS);
  e->mm = malloc(sizeof *e->mm * MM_MAX);
  e->mm_iov = malloc(sizeof *e->mm_iov * MM_MAX);
  e->mm_cmsg = calloc(MM_MAX, sizeof(gso_cmsg));
  e->rekey = malloc(sizeof *e->rekey * e->rekey_cap);
  e->rmsgs = calloc(RX_BATCH, sizeof *e->rmsgs);
  e->riov = calloc(RX_BATCH, sizeof *e->riov);
  e->raddrs = calloc(RX_BATCH, sizeof *e->raddrs);
  e->rslots = malloc((size_t)RX_BATCH * BN_UDP_SLOT);
  e->rcmsg = calloc(RX_BATCH, sizeof(gro_cmsg));
  e->gro = fp_gro_new(GRO_CAP);
  bool ok = e->raw && e->tx && e->msgs && e->mm && e->mm_iov && e->mm_cmsg && e->rekey && e->rmsgs && e->riov &&
            e->raddrs && e->rslots && e->rcmsg && e->gro && slow_init(&e->tun_slow, false, false) &&
            slow_init(&e->udp_slow, true, false) && slow_init(&e->judged, true, true) && slow_init(&e->flows, false, false);
  if (!ok) {
    fp_engine_free(e);
    return NULL;
  }
  for (uint32_t i = 0; i < RX_BATCH; i++) {
    e->riov[i] = (struct iovec){e->rslots + (size_t)i * BN_UDP_SLOT, BN_UDP_SLOT};
    e->rmsgs[i].msg_hdr.msg_iov = &e->riov[i];
    e->rmsgs[i].msg_hdr.msg_iovlen = 1;
    e->rmsgs[i].msg_hdr.msg_name = &e->raddrs[i];
  }
  unsigned int offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
  e->tso = ioctl(t->io.fd, TUNSETOFFLOAD, offloads) == 0;
  int one = 1;
  e->gro_on = gro && setsockopt(u->io.fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
  t->io.owner = e;
  u->io.owner = e;
  e->tun_reader = t->io.on_readable;
  e->udp_reader = u->io.on_readable;
  t->io.on_readable = fp_engine_tun_readable;
  u->io.on_readable = fp_engine_udp_readable;
  c->engine = e;
  return e;
}

void fp_engine_detach(fp_engine *e) {
  if (e->detached) return;
  e->detached = true;
  bn_tun *t = e->tun;
  bn_udp *u = e->udp;
  if (t->io.fd >= 0) ioctl(t->io.fd, TUNSETOFFLOAD, 0u);
  int zero = 0;
  if (u->io.fd >= 0 && e->gro_on) setsockopt(u->io.fd, SOL_UDP, UDP_GRO, &zero, sizeof zero);
  t->io.on_readable = e->tun_reader;
  u->io.on_readable = e->udp_reader;
  t->io.owner = u->io.owner = NULL;
  e->core->engine = NULL;
  if (e->in_callback == 0) fp_engine_free(e);
}
