import { describe, expect, it } from 'vitest';
import { CHANNEL_BUDGET, ChannelBudget } from './channel-budget.js';

describe('a control channel budget', () => {
  it('allows a burst of registrations, then one per ten seconds', () => {
    const b = new ChannelBudget(0);
    for (let i = 0; i < CHANNEL_BUDGET.registerBurst; i++) expect(b.take('register', 0)).toBeNull();
    expect(b.take('register', 0)).toBe('closing: too many registrations on this connection');
    expect(b.take('register', 10_000)).toBeNull();
    expect(b.take('ping', 10_000)).toBeNull();
  });

  it('closes on a flood of any message', () => {
    const b = new ChannelBudget(0);
    const answers = Array.from({ length: CHANNEL_BUDGET.messageBurst + 1 }, () => b.take('ping', 0));
    expect(answers.at(-2)).toBeNull();
    expect(answers.at(-1)).toBe('closing: too many messages on this connection');
    expect(b.take('ping', 1000)).toBeNull(); // refilled at 200/s
  });
});
