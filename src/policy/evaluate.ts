/**
 * The meaning of a policy, stated as directly as possible: may this device send this packet?
 * It is the reference the compiled filters are checked against (compile.property.test.ts) and
 * what policy tests run on, so it favours plainness over speed: every call re-reads the policy
 * and scans the devices.
 *
 * Semantics, beyond the identity rules in model.ts:
 * - A rule applies when its protocol list admits the packet's, one of its src selectors selects
 *   the sending device, and one of its dst entries admits the destination address and port.
 * - An address selector (IP, CIDR, host) covers its addresses, and also selects every device
 *   holding one of them, in both address families: a device is one identity, whichever of its
 *   addresses it uses (WireGuard binds each address to one peer key).
 * - A dst naming devices (user, group, tag, autogroups member/shared/self) admits the addresses
 *   those devices hold, not the subnets they route: reaching a router is not reaching its LAN.
 * - autogroup:self admits the addresses of the sender's owner's user devices, when the sender is
 *   a user device itself.
 * - With no policy, the network's own devices may reach any address one of the network's own
 *   devices holds, or routes most specifically (where peers send it); devices shared in, and
 *   addresses that go to them, are left to the server.
 */
import { INTERNET_PREFIXES } from './internet.js';
import { hasTag, isUserDevice, type PolicyContext, type PolicyDevice } from './model.js';
import { containsAddress, parseAddress, parsePrefix } from './prefix.js';
import { portsAdmit } from './protocol.js';
import type { Policy, Selector } from './types.js';

export interface Destination {
  ip: string;
  port: number;
  /** IP protocol number (6 TCP, 17 UDP, 1 ICMP...). */
  proto: number;
}

/** Whether the policy (null: none) lets `src` send a packet to `dst`. */
export function allows(
  policy: Policy | null,
  ctx: PolicyContext,
  src: PolicyDevice,
  dst: Destination,
): boolean {
  const addr = parseAddress(dst.ip).addr;
  const holder = ctx.devices.find((d) => d.ips.some((ip) => containsAddress(parseAddress(ip), addr)));
  if (policy === null) {
    if (src.shared) return false;
    if (holder !== undefined) return !holder.shared;
    // An address nobody holds goes where peers send it: to the device with the most specific route.
    const routers = ctx.devices.flatMap((d) =>
      (d.routes ?? [])
        .map(parsePrefix)
        .flatMap((r) => (containsAddress(r, addr) ? [{ d, bits: r.bits }] : [])),
    );
    const best = Math.max(...routers.map((r) => r.bits));
    return routers.some((r) => r.bits === best && !r.d.shared);
  }
  return policy.acls.some(
    (rule) =>
      (rule.protocols.length === 0 || rule.protocols.includes(dst.proto)) &&
      rule.src.some((s) => selects(policy, ctx, s, src)) &&
      rule.dst.some(
        (entry) =>
          entry.ports.some((r) => portsAdmit(dst.proto, dst.port, r.first, r.last)) &&
          admits(policy, ctx, entry.target, src, addr, holder),
      ),
  );
}

/** Whether the selector selects the device (as a sender, or as the holder of a destination address). */
function selects(policy: Policy, ctx: PolicyContext, selector: Selector, device: PolicyDevice): boolean {
  switch (selector.kind) {
    case 'any':
      return true;
    case 'user':
      return isUserDevice(ctx, device) && device.user === selector.login;
    case 'group':
      return isUserDevice(ctx, device) && (policy.groups.get(selector.name) ?? []).includes(device.user);
    case 'tag':
      return hasTag(device, selector.name);
    case 'address':
      return device.ips.some((ip) => containsAddress(selector.prefix, parseAddress(ip).addr));
    case 'member':
      return isUserDevice(ctx, device);
    case 'shared':
      return device.shared;
    case 'self':
    case 'internet':
      throw new Error(`${selector.text} names destinations, not devices`);
  }
}

/** Whether a dst target admits the address `addr` (held by `holder`, if anyone) for traffic from `src`. */
function admits(
  policy: Policy,
  ctx: PolicyContext,
  target: Selector,
  src: PolicyDevice,
  addr: Uint8Array,
  holder: PolicyDevice | undefined,
): boolean {
  switch (target.kind) {
    case 'any':
      return true;
    case 'internet':
      return INTERNET_PREFIXES.some((p) => containsAddress(p, addr));
    case 'self':
      return (
        holder !== undefined &&
        isUserDevice(ctx, holder) &&
        isUserDevice(ctx, src) &&
        holder.user === src.user
      );
    case 'address':
      return (
        containsAddress(target.prefix, addr) || (holder !== undefined && selects(policy, ctx, target, holder))
      );
    default:
      return holder !== undefined && selects(policy, ctx, target, holder);
  }
}
