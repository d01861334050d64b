import { describe, expect, it } from 'vitest';
import { resolverIpv6 } from '../../../src/control/dns-settings.js';
import { BACK_ENDS, withBackEnd } from '../test-support/back-ends.js';
import { T0 } from '../testing.js';

const invalid = (message: RegExp) =>
  expect.objectContaining({ name: 'StoreError', code: 'invalid', message: expect.stringMatching(message) });

describe.each(BACK_ENDS)('network DNS settings ($name)', (backEnd) => {
  const t = withBackEnd(backEnd);

  it('are none until set, then round-trip in normal form, across a restart', async () => {
    const net = await t.store.createNetwork({ name: 'family' }, T0);
    expect(await t.store.getDnsSettings(net.id)).toEqual({
      networkId: net.id,
      nameservers: [],
      routes: [],
      searchDomains: [],
      override: false,
      updatedAt: null,
    });
    const set = await t.store.setDnsSettings(
      net.id,
      {
        nameservers: ['9.9.9.9', '1.1.1.1:53', '2001:DB8::0:1', '[2001:db8::2]:5353', '9.9.9.9'],
        routes: [
          { domain: 'Corp.Example.', servers: ['10.1.0.53'] },
          { domain: 'b.example', servers: ['10.2.0.53:5353', '10.2.0.54'] },
        ],
        searchDomains: ['corp.example', 'CORP.example'],
        override: true,
      },
      T0 + 1,
    );
    const expected = {
      networkId: net.id,
      nameservers: ['9.9.9.9', '1.1.1.1', '2001:db8::1', '[2001:db8::2]:5353'],
      routes: [
        { domain: 'b.example', servers: ['10.2.0.53:5353', '10.2.0.54'] },
        { domain: 'corp.example', servers: ['10.1.0.53'] },
      ],
      searchDomains: ['corp.example'],
      override: true,
      updatedAt: T0 + 1,
    };
    expect(set).toEqual(expected);
    expect(await (await t.reopen()).getDnsSettings(net.id)).toEqual(expected);
  });

  it('record a change in the network feed, and none when nothing changed', async () => {
    const net = await t.store.createNetwork({ name: 'family' }, T0);
    const other = await t.store.createNetwork({ name: 'work' }, T0);
    const seq = await t.store.currentSeq();
    const settings = { nameservers: ['10.0.0.53'], routes: [], searchDomains: [], override: false };
    await t.store.setDnsSettings(net.id, settings, T0);
    expect(await t.store.changesSince(net.id, seq)).toEqual([
      expect.objectContaining({ kind: 'dns-changed' }),
    ]);
    expect(await t.store.changesSince(other.id, seq)).toEqual([]);
    const after = await t.store.currentSeq();
    await t.store.setDnsSettings(net.id, { ...settings, nameservers: ['10.0.0.53:53'] }, T0 + 5);
    expect(await t.store.currentSeq()).toBe(after);
    expect((await t.store.getDnsSettings(net.id)).updatedAt).toBe(T0);
  });

  it('refuse bad settings whole, naming the field, and keep what was there', async () => {
    const net = await t.store.createNetwork({ name: 'family' }, T0);
    const good = { nameservers: ['10.0.0.53'], routes: [], searchDomains: ['corp.example'], override: false };
    await t.store.setDnsSettings(net.id, good, T0);
    const seq = await t.store.currentSeq();
    const ownV6 = resolverIpv6(net.ula);
    const cases: [Partial<typeof good> & Record<string, unknown>, RegExp][] = [
      [
        { nameservers: ['10.0.0.1', '100.100.100.100'] },
        /^nameservers\[1\]: 100\.100\.100\.100 is the device's own/,
      ],
      [{ nameservers: [`[${ownV6}]:53`] }, /^nameservers\[0\]: .*own Burrow resolver/],
      [{ nameservers: ['10.0.0.300'] }, /^nameservers\[0\]: "10\.0\.0\.300" is not a name server/],
      [{ nameservers: ['10.0.0.1:0'] }, /^nameservers\[0\]: .*port/],
      [{ nameservers: ['0.0.0.0'] }, /unspecified/],
      [{ nameservers: ['fd00:::1'] }, /not a name server/],
      [{ nameservers: ['[10.0.0.1]:53'] }, /not a name server/],
      [{ searchDomains: ['corp example'] }, /^searchDomains\[0\]: "corp example" is not a DNS name/],
      [{ searchDomains: ['10.0.0.1'] }, /not a DNS name/],
      [
        { routes: [{ domain: 'corp.example', servers: [] }] } as never,
        /^routes\[0\]\.servers: give at least one/,
      ],
      [
        {
          routes: [
            { domain: 'corp.example', servers: ['10.0.0.1'] },
            { domain: 'CORP.example.', servers: ['10.0.0.2'] },
          ],
        } as never,
        /^routes\[1\]\.domain: corp\.example is routed twice/,
      ],
      [{ nameservers: [], override: true }, /^override: needs at least one name server/],
      [{ nameservers: Array.from({ length: 9 }, (_, i) => `10.0.0.${i + 1}`) }, /^nameservers: at most 8/],
    ];
    for (const [patch, message] of cases) {
      await expect(
        t.store.setDnsSettings(net.id, { ...good, ...patch }, T0 + 1),
        message.source,
      ).rejects.toThrow(invalid(message));
    }
    // Routes for names under the base domain, when the caller knows it.
    await expect(
      t.store.setDnsSettings(
        net.id,
        { ...good, routes: [{ domain: 'x.family.burrow.internal', servers: ['10.0.0.1'] }] },
        T0 + 1,
        'burrow.internal',
      ),
    ).rejects.toThrow(invalid(/^routes\[0\]\.domain: x\.family\.burrow\.internal is under the base domain/));
    expect(
      (
        await t.store.setDnsSettings(
          net.id,
          { ...good, routes: [{ domain: 'internal', servers: ['10.0.0.1'] }] },
          T0 + 1,
          'burrow.internal',
        )
      ).routes,
    ).toEqual([{ domain: 'internal', servers: ['10.0.0.1'] }]);
    await t.store.setDnsSettings(net.id, good, T0 + 2);
    expect(await t.store.getDnsSettings(net.id)).toMatchObject(good);
    await expect(t.store.getDnsSettings('nope')).rejects.toThrow(
      expect.objectContaining({ code: 'not-found' }),
    );
    expect(await t.store.currentSeq()).toBeGreaterThan(seq);
  });
});
