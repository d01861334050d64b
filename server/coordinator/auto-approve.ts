import { autoApprovedRoutes, parsePolicy } from '../../src/policy/index.js';
import { policyContext } from '../policy-context.js';
import type { Store } from '../store/store.js';

/** Approves what the network's policy (autoApprovers) approves of a device's advertised routes. */
export async function autoApprove(store: Store, deviceId: string, now: number): Promise<void> {
  const device = await store.getDevice(deviceId);
  const stored = await store.getPolicy(device.networkId);
  if (!stored) return;
  const ctx = await policyContext(store, device.networkId);
  const self = ctx.devices.find((d) => d.id === device.id);
  if (!self) return;
  const advertised = [
    ...device.advertisedRoutes,
    ...(device.advertisesExitNode ? ['0.0.0.0/0', '::/0'] : []),
  ];
  const approved = autoApprovedRoutes(parsePolicy(stored.text), ctx, self, advertised);
  const exitNode = device.exitNodeApproved || (approved.includes('0.0.0.0/0') && approved.includes('::/0'));
  const routes = [
    ...new Set([...device.approvedRoutes, ...approved.filter((r) => r !== '0.0.0.0/0' && r !== '::/0')]),
  ];
  if (exitNode !== device.exitNodeApproved || routes.length !== device.approvedRoutes.length) {
    await store.approveRoutes(device.id, { routes, exitNode }, now);
  }
}
