import type { Netmap, NodeInfo } from '../../src/control/messages.js';
import { type FilterRule, PolicyCompiler, type PolicyContext, parsePolicy } from '../../src/policy/index.js';
import { effectiveRoutes, policyContext } from '../policy-context.js';
import type { Store } from '../store/store.js';
import type { Device } from '../store/types.js';

const DEFAULT_ROUTES = new Set(['0.0.0.0/0', '::/0']);
const ALL_PORTS = { first: 0, last: 65535 };

/** One network's compiled policy, built once and reused until the network changes. */
interface NetworkView {
  ctx: PolicyContext;
  compiler: PolicyCompiler;
  filters: Map<string, FilterRule[]>;
}

/**
 * Builds the map a device receives: itself, the peers it may see, its inbound packet filter and
 * DNS names. A peer is visible when the policy lets either side reach the other; devices shared
 * with the device's user are added (marked shared: they may be reached, never start a connection),
 * and a device shared out sees its recipients' devices, which its filter admits. Compiled policies
 * are cached per network and dropped by `invalidate` when that network changes.
 */
export class NetmapBuilder {
  private readonly views = new Map<string, NetworkView>();

  constructor(private readonly store: Store) {}

  invalidate(networkId: string): void {
    this.views.delete(networkId);
  }

  private view(networkId: string): NetworkView {
    let view = this.views.get(networkId);
    if (!view) {
      const ctx = policyContext(this.store, networkId);
      const stored = this.store.getPolicy(networkId);
      const policy = stored ? parsePolicy(stored.text) : null;
      view = { ctx, compiler: new PolicyCompiler(policy, ctx), filters: new Map() };
      this.views.set(networkId, view);
    }
    return view;
  }

  /** The compiled inbound filter of one of the network's own devices. */
  private filterOf(view: NetworkView, deviceId: string): FilterRule[] {
    let rules = view.filters.get(deviceId);
    if (!rules) {
      const device = view.ctx.devices.find((d) => d.id === deviceId && !d.shared);
      rules = device ? view.compiler.compileFor(device) : [];
      view.filters.set(deviceId, rules);
    }
    return rules;
  }

  build(deviceId: string): Netmap {
    const self = this.store.getDevice(deviceId);
    const view = this.view(self.networkId);
    const own = this.filterOf(view, self.id);
    const selfIps = new Set([`${self.ipv4}/32`, `${self.ipv6}/128`]);
    const admits = (rules: readonly FilterRule[], d: Device) =>
      rules.some((r) => r.srcIps.includes(`${d.ipv4}/32`) || r.srcIps.includes(`${d.ipv6}/128`));
    const admitsSelf = (rules: readonly FilterRule[]) =>
      rules.some((r) => r.srcIps.some((ip) => selfIps.has(ip)));

    const peers = new Map<string, NodeInfo>();
    for (const d of this.store.listDevices(self.networkId)) {
      if (d.id === self.id) continue;
      if (admits(own, d) || admitsSelf(this.filterOf(view, d.id))) peers.set(d.id, this.node(d, false));
    }
    for (const share of this.store.listAcceptedShares(self.userId)) {
      if (!peers.has(share.deviceId))
        peers.set(share.deviceId, this.node(this.store.getDevice(share.deviceId), true));
    }
    const filter: FilterRule[] = [...own];
    const recipients = this.store
      .sharesOfDevice(self.id)
      .flatMap((s) => this.store.listUserDevices(s.recipientUserId));
    if (recipients.length > 0) {
      for (const d of recipients) if (!peers.has(d.id)) peers.set(d.id, this.node(d, false));
      filter.push({
        srcIps: recipients.flatMap((d) => [`${d.ipv4}/32`, `${d.ipv6}/128`]),
        dstPorts: [...selfIps].map((ip) => ({ ip, ports: ALL_PORTS })),
        protocols: [],
      });
    }
    const peerList = [...peers.values()];
    return {
      self: this.node(self, false),
      peers: peerList,
      filter: filter.map((r) => ({
        srcIps: [...r.srcIps],
        dstPorts: r.dstPorts.map((p) => ({ ip: p.ip, ports: { ...p.ports } })),
        protocols: [...r.protocols],
      })),
      relays: [],
      dns: [self, ...peerList.map((p) => this.store.getDevice(p.id))].map((d) => ({
        name:
          d.networkId === self.networkId ? d.name : `${d.name}.${this.store.getNetwork(d.networkId).name}`,
        ips: [d.ipv4, d.ipv6],
      })),
    };
  }

  private node(d: Device, shared: boolean): NodeInfo {
    const routes = effectiveRoutes(d);
    return {
      id: d.id,
      name: d.name,
      user: this.store.getUser(d.userId).name,
      ips: [d.ipv4, d.ipv6],
      nodeKey: d.nodeKey,
      discoKey: d.discoKey,
      endpoints: d.endpoints,
      online: d.online,
      lastSeen: d.lastSeen,
      keyExpiry: d.keyExpiry,
      shared,
      exitNodeOption: routes.some((r) => DEFAULT_ROUTES.has(r)),
      routes: routes.filter((r) => !DEFAULT_ROUTES.has(r)),
    };
  }
}
