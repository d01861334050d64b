import type { ClientMessage } from '../../src/control/messages.js';
import { TokenBucket } from '../../src/relay/token-bucket.js';

/** What one control channel may send. A device sends one register per connection and few messages. */
export const CHANNEL_BUDGET = {
  messagesPerSecond: 200,
  messageBurst: 2000,
  /** Registrations: each costs a database lookup, and a key-less one a login session. */
  registersPerMinute: 6,
  registerBurst: 10,
};

/**
 * One channel's message budget. Messages beyond it are not answered one by one (each answer is a
 * seal and a write, and a flood of them would hold the event loop): the channel is closed, and a
 * client that wants to go on has to connect again, which the handshake limits meter.
 */
export class ChannelBudget {
  private readonly messages: TokenBucket;
  private readonly registers: TokenBucket;

  constructor(now: number) {
    this.messages = new TokenBucket(CHANNEL_BUDGET.messagesPerSecond, CHANNEL_BUDGET.messageBurst, now);
    this.registers = new TokenBucket(
      CHANNEL_BUDGET.registersPerMinute / 60,
      CHANNEL_BUDGET.registerBurst,
      now,
    );
  }

  /** Spends this message's share; returns why the channel must close if it is over its budget. */
  take(type: ClientMessage['type'], now: number): string | null {
    if (this.messages.wait(1, now) > 0) return 'closing: too many messages on this connection';
    this.messages.spend(1);
    if (type !== 'register') return null;
    if (this.registers.wait(1, now) > 0) return 'closing: too many registrations on this connection';
    this.registers.spend(1);
    return null;
  }
}
