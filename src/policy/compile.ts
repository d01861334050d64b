/**
 * Compiles a policy into each device's inbound packet filter: the rules whose destinations
 * include an address the device holds or an approved route it serves, with sources spelled out
 * as addresses. The meaning is evaluate.ts's; compile.property.test.ts checks they agree.
 *
 * A server compiles every device of a network whenever the policy or a device changes, so the
 * work that does not depend on the device is done once per (policy, context) by PolicyCompiler:
 * each selector is resolved to devices once, each rule's sources are turned into an address list
 * once and that list is shared (frozen) by every filter containing the rule, and destinations are
 * indexed by the device they name. Compiling one device then costs its own rules plus a pass over
 * the policy's address destinations, not a pass over the network.
 */
import { AllowedIps } from '../wireguard/allowed-ips.js';
import type { DstPorts, FilterRule } from './filter.js';
import { INTERNET_PREFIXES } from './internet.js';
import { type DeviceAddresses, type PolicyContext, type PolicyDevice, readContext } from './model.js';
import {
  ALL_IPV4,
  ALL_IPV6,
  containsAddress,
  formatPrefix,
  type Prefix,
  prefixIntersection,
} from './prefix.js';
import { ALL_PORTS } from './protocol.js';
import type { AclRule, Policy, PortRange, Selector } from './types.js';

interface Dev extends DeviceAddresses {
  readonly device: PolicyDevice;
  readonly userDevice: boolean;
}

/** A selector's meaning: the devices it selects, and the addresses it covers beyond theirs. */
interface Resolved {
  readonly devices: readonly Dev[];
  readonly prefixes: readonly Prefix[];
}

interface Rule {
  readonly index: number;
  readonly protocols: readonly number[];
  readonly srcDevices: ReadonlySet<Dev>;
  readonly srcPrefixes: readonly Prefix[];
  srcIps?: readonly string[];
  /** For autogroup:self: per owner login, the sources among that owner's devices. */
  readonly selfSrcIps: Map<string, readonly string[]>;
}

/** A dst entry of a rule, reduced to its ports once the addresses it concerns are known. */
interface Reach {
  readonly rule: Rule;
  readonly ports: readonly PortRange[];
}

export class PolicyCompiler {
  private readonly policy: Policy | null;
  private readonly byId = new Map<string, Dev>();
  private readonly byAddress = new Map<string, Dev>();
  private readonly userDevices = new Map<string, Dev[]>();
  private readonly tagged = new Map<string, Dev[]>();
  private readonly members: Dev[] = [];
  private readonly shared: Dev[] = [];
  private readonly resolved = new Map<string, Resolved>();
  private readonly rules: Rule[] = [];
  // Destinations, by how they find the devices they concern.
  private readonly byDevice = new Map<Dev, Reach[]>();
  private readonly byPrefix: { reach: Reach; prefix: Prefix }[] = [];
  private readonly anyAddress: Reach[] = [];
  private readonly self: Reach[] = [];
  // Without a policy: the sources every device of the network admits, worked out when first needed.
  private networkIps?: readonly string[];

  constructor(policy: Policy | null, ctx: PolicyContext) {
    this.policy = policy;
    const members = new Set(ctx.members);
    const addresses = readContext(ctx);
    ctx.devices.forEach((device, i) => {
      const dev: Dev = {
        device,
        ...addresses[i]!,
        // isUserDevice, with the members as a set.
        userDevice: !device.shared && device.tags.length === 0 && members.has(device.user),
      };
      this.byId.set(device.id, dev);
      for (const text of dev.ipTexts) this.byAddress.set(text, dev);
      if (dev.userDevice) {
        this.members.push(dev);
        push(this.userDevices, device.user, dev);
      }
      if (device.shared) this.shared.push(dev);
      else for (const tag of device.tags) push(this.tagged, tag, dev);
    });
    policy?.acls.forEach((acl, index) => {
      const rule = this.rule(acl, index);
      this.rules.push(rule);
      this.index(rule, acl);
    });
  }

  /** The inbound filter of `device` (which must be in the context). */
  compileFor(device: Pick<PolicyDevice, 'id'>): FilterRule[] {
    const dev = this.byId.get(device.id);
    if (dev === undefined) throw new Error(`device ${JSON.stringify(device.id)} is not in the context`);
    if (this.policy === null) {
      if (dev.device.shared) return [];
      return [{ srcIps: this.networkSources(), dstPorts: [{ ip: '*', ports: ALL_PORTS }], protocols: [] }];
    }

    const dsts: DstsByRule = new Map();
    for (const reach of this.byDevice.get(dev) ?? []) {
      for (const ip of dev.ipTexts) addDsts(dsts, reach, ip);
    }
    for (const reach of this.anyAddress) addDsts(dsts, reach, '*');
    for (const { reach, prefix } of this.byPrefix) {
      for (const owned of [...dev.ips, ...dev.routes]) {
        const shared = prefixIntersection(prefix, owned);
        if (shared !== null) addDsts(dsts, reach, formatPrefix(shared));
      }
    }
    // autogroup:self entries get rules of their own: their sources depend on the device's owner.
    const selfDsts: DstsByRule = new Map();
    if (dev.userDevice) {
      for (const reach of this.self) for (const ip of dev.ipTexts) addDsts(selfDsts, reach, ip);
    }

    const rules = [...new Set([...dsts.keys(), ...selfDsts.keys()])].sort((a, b) => a.index - b.index);
    const out: FilterRule[] = [];
    for (const rule of rules) {
      const entries = dsts.get(rule);
      const srcIps = entries === undefined ? [] : this.srcIps(rule);
      if (entries !== undefined && srcIps.length > 0) {
        out.push({ srcIps, dstPorts: [...entries.values()], protocols: rule.protocols });
      }
      const selfEntries = selfDsts.get(rule);
      const selfSrcIps = selfEntries === undefined ? [] : this.selfSrcIps(rule, dev.device.user);
      if (selfEntries !== undefined && selfSrcIps.length > 0) {
        out.push({ srcIps: selfSrcIps, dstPorts: [...selfEntries.values()], protocols: rule.protocols });
      }
    }
    return out;
  }

  /**
   * The source list of every rule, in policy order (without a policy: the network's addresses).
   * They are the lists compiled filters share, so comparing two compilers' lists says whose reach
   * changed between them.
   */
  sources(): (readonly string[])[] {
    if (this.policy === null) return [this.networkSources()];
    return this.rules.map((rule) => this.srcIps(rule));
  }

  private networkSources(): readonly string[] {
    this.networkIps ??= Object.freeze(
      minimalCover([...this.byId.values()].filter((d) => !d.device.shared).flatMap((d) => d.ips)),
    );
    return this.networkIps;
  }

  private rule(acl: AclRule, index: number): Rule {
    const srcDevices = new Set<Dev>();
    const srcPrefixes: Prefix[] = [];
    for (const selector of acl.src) {
      const { devices, prefixes } = this.resolve(selector);
      for (const d of devices) srcDevices.add(d);
      srcPrefixes.push(...prefixes);
    }
    return {
      index,
      protocols: Object.freeze([...acl.protocols]),
      srcDevices,
      srcPrefixes,
      selfSrcIps: new Map(),
    };
  }

  /** Files each dst entry of the rule under how it finds the devices it concerns. */
  private index(rule: Rule, acl: AclRule): void {
    for (const entry of acl.dst) {
      const reach: Reach = { rule, ports: entry.ports };
      const kind = entry.target.kind;
      if (kind === 'any') {
        this.anyAddress.push(reach);
      } else if (kind === 'self') {
        this.self.push(reach);
      } else {
        const { devices, prefixes } = this.resolve(entry.target);
        for (const d of devices) push(this.byDevice, d, reach);
        for (const prefix of prefixes) this.byPrefix.push({ reach, prefix });
      }
    }
  }

  /** What a selector means in this context, worked out once per distinct selector text. */
  private resolve(selector: Selector): Resolved {
    const known = this.resolved.get(selector.text);
    if (known !== undefined) return known;
    const resolved = this.resolveUncached(selector);
    this.resolved.set(selector.text, resolved);
    return resolved;
  }

  private resolveUncached(selector: Selector): Resolved {
    switch (selector.kind) {
      case 'any':
        return { devices: [], prefixes: [ALL_IPV4, ALL_IPV6] };
      case 'internet':
        return { devices: [], prefixes: INTERNET_PREFIXES };
      case 'user':
        return { devices: this.userDevices.get(selector.login) ?? [], prefixes: [] };
      case 'group': {
        const logins = this.policy?.groups.get(selector.name) ?? [];
        return { devices: logins.flatMap((login) => this.userDevices.get(login) ?? []), prefixes: [] };
      }
      case 'tag':
        return { devices: this.tagged.get(selector.name) ?? [], prefixes: [] };
      case 'member':
        return { devices: this.members, prefixes: [] };
      case 'shared':
        return { devices: this.shared, prefixes: [] };
      case 'address':
        return { devices: this.holders(selector.prefix), prefixes: [selector.prefix] };
      case 'self':
        throw new Error('autogroup:self depends on the source; it is compiled per owner');
    }
  }

  /** The devices holding an address in `prefix`. */
  private holders(prefix: Prefix): Dev[] {
    const single = prefix.bits === prefix.addr.length * 8;
    if (single) {
      const dev = this.byAddress.get(formatPrefix(prefix));
      return dev === undefined ? [] : [dev];
    }
    return [...this.byId.values()].filter((d) => d.ips.some((ip) => containsAddress(prefix, ip.addr)));
  }

  private srcIps(rule: Rule): readonly string[] {
    rule.srcIps ??= Object.freeze(
      minimalCover([...rule.srcPrefixes, ...[...rule.srcDevices].flatMap((d) => d.ips)]),
    );
    return rule.srcIps;
  }

  /** The addresses of `login`'s user devices that the rule's src selects, for its autogroup:self entries. */
  private selfSrcIps(rule: Rule, login: string): readonly string[] {
    let ips = rule.selfSrcIps.get(login);
    if (ips === undefined) {
      const selected = (this.userDevices.get(login) ?? []).filter(
        (d) =>
          rule.srcDevices.has(d) ||
          d.ips.some((ip) => rule.srcPrefixes.some((p) => containsAddress(p, ip.addr))),
      );
      ips = Object.freeze(minimalCover(selected.flatMap((d) => d.ips)));
      rule.selfSrcIps.set(login, ips);
    }
    return ips;
  }
}

/** Compiles one device's filter. To compile many devices, build one PolicyCompiler and reuse it. */
export function compileFor(policy: Policy | null, ctx: PolicyContext, device: PolicyDevice): FilterRule[] {
  return new PolicyCompiler(policy, ctx).compileFor(device);
}

/**
 * The prefixes as CIDR text, without repeats or any prefix another one covers (a rule admitting
 * everyone lists "0.0.0.0/0" and "::/0", not also every device). Shorter prefixes go in first, so
 * a prefix is covered exactly when the trie already matches its address.
 */
function minimalCover(prefixes: readonly Prefix[]): string[] {
  const sorted = [...prefixes].sort((a, b) => a.family - b.family || a.bits - b.bits);
  const trie = new AllowedIps<true>();
  const out: string[] = [];
  for (const p of sorted) {
    if (trie.lookup(p.addr) !== undefined) continue;
    trie.insert(p.addr, p.bits, true);
    out.push(formatPrefix(p));
  }
  return out;
}

type DstsByRule = Map<Rule, Map<string, DstPorts>>;

/** Adds the reach's ports at `ip` to its rule's destinations, once each. */
function addDsts(dsts: DstsByRule, reach: Reach, ip: string): void {
  let entries = dsts.get(reach.rule);
  if (entries === undefined) {
    entries = new Map();
    dsts.set(reach.rule, entries);
  }
  for (const ports of reach.ports) entries.set(`${ip} ${ports.first}-${ports.last}`, { ip, ports });
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
