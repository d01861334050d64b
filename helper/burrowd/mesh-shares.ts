import type { InviteInfo, ShareInfo } from '../../src/control/messages.js';
import type { Status } from '../../src/localapi/api.js';
import type { ControlClient } from '../control/client.js';
import { RequestRefused, type ShareLists } from '../control/share-requests.js';
import { type Handlers, LocalApiError } from '../localapi/server.js';

const invite = (i: InviteInfo) => ({
  id: i.id,
  device: i.device,
  owner: i.owner,
  recipient: i.recipient,
  state: i.state,
  multiUse: i.multiUse,
  expiresAt: i.expiresAt,
});
const share = (s: ShareInfo) => ({ id: s.id, device: s.device, owner: s.owner, recipient: s.recipient });

/** The control server's share lists as the LocalAPI gives them. */
export const shareListOf = (lists: ShareLists) => ({
  incoming: lists.incoming.map(invite),
  outgoing: lists.outgoing.map(invite),
  accepted: lists.accepted.map(share),
});

/** Invite codes have this shape; anything else given to `accept` is an invite id. */
const CODE = /^binv-/;

/** The server's refusal as a LocalAPI error (409: the request was understood, and refused). */
async function relay<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof RequestRefused) throw new LocalApiError(409, error.message);
    throw new LocalApiError(503, `the control server did not answer: ${(error as Error).message}`);
  }
}

/**
 * The LocalAPI's sharing operations, done by the control server as this device's user. A device
 * is named as the user knows it (this device, or one of the user's other devices in the map).
 */
export function shareHandlers(
  control: () => ControlClient,
  status: () => Status,
): Pick<Handlers, 'listShares' | 'createShare' | 'acceptShare' | 'declineShare' | 'revokeShare'> {
  return {
    listShares: async () => {
      const lists = await relay(() => control().listShares());
      return {
        incoming: lists.incoming.map(invite),
        outgoing: lists.outgoing.map(invite),
        accepted: lists.accepted.map(share),
      };
    },
    createShare: async ({ device, to, multiUse }) => {
      const s = status();
      const named = (n: {
        id: string;
        hostName: string;
        dnsName: string;
        shortName: string;
        ips: string[];
      }) =>
        n.id === device ||
        n.hostName === device ||
        n.dnsName === device ||
        n.shortName === device ||
        n.ips.includes(device);
      const target = s.self && named(s.self) ? s.self : s.peers.find((p) => !p.shared && named(p));
      if (!target) throw new LocalApiError(404, `no device "${device}" in this network`);
      const created = await relay(() =>
        control().createShare(target.id, {
          ...(to ? { recipient: to } : {}),
          ...(multiUse ? { multiUse } : {}),
        }),
      );
      return { invite: invite(created.invite), code: created.code };
    },
    acceptShare: async ({ ref }) =>
      share(await relay(() => control().acceptShare(CODE.test(ref) ? { code: ref } : { inviteId: ref }))),
    declineShare: async ({ id }) => invite(await relay(() => control().declineShare(id))),
    revokeShare: async ({ id }) => {
      // One id for the user, two kinds on the server: an invite (and its shares), or one share.
      try {
        await control().revokeShare({ inviteId: id });
      } catch (error) {
        if (!(error instanceof RequestRefused && /no invite/.test(error.message)))
          return relay(() => Promise.reject(error));
        await relay(() => control().revokeShare({ shareId: id }));
      }
      return { revoked: id };
    },
  };
}
