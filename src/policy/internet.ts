/**
 * What `autogroup:internet` covers: the public address space, as the destinations an exit node
 * forwards to. The mesh's own range (CGNAT 100.64.0.0/10 and the ULA fd7a:... range) and private,
 * loopback, link-local and multicast ranges are excluded, so that granting exit-node use does not
 * also open the exit node's LAN or the mesh itself (as in Tailscale).
 */
import {
  ALL_IPV4,
  type Prefix,
  parsePrefix,
  prefixContains,
  prefixIntersection,
  splitPrefix,
} from './prefix.js';

const NOT_INTERNET_V4 = [
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8', // private (RFC 1918)
  '100.64.0.0/10', // shared address space (RFC 6598): the mesh's own IPv4 addresses
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local
  '172.16.0.0/12', // private
  '192.168.0.0/16', // private
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, and the limited broadcast address
].map(parsePrefix);

/** Every IPv4 address outside NOT_INTERNET_V4, then IPv6 global unicast (everything else there is local or special). */
export const INTERNET_PREFIXES: readonly Prefix[] = Object.freeze([
  ...complement(ALL_IPV4, NOT_INTERNET_V4),
  parsePrefix('2000::/3'),
]);

/** The prefixes covering `whole` minus `excluded`, as few as splitting in halves gives. */
export function complement(whole: Prefix, excluded: readonly Prefix[]): Prefix[] {
  const relevant = excluded.filter((e) => prefixIntersection(whole, e) !== null);
  if (relevant.length === 0) return [whole];
  if (relevant.some((e) => prefixContains(e, whole))) return [];
  const [low, high] = splitPrefix(whole);
  return [...complement(low, relevant), ...complement(high, relevant)];
}
