import { describe, expect, it } from 'vitest';
import { BACK_ENDS, withBackEnd } from '../test-support/back-ends.js';
import { T0 } from '../testing.js';

describe.each(BACK_ENDS)('policies ($name)', (backEnd) => {
  const t = withBackEnd(backEnd);

  it('are kept verbatim per network, with a policy-changed change', async () => {
    const acme = await t.store.createNetwork({ name: 'acme' }, T0);
    const other = await t.store.createNetwork({ name: 'other' }, T0);
    expect(await t.store.getPolicy(acme.id)).toBeNull();
    const text =
      '{\n  // HuJSON: comments and trailing commas stay\n  "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]},],\n}\n';
    expect(await t.store.setPolicy(acme.id, text, T0 + 1)).toEqual({
      networkId: acme.id,
      text,
      updatedAt: T0 + 1,
    });
    expect(await t.store.setPolicy(acme.id, '{}', T0 + 2)).toEqual({
      networkId: acme.id,
      text: '{}',
      updatedAt: T0 + 2,
    });
    expect(await t.store.getPolicy(acme.id)).toEqual({ networkId: acme.id, text: '{}', updatedAt: T0 + 2 });
    expect(await t.store.getPolicy(other.id)).toBeNull();
    expect((await t.store.changesSince(acme.id, 0))?.map((c) => [c.kind, c.deviceId])).toEqual([
      ['policy-changed', null],
      ['policy-changed', null],
    ]);
    expect(await t.store.changesSince(other.id, 0)).toEqual([]);
    await expect(t.store.setPolicy('nope', '{}', T0)).rejects.toThrow(
      expect.objectContaining({ code: 'not-found' }),
    );
  });
});
