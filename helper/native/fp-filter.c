/* The packet filter's sure passes (src/filter/inbound-filter.ts: isReply's first rule): fp-core.h says
 * what fp_filter_passes promises. */
#include "fp-core.h"
#include "fp-ip.h"

bool fp_filter_passes(const uint8_t *p, size_t len) {
  size_t transport;
  if (fp_ip_total_length(p, len) != (long)len) return false;
  if ((p[0] >> 4) == 4) {
    transport = (size_t)(p[0] & 0x0f) * 4;
    /* a later fragment has no header to judge: the filter's own rules decide it */
    if ((((size_t)p[6] << 8 | p[7]) & 0x1fff) != 0 || p[9] != 6) return false;
  } else {
    transport = 40;
    if (p[6] != 6) return false; /* TCP straight after the fixed header: no extension headers */
  }
  if (len < transport + 20) return false;
  uint8_t flags = p[transport + 13];
  /* Not a SYN (a bare SYN is a new connection) nor an RST. A SYN-ACK and an RST also pass the
   * filter, but go to JS: `burrow trace` takes the answers to its own SYNs out there (trace-delivery.ts). */
  return (flags & 0x06) == 0;
}
