import type { ServerMessage } from '../../src/control/messages.js';
import type { ServerChannel } from '../control/listener.js';

const SHARES_CHANGED = JSON.stringify({ type: 'shares-changed' } satisfies ServerMessage);

/** Registered channels by the user owning their device: who to tell that the user's shares changed. */
export class UserChannels {
  private readonly byUser = new Map<string, Set<ServerChannel>>();

  add(userId: string, channel: ServerChannel): void {
    const channels = this.byUser.get(userId) ?? new Set();
    this.byUser.set(userId, channels.add(channel));
  }

  forget(userId: string, channel: ServerChannel): void {
    const channels = this.byUser.get(userId);
    channels?.delete(channel);
    if (channels?.size === 0) this.byUser.delete(userId);
  }

  /** Tells every connected device of each user that their shares changed. */
  sharesChanged(users: readonly string[]): void {
    for (const user of new Set(users)) {
      for (const c of this.byUser.get(user) ?? []) c.sendJson(SHARES_CHANGED);
    }
  }
}
