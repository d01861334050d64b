import { describe, expect, it } from 'vitest';
import { resolverIpv6 } from '../../../src/control/dns-settings.js';
import { formatIpv4, isReserved, parseIpv4, parseIpv4Pool } from '../addresses.js';
import { BACK_ENDS, withBackEnd } from '../test-support/back-ends.js';
import { identity, mapEach, T0, times } from '../testing.js';
import type { User } from '../types.js';

const code = (c: string) => expect.objectContaining({ name: 'StoreError', code: c });

describe.each(BACK_ENDS)('address allocation in the default pool ($name)', (backEnd) => {
  const t = withBackEnd(backEnd);
  const pool = parseIpv4Pool('100.64.0.0/10');

  it('gives thousands of devices in several networks unique, unreserved addresses; never reuses one early', async () => {
    const owners: User[] = await mapEach(['ana', 'bo', 'cy'], (name) => t.store.createUser({ name }, T0));
    const ulas = new Map(
      await mapEach(
        owners,
        async (u): Promise<[string, string]> => [
          u.networkId,
          (await t.store.getNetwork(u.networkId)).ula.replace('::/48', ''),
        ],
      ),
    );
    const everUsed = new Set<string>();
    const live = new Map<string, string>(); // device id -> ipv4
    const register = async (i: number) => {
      const owner = owners[i % owners.length]!;
      const d = await t.store.registerDevice({ ...identity(`h${i % 7}`), userId: owner.id }, T0);
      const n = parseIpv4(d.ipv4);
      expect(n >= pool.first && n <= pool.last && !isReserved(pool, n), d.ipv4).toBe(true);
      expect(everUsed.has(d.ipv4), `${d.ipv4} handed out twice`).toBe(false);
      expect(d.ipv6).toBe(
        `${ulas.get(d.networkId)}::${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`,
      );
      everUsed.add(d.ipv4);
      live.set(d.id, d.ipv4);
    };
    for (let i = 0; i < 3000; i++) await register(i);
    // 254 addresses per /24: .0 and .255 of each are stepped over.
    expect(live.get([...live.keys()].at(-1)!)).toBe('100.64.11.206');

    const ids = [...live.keys()];
    for (let i = 0; i < ids.length; i += 3) {
      await t.store.deleteDevice(ids[i]!, T0);
      live.delete(ids[i]!);
    }
    for (let i = 3000; i < 4000; i++) await register(i);

    const all = (await mapEach(owners, (u) => t.store.listUserDevices(u.id))).flat();
    expect(all).toHaveLength(live.size);
    expect(new Set(all.map((d) => d.ipv4)).size).toBe(all.length);
    expect(new Set(all.map((d) => d.ipv6)).size).toBe(all.length);
  });
});

describe.each(BACK_ENDS)('address allocation past a long run of taken addresses ($name)', (backEnd) => {
  const t = withBackEnd(backEnd);
  const pool = parseIpv4Pool('100.64.0.0/10');

  it('skips a long run of taken addresses after wrapping with one query, not one per address', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    // Fill 100.64.0.1 .. 100.64.199.254 (51,000 addresses) directly, leaving a hole at 100.64.150.7,
    // and put the cursor at the end of the pool so the next allocation wraps into the filled run.
    const hole = parseIpv4('100.64.150.7');
    const taken: number[] = [];
    for (let n = pool.first + 1; n < parseIpv4('100.64.200.0'); n++) {
      if (n !== hole && !isReserved(pool, n)) taken.push(n);
    }
    for (let i = 0; i < taken.length; i += 2000) {
      const batch = taken.slice(i, i + 2000);
      await t.db.sql(
        `INSERT INTO devices (id, network_id, user_id, name, name_base, name_suffix, machine_key, node_key,
           disco_key, ipv4, ipv6, tags, ephemeral, online, endpoints, advertised_routes, approved_routes,
           advertises_exit_node, exit_node_approved, created_at)
         VALUES ${batch.map(() => "(?, ?, ?, ?, 'x', 0, ?, ?, 'd', ?, ?, '[]', 0, 0, '[]', '[]', '[]', 0, 0, 0)").join(', ')}`,
        ...batch.flatMap((n) => [`r${n}`, ana.networkId, ana.id, `x${n}`, `m${n}`, `n${n}`, n, `v6-${n}`]),
      );
    }
    await t.db.sql(
      "INSERT INTO meta (key, value) VALUES ('ipv4_cursor', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      pool.last,
    );

    const start = performance.now();
    const d = await t.store.registerDevice({ ...identity(), userId: ana.id }, T0);
    const ms = performance.now() - start;
    expect(d.ipv4).toBe(formatIpv4(hole));
    expect(ms).toBeLessThan(250);
    const next = await t.store.registerDevice({ ...identity(), userId: ana.id }, T0);
    expect(next.ipv4).toBe('100.64.200.1');
  });
});

describe.each(BACK_ENDS)('address allocation in a small pool ($name)', (backEnd) => {
  const t = withBackEnd(backEnd, { ipv4Pool: '10.9.0.0/23' });

  it('wraps around to addresses freed since, and reports exhaustion without a trace', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const register = async () => await t.store.registerDevice({ ...identity(), userId: ana.id }, T0);
    // 512 addresses less 10.9.0.0, .0.255, .1.0 and .1.255.
    const devices = await times(508, register);
    expect(devices[0]?.ipv4).toBe('10.9.0.1');
    expect(devices[254]?.ipv4).toBe('10.9.1.1');
    expect(devices.at(-1)?.ipv4).toBe('10.9.1.254');

    const seq = await t.store.currentSeq();
    await expect(register()).rejects.toThrow(code('address-exhausted'));
    expect(await t.store.currentSeq()).toBe(seq);
    expect(await t.store.listDevices(ana.networkId)).toHaveLength(508);

    await t.store.deleteDevice(devices[300]!.id, T0);
    await t.store.deleteDevice(devices[10]!.id, T0);
    expect((await register()).ipv4).toBe(devices[10]!.ipv4);
    expect((await register()).ipv4).toBe(devices[300]!.ipv4);
    await expect(register()).rejects.toThrow(code('address-exhausted'));
  });
});

describe.each(BACK_ENDS)(
  "address allocation never hands out the resolver's IPv6 address ($name)",
  (backEnd) => {
    // A pool an admin might type by mistake, holding 0.0.0.83: the device it would go to would get
    // PREFIX::53, where every device's own resolver answers.
    const t = withBackEnd(backEnd, { ipv4Pool: '0.0.0.64/26' });

    it('skips 0.0.0.83 to the end of the pool', async () => {
      const ana = await t.store.createUser({ name: 'ana' }, T0);
      const resolver = resolverIpv6((await t.store.getNetwork(ana.networkId)).ula);
      expect(resolver).toMatch(/::53$/);
      const devices: { ipv4: string; ipv6: string }[] = [];
      for (;;) {
        try {
          devices.push(await t.store.registerDevice({ ...identity(), userId: ana.id }, T0));
        } catch {
          break;
        }
      }
      // 64 addresses less the pool's ends and 0.0.0.83.
      expect(devices).toHaveLength(61);
      expect(devices.map((d) => d.ipv4)).not.toContain('0.0.0.83');
      expect(devices.map((d) => d.ipv6)).not.toContain(resolver);
      expect(devices.map((d) => d.ipv4)).toContain('0.0.0.84');
    });
  },
);
