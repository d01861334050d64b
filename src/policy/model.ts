/**
 * What a policy is evaluated against: the devices the server knows in one network, and the
 * network's members. The server builds these from its database; nothing here does I/O.
 *
 * Identity rules, used by both the evaluator and the compiler:
 * - A device is a *user device* when it belongs to the network (not shared in), carries no tag
 *   and its owner is a member of the network. Only user devices are selected by a user, a group,
 *   autogroup:member or autogroup:self: a tagged device has the tag's identity instead of its
 *   owner's (as in Tailscale), and a user who left the network no longer speaks for a device.
 * - A tag selects the network's own devices carrying it. A device shared in from another network
 *   is never selected by a tag, user or group: those name identities vouched for by this network,
 *   and the other network's tags or enrolment are not. Shared devices are selected only by
 *   autogroup:shared, by "*", or by their addresses.
 * - Logins are compared exactly as written: the server should give them in one canonical form.
 */
import { formatPrefix, type Prefix, parseAddress, parsePrefix } from './prefix.js';

export interface PolicyDevice {
  id: string;
  /** The owner's login. */
  user: string;
  /** The network the device belongs to: the context's network unless `shared`. */
  network: string;
  tags: string[];
  /** Its mesh addresses, as in "100.64.0.5" and "fd7a:115c:a1e0::5". */
  ips: string[];
  /** Shared into this network from another one. */
  shared: boolean;
  /** Subnet routes it is approved to serve ("10.1.0.0/16"; "0.0.0.0/0" and "::/0" for an exit node). */
  routes?: string[];
}

export interface PolicyContext {
  network: string;
  /** Logins of the network's members. */
  members: string[];
  devices: PolicyDevice[];
}

/** A user device of the network (see the identity rules above). */
export function isUserDevice(ctx: PolicyContext, device: PolicyDevice): boolean {
  return !device.shared && device.tags.length === 0 && ctx.members.includes(device.user);
}

/** Whether the selector `tag` (as in "tag:db") selects the device. */
export function hasTag(device: PolicyDevice, tag: string): boolean {
  return !device.shared && device.tags.includes(tag);
}

/** A device's addresses and routes, parsed. */
export interface DeviceAddresses {
  readonly ips: readonly Prefix[];
  /** The addresses as canonical CIDRs ("100.64.0.5/32"), as filters carry them. */
  readonly ipTexts: readonly string[];
  readonly routes: readonly Prefix[];
}

/**
 * Parses the devices' addresses (in the order of `ctx.devices`), refusing a context the rules
 * above cannot be applied to: two devices with one id, an address held by two devices (an
 * address must name one device, or a rule for one would admit the other), a device whose
 * `shared` flag contradicts its network, or an address or route that does not parse.
 */
export function readContext(ctx: PolicyContext): DeviceAddresses[] {
  const holder = new Map<string, string>();
  const ids = new Set<string>();
  return ctx.devices.map((device) => {
    const what = `device ${JSON.stringify(device.id)}`;
    if (ids.has(device.id)) throw new Error(`two devices have the id ${JSON.stringify(device.id)}`);
    ids.add(device.id);
    if (device.shared === (device.network === ctx.network)) {
      throw new Error(
        `${what} is in network ${JSON.stringify(device.network)} but ${device.shared ? '' : 'not '}shared into ${JSON.stringify(ctx.network)}`,
      );
    }
    const ips = device.ips.map((ip) => parseWith(what, () => parseAddress(ip)));
    const ipTexts = ips.map(formatPrefix);
    ipTexts.forEach((key, i) => {
      const other = holder.get(key);
      if (other !== undefined) {
        throw new Error(`${what} and device ${JSON.stringify(other)} both have address ${device.ips[i]}`);
      }
      holder.set(key, device.id);
    });
    const routes = (device.routes ?? []).map((route) => parseWith(what, () => parsePrefix(route)));
    return { ips, ipTexts, routes };
  });
}

function parseWith<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`);
  }
}
