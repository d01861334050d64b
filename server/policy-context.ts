import type { PolicyContext, PolicyDevice } from '../src/policy/index.js';
import type { Store } from './store/store.js';
import type { Device } from './store/types.js';

/** Routes a device serves: approved and also advertised; an approved exit node adds the default routes. */
export function effectiveRoutes(d: Device): string[] {
  const routes = d.approvedRoutes.filter((r) => d.advertisedRoutes.includes(r));
  if (d.exitNodeApproved && d.advertisesExitNode) routes.push('0.0.0.0/0', '::/0');
  return routes;
}

/**
 * What the policy engine needs to know about one network: its members, its own devices, and the
 * devices shared into it (those shared with any of its members).
 */
export async function policyContext(store: Store, networkId: string): Promise<PolicyContext> {
  const network = await store.getNetwork(networkId);
  const users = await store.listUsers(networkId);
  const names = new Map(users.map((u) => [u.id, u.name]));
  const userName = async (id: string) => names.get(id) ?? (await store.getUser(id)).name;
  const asPolicyDevice = async (d: Device, shared: boolean): Promise<PolicyDevice> => ({
    id: d.id,
    user: await userName(d.userId),
    network: shared ? (await store.getNetwork(d.networkId)).name : network.name,
    tags: d.tags,
    ips: [d.ipv4, d.ipv6],
    shared,
    routes: effectiveRoutes(d),
  });
  const devices: PolicyDevice[] = [];
  for (const d of await store.listDevices(networkId)) devices.push(await asPolicyDevice(d, false));
  const seen = new Set(devices.map((d) => d.id));
  for (const user of users) {
    for (const share of await store.listAcceptedShares(user.id)) {
      if (seen.has(share.deviceId)) continue;
      seen.add(share.deviceId);
      devices.push(await asPolicyDevice(await store.getDevice(share.deviceId), true));
    }
  }
  return { network: network.name, members: users.map((u) => u.name), devices };
}
