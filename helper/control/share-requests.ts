import {
  type ClientMessage,
  clientMessage,
  type InviteInfo,
  type Reply,
  type ShareInfo,
  type ShareRequestBody,
  type ShareResultOf,
} from '../../src/control/messages.js';
import { PendingRequests } from './pending-requests.js';

/** The server answered a request with a refusal (not the device's owner, an expired invite...); the message is for the user. */
export class RequestRefused extends Error {
  override readonly name = 'RequestRefused';
}

export interface ShareLists {
  /** Invites naming the user, newest first. */
  incoming: InviteInfo[];
  /** Invites the user made, newest first. */
  outgoing: InviteInfo[];
  /** Shares in effect: devices shared with the user, then the user's devices shared with others. */
  accepted: ShareInfo[];
}

/**
 * Sharing over the control connection, as the user who owns this device (the server decides that
 * user from the device, not from anything sent). Each call waits for the server's reply: the
 * result, or a RequestRefused carrying the server's reason. Calls fail at once while the
 * connection is not registered, and when it drops before their reply.
 */
export class ShareRequests {
  private readonly replies = new PendingRequests<Reply>();

  constructor(
    /** The send function of the registered connection; null while there is none. */
    private readonly sender: () => ((message: ClientMessage) => void) | null,
    private readonly timeoutMs: number,
  ) {}

  /** Offers one of the user's devices to `recipient` (a user name), or as a link; the code is given only here. */
  async create(
    deviceId: string,
    options: { recipient?: string; multiUse?: boolean } = {},
  ): Promise<{ invite: InviteInfo; code: string }> {
    const { invite, code } = await this.request({ type: 'share-create', deviceId, ...options });
    return { invite, code };
  }

  async list(): Promise<ShareLists> {
    const { incoming, outgoing, accepted } = await this.request({ type: 'share-list' });
    return { incoming, outgoing, accepted };
  }

  /** By code (a link, or a named invite), or by id (an invite naming the user). */
  async accept(ref: { code: string } | { inviteId: string }): Promise<ShareInfo> {
    return (await this.request({ type: 'share-accept', ...ref })).share;
  }

  async decline(inviteId: string): Promise<InviteInfo> {
    return (await this.request({ type: 'share-decline', inviteId })).invite;
  }

  /** An invite (the owner ends it and its shares; a recipient ends their own share) or one share. */
  async revoke(ref: { inviteId: string } | { shareId: string }): Promise<void> {
    await this.request({ type: 'share-revoke', ...ref });
  }

  /** A reply arrived on the connection. */
  settle(reply: Reply): void {
    this.replies.settle(reply.id, reply);
  }

  /** The connection dropped: the server forgot the requests with it. */
  failAll(error: Error): void {
    this.replies.failAll(error);
  }

  /**
   * Sends a request and waits for its reply. The request is checked here first: the server closes
   * the channel on a malformed message, where a bad argument should fail only this call.
   */
  private async request<M extends ShareRequestBody>(message: M): Promise<ShareResultOf<M['type']>> {
    const send = this.sender();
    if (!send) throw new Error('not connected to the control server');
    clientMessage.parse({ ...message, id: 0 });
    const reply = await this.replies.start(
      (id) => send({ ...message, id } as ClientMessage),
      `reply to ${message.type}`,
      this.timeoutMs,
    );
    if (reply.outcome === 'error') throw new RequestRefused(reply.error);
    if (reply.result.op !== message.type) {
      throw new Error(`the server answered ${message.type} with a ${reply.result.op} result`);
    }
    return reply.result as ShareResultOf<M['type']>;
  }
}
