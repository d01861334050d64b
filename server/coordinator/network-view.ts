import { type FilterRule, type Policy, PolicyCompiler, type PolicyDevice } from '../../src/policy/index.js';
import { effectiveRoutes } from '../policy-context.js';
import type { Device } from '../store/types.js';
import type { Directory } from './directory.js';
import { sourceDiff } from './filter-diff.js';
import { hostPrefixes } from './src-matcher.js';

/**
 * One network's policy compiled against its current devices (its own and those shared in), with
 * each device's inbound filter compiled on first use. A view is immutable: when the network's
 * devices or policy change the coordinator builds a new one and compares the two.
 */
export class NetworkView {
  private readonly compiler: PolicyCompiler;
  private readonly ownIds = new Set<string>();
  private readonly filters = new Map<string, readonly FilterRule[]>();
  /** The network's devices (and those shared in) by host prefix ("100.64.0.5/32"), to name the
   * devices a change of sources concerns. */
  readonly deviceByIp = new Map<string, string>();

  constructor(
    dir: Directory,
    readonly networkId: string,
    readonly policy: Policy | null,
  ) {
    const network = dir.network(networkId);
    const devices: PolicyDevice[] = [];
    const asPolicyDevice = (d: Device, shared: boolean): PolicyDevice => ({
      id: d.id,
      user: dir.user(d.userId).name,
      network: shared ? dir.network(d.networkId).name : network.name,
      tags: d.tags,
      ips: [d.ipv4, d.ipv6],
      shared,
      routes: effectiveRoutes(d),
    });
    const index = (d: Device) => {
      for (const p of hostPrefixes(d)) this.deviceByIp.set(p, d.id);
    };
    const members = new Set<string>();
    for (const id of dir.networkDevices(networkId)) {
      const d = dir.device(id);
      if (d === undefined) continue;
      devices.push(asPolicyDevice(d, false));
      this.ownIds.add(d.id);
      members.add(d.userId);
      index(d);
    }
    // Devices shared with the network's users (autogroup:shared in its policy).
    for (const userId of members) {
      for (const id of dir.sharedWithUser(userId)) {
        const d = dir.device(id);
        if (d === undefined || d.networkId === networkId || this.deviceByIp.has(hostPrefixes(d)[0])) continue;
        devices.push(asPolicyDevice(d, true));
        index(d);
      }
    }
    this.compiler = new PolicyCompiler(policy, {
      network: network.name,
      members: dir.memberNames(networkId),
      devices,
    });
  }

  /** The compiled inbound filter of one of the network's own devices ([] for any other). */
  filterOf(deviceId: string): readonly FilterRule[] {
    let rules = this.filters.get(deviceId);
    if (rules === undefined) {
      rules = this.ownIds.has(deviceId) ? this.compiler.compileFor({ id: deviceId }) : [];
      this.filters.set(deviceId, rules);
    }
    return rules;
  }

  /** Every rule's source list, in policy order: two views compared rule by rule say whose reach changed. */
  sources(): readonly (readonly string[])[] {
    return this.compiler.sources();
  }
}

/** Fields that decide what a network's policy compiles to; other changes only alter a peer's entry. */
export function policyFieldsDiffer(a: Device, b: Device): boolean {
  const routes = (d: Device) => effectiveRoutes(d).join(',');
  return (
    a.userId !== b.userId ||
    a.networkId !== b.networkId ||
    a.ipv4 !== b.ipv4 ||
    a.ipv6 !== b.ipv6 ||
    a.tags.join(',') !== b.tags.join(',') ||
    routes(a) !== routes(b)
  );
}

/**
 * The devices whose membership of some rule's sources differs between two views of a network under
 * the same policy (only their reach can differ), or null when the views' rules differ in number.
 */
export function reachDiff(old: NetworkView, fresh: NetworkView): Set<string> | null {
  const before = old.sources();
  const after = fresh.sources();
  if (before.length !== after.length) return null;
  const devices = new Set<string>();
  before.forEach((list, i) => {
    const { added, removed } = sourceDiff(list, after[i]!);
    for (const ip of removed) {
      const id = old.deviceByIp.get(ip);
      if (id !== undefined) devices.add(id);
    }
    for (const ip of added) {
      const id = fresh.deviceByIp.get(ip);
      if (id !== undefined) devices.add(id);
    }
  });
  return devices;
}
