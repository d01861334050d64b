/**
 * The policy's answers to the server's two ownership questions: may this user put this tag on a
 * device (tagOwners), and which of the routes a device advertises are approved without an admin
 * (autoApprovers). Owners are matched with the identity rules of model.ts, so a device shared in
 * from another network is never auto-approved, and a tagged device is approved by its tags only.
 */
import { hasTag, isUserDevice, type PolicyContext, type PolicyDevice } from './model.js';
import { parsePrefix, prefixContains } from './prefix.js';
import type { Owner, Policy } from './types.js';

/** Whether `login` may apply `tag` (as in "tag:db") to its devices. Without a policy, nobody may. */
export function mayApplyTag(policy: Policy | null, ctx: PolicyContext, login: string, tag: string): boolean {
  if (policy === null) return false;
  return (policy.tagOwners.get(tag) ?? []).some((owner) => namesUser(policy, ctx, owner, login));
}

/**
 * The advertised routes the policy approves for `device`: a subnet route inside an approved
 * prefix whose owners include the device, and the exit routes (0.0.0.0/0, ::/0) when the
 * exitNode owners include it. Routes come back as advertised.
 */
export function autoApprovedRoutes(
  policy: Policy | null,
  ctx: PolicyContext,
  device: PolicyDevice,
  advertised: readonly string[],
): string[] {
  if (policy === null) return [];
  const { routes, exitNode } = policy.autoApprovers;
  return advertised.filter((text) => {
    const route = parsePrefix(text);
    if (route.bits === 0) return exitNode.some((owner) => owns(policy, ctx, owner, device));
    return routes.some(
      (r) => prefixContains(r.prefix, route) && r.owners.some((owner) => owns(policy, ctx, owner, device)),
    );
  });
}

function owns(policy: Policy, ctx: PolicyContext, owner: Owner, device: PolicyDevice): boolean {
  if (owner.kind === 'tag') return hasTag(device, owner.name);
  return isUserDevice(ctx, device) && namesUser(policy, ctx, owner, device.user);
}

/** Whether the owner names the user `login` (a tag names no user). */
function namesUser(policy: Policy, ctx: PolicyContext, owner: Owner, login: string): boolean {
  switch (owner.kind) {
    case 'user':
      return owner.login === login;
    case 'group':
      return (policy.groups.get(owner.name) ?? []).includes(login);
    case 'member':
      return ctx.members.includes(login);
    case 'tag':
      return false;
  }
}
