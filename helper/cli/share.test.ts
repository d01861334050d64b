import { afterEach, describe, expect, it } from 'vitest';
import { LocalApiError } from '../localapi/server.js';
import { callsOf, runCleanups, startFakeBurrowd } from './testing.js';

afterEach(runCleanups);

describe('burrow share', () => {
  it('create prints only the code on stdout, so a script can capture it', async () => {
    const fake = await startFakeBurrowd();
    const result = await fake.run('share', 'create', 'laptop', '--to', 'bob', '--multi-use');
    expect(result.code).toBe(0);
    expect(result.out).toBe('BRW-7K3Q-XM2P\n');
    expect(result.err).toBe(
      'Invite to laptop for bob, valid until 2030-01-02T00:00:00Z. They run: burrow share accept CODE\n',
    );
    await fake.run('share', 'create', 'laptop');
    expect(callsOf(fake, 'createShare')).toEqual([
      { device: 'laptop', to: 'bob', multiUse: true },
      { device: 'laptop' },
    ]);
    const json = JSON.parse((await fake.run('share', 'create', 'laptop', '--json')).out);
    expect(json).toMatchObject({ code: 'BRW-7K3Q-XM2P', invite: { device: 'laptop', recipient: null } });
  });

  it('list shows invites to and from this user, and the shares in effect', async () => {
    const fake = await startFakeBurrowd();
    const result = await fake.run('share', 'list');
    expect(result.out).toBe(
      [
        'Invites to you:',
        'ID     DEVICE   FROM   STATE    EXPIRES',
        'inv-2  printer  carol  pending  2030-01-02T00:00:00Z',
        '',
        'Invites from you:',
        'ID     DEVICE  TO   STATE    EXPIRES',
        'inv-1  laptop  bob  pending  2030-01-02T00:00:00Z',
        '',
        'Shared:',
        'ID    DEVICE    OWNER  WITH',
        'sh-1  bobs-nas  bob    alice',
        '',
      ].join('\n'),
    );
    fake.handlers.listShares = () => ({ incoming: [], outgoing: [], accepted: [] });
    expect((await fake.run('share', 'list')).out).toBe(
      'Invites to you: none\n\nInvites from you: none\n\nShared: none\n',
    );
    expect(JSON.parse((await fake.run('share', 'list', '--json')).out)).toEqual({
      incoming: [],
      outgoing: [],
      accepted: [],
    });
  });

  it('accept, decline and revoke send the code or id', async () => {
    const fake = await startFakeBurrowd();
    expect(await fake.run('share', 'accept', 'BRW-7K3Q-XM2P')).toEqual({
      code: 0,
      out: 'printer (shared by carol) is now in your network\n',
      err: '',
    });
    expect(await fake.run('share', 'decline', 'inv-2')).toEqual({
      code: 0,
      out: '',
      err: "Declined alice's invite to laptop.\n",
    });
    expect(await fake.run('share', 'revoke', 'sh-1')).toEqual({ code: 0, out: '', err: 'Revoked sh-1.\n' });
    expect(fake.calls).toEqual([
      { name: 'acceptShare', body: { ref: 'BRW-7K3Q-XM2P' } },
      { name: 'declineShare', body: { id: 'inv-2' } },
      { name: 'revokeShare', body: { id: 'sh-1' } },
    ]);
  });

  it("reports burrowd's refusal of a code with exit 1", async () => {
    const fake = await startFakeBurrowd();
    fake.handlers.acceptShare = () => {
      throw new LocalApiError(410, 'invite inv-9 has expired');
    };
    expect(await fake.run('share', 'accept', 'inv-9')).toEqual({
      code: 1,
      out: '',
      err: 'burrow: invite inv-9 has expired\n',
    });
  });
});
