import { DEFAULT_BASE_DOMAIN, networkLabel } from './dns-settings.js';
import type { Netmap, NodeInfo } from './messages.js';

/**
 * The names a device knows its map's nodes by: what `burrow status` shows and what its resolver
 * answers. One function, so the CLI, burrowd's status and the resolver never disagree.
 *
 * Every node has a full name, `HOST.NETWORK.<base domain>`, and a short one: `HOST` for the
 * device's own network, and for a device shared in from another network `HOST` too unless another
 * node the device sees is called that; then `HOST-NETWORK` (`nas-carol`), and `-2`, `-3` ... after
 * that if even that is taken. Devices of the own network always keep their bare names (the server
 * keeps those unique within a network), and among shared devices the one first by network name,
 * then id, keeps its own: the same names on every run and on every device that sees the same set,
 * whatever order the map lists them in.
 */
export interface DeviceName {
  id: string;
  /** `host.network.burrow.internal`, lower case, without the final dot. */
  fqdn: string;
  /** A single label that resolves on its own (and through the search domain). */
  short: string;
  /** In the device's own network (false: shared in from another). */
  own: boolean;
  ips: string[];
}

const MAX_LABEL = 63;

/** `base-suffix`, the base shortened so that the whole is still one DNS label. */
function suffixed(base: string, suffix: string): string {
  if (suffix === '') return base;
  return `${base.slice(0, MAX_LABEL - suffix.length - 1).replace(/-+$/, '')}-${suffix}`;
}

/** Takes `base` if free, else the first free of `base-first`, `base-first-2`, ... */
function claim(taken: Set<string>, base: string, first: string): string {
  for (let n = 1; ; n++) {
    const name = suffixed(base, n === 1 ? first : first === '' ? `${n}` : `${first}-${n}`);
    if (!taken.has(name)) {
      taken.add(name);
      return name;
    }
  }
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The map's nodes (self first, then its peers in map order) with their names. */
export function deviceNames(
  map: Netmap,
  baseDomain = map.dns?.baseDomain ?? DEFAULT_BASE_DOMAIN,
): DeviceName[] {
  const ownNetwork = map.self.network;
  const nodes = [map.self, ...map.peers];
  // Each network one label; two network names that make the same label (a.b and a-b) keep it for
  // the own network, then the first by name, so full names stay unique too.
  const labels = new Map<string, string>();
  const takenLabels = new Set<string>();
  const others = [...new Set(nodes.map((n) => n.network).filter((n) => n !== ownNetwork))].sort(byText);
  for (const network of [ownNetwork, ...others]) {
    labels.set(network, claim(takenLabels, networkLabel(network), ''));
  }
  const host = (n: NodeInfo) => n.name.toLowerCase();
  const ordered = (list: NodeInfo[]) =>
    [...list].sort((a, b) => byText(a.network, b.network) || byText(a.id, b.id));
  const own = ordered(nodes.filter((n) => n.network === ownNetwork));
  const shared = ordered(nodes.filter((n) => n.network !== ownNetwork));
  const short = new Map<string, string>();
  const taken = new Set<string>();
  // Bare names first (the own network's, then shared ones in order), so that a device called
  // `nas-carol` keeps its name rather than losing it to another's suffix.
  const pending: NodeInfo[] = [];
  for (const n of [...own, ...shared]) {
    if (taken.has(host(n))) pending.push(n);
    else {
      taken.add(host(n));
      short.set(n.id, host(n));
    }
  }
  for (const n of pending) {
    const suffix = n.network === ownNetwork ? '' : labels.get(n.network)!;
    short.set(n.id, claim(taken, host(n), suffix));
  }
  // Within a network the server keeps names unique; a map that repeats one still gets distinct
  // full names (in the same order as short ones).
  const hosts = new Map<string, Set<string>>();
  const fqdn = new Map<string, string>();
  for (const n of [...own, ...shared]) {
    const zone = `${labels.get(n.network)!}.${baseDomain}`;
    const inZone = hosts.get(zone) ?? new Set<string>();
    hosts.set(zone, inZone);
    fqdn.set(n.id, `${claim(inZone, host(n), '')}.${zone}`);
  }
  return nodes.map((n) => ({
    id: n.id,
    fqdn: fqdn.get(n.id)!,
    short: short.get(n.id)!,
    own: n.network === ownNetwork,
    ips: [...n.ips],
  }));
}
