/**
 * The packet a trace probe asks about, built as the asker would send it, for the peer's filter to
 * explain: a TCP SYN (a new connection), a UDP datagram, or an echo request, from `src` to
 * `dst`:`port`. The source port is a fixed ephemeral one: the filter's policy does not read it,
 * and the flow lookup for a UDP reply finds the asker's real flow only on the port it really used,
 * so a probe learns of no flow but the asker's own, and almost never of that.
 */
import { formatAddr, parseCidr } from '../packet/ip-text.js';
import type { ProbeProtocol } from './probe-message.js';

const SOURCE_PORT = 40000;
const TCP_SYN = 0x02;

export function askedPacket(protocol: ProbeProtocol, src: string, dst: string, port: number): Uint8Array {
  const s = parseCidr(src).addr;
  const d = parseCidr(dst).addr;
  if (s.length !== d.length) throw new RangeError(`${src} and ${dst} are not of one family`);
  const v6 = s.length === 16;
  const header = v6 ? 40 : 20;
  const transport = protocol === 'tcp' ? 20 : 8;
  const p = new Uint8Array(header + transport);
  const proto = protocol === 'tcp' ? 6 : protocol === 'udp' ? 17 : v6 ? 58 : 1;
  if (v6) {
    p[0] = 0x60;
    p[5] = transport;
    p[6] = proto;
    p[7] = 64;
    p.set(s, 8);
    p.set(d, 24);
  } else {
    p[0] = 0x45;
    p[3] = p.length;
    p[8] = 64;
    p[9] = proto;
    p.set(s, 12);
    p.set(d, 16);
  }
  if (protocol === 'icmp') {
    p[header] = v6 ? 128 : 8; // echo request
  } else {
    p.set([SOURCE_PORT >>> 8, SOURCE_PORT & 0xff, port >>> 8, port & 0xff], header);
    if (protocol === 'tcp') {
      p[header + 12] = 5 << 4;
      p[header + 13] = TCP_SYN;
    } else {
      p[header + 5] = transport;
    }
  }
  return p;
}

/** An address as probes and formatAddr write it (IPv6 as RFC 5952), or null if it is not one. */
export function canonicalAddress(text: string): string | null {
  if (text.includes('/')) return null;
  try {
    return formatAddr(parseCidr(text).addr);
  } catch {
    return null;
  }
}
