import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { openSqliteStore } from '../store/sqlite-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The admin commands on a real SQLite file, with --db, or --config FILE when given. */
function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-server-dns-'));
  dirs.push(dir);
  const db = join(dir, 'burrow.db');
  const runWith = async (where: string[], ...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await main(
      [...argv, ...where],
      { out: (t) => (out += t), err: (t) => (err += t) },
      1_800_000_000_000,
    );
    return { code, out, err };
  };
  const run = async (...argv: string[]) => await runWith(['--db', db], ...argv);
  const settings = async (network: string) => {
    const store = openSqliteStore({ path: db });
    try {
      return await store.getDnsSettings((await store.findNetworkByName(network))!.id);
    } finally {
      await store.close();
    }
  };
  return { db, dir, run, runWith, settings };
}

describe('burrow-server dns', () => {
  it('sets name servers, search domains, routes and override, and shows what devices get', async () => {
    const { run, settings } = setup();
    await run('users', 'create', 'alice', '--network', 'family');
    const set = await run(
      'dns',
      'set',
      '--nameservers',
      '10.1.0.53, 9.9.9.9:5353',
      '--search-domains',
      'corp.example',
    );
    expect(set.code).toBe(0);
    expect(set.err).toBe('DNS settings of network family updated\n');
    expect((await run('dns', 'route', 'add', 'Corp.Example.', '10.1.0.53', '[fd00::53]:5353')).code).toBe(0);
    expect((await run('dns', 'route', 'add', 'lab.example', '10.2.0.53')).code).toBe(0);
    expect((await run('dns', 'set', '--override', 'true')).code).toBe(0);
    expect(await settings('family')).toMatchObject({
      nameservers: ['10.1.0.53', '9.9.9.9:5353'],
      searchDomains: ['corp.example'],
      routes: [
        { domain: 'corp.example', servers: ['10.1.0.53', '[fd00::53]:5353'] },
        { domain: 'lab.example', servers: ['10.2.0.53'] },
      ],
      override: true,
    });
    const show = await run('dns', 'show');
    expect(show.code).toBe(0);
    expect(show.out).toMatch(/^network family\n/);
    expect(show.out).toMatch(
      /device names: +HOST and HOST\.family\.burrow\.internal \(base domain: the default/,
    );
    expect(show.out).toMatch(/resolver: +100\.100\.100\.100 and fd[0-9a-f:]+::53, on each device/);
    expect(show.out).toMatch(/name servers: +10\.1\.0\.53, 9\.9\.9\.9:5353\n/);
    expect(show.out).toMatch(/for every name: +yes/);
    expect(show.out).toMatch(/search domains: +family\.burrow\.internal, corp\.example\n/);
    expect(show.out).toMatch(
      /\n {4}corp\.example {2}10\.1\.0\.53, \[fd00::53\]:5353\n {4}lab\.example {3}10\.2\.0\.53\n$/,
    );
    const json = JSON.parse((await run('dns', 'show', '--json')).out);
    expect(json).toMatchObject({
      network: 'family',
      baseDomain: 'burrow.internal',
      resolver: { ipv4: '100.100.100.100', ipv6: expect.stringMatching(/^fd.*::53$/) },
      searchDomains: ['family.burrow.internal', 'corp.example'],
      override: true,
      updatedAt: 1_800_000_000_000,
    });

    // A route replaced, one removed, a list cleared, everything cleared.
    expect((await run('dns', 'route', 'add', 'lab.example', '10.2.0.54')).code).toBe(0);
    expect((await run('dns', 'route', 'remove', 'corp.example.')).code).toBe(0);
    expect((await settings('family')).routes).toEqual([{ domain: 'lab.example', servers: ['10.2.0.54'] }]);
    expect(await run('dns', 'route', 'remove', 'corp.example')).toMatchObject({
      code: 1,
      err: 'burrow-server: network family has no route for corp.example\n',
    });
    expect((await run('dns', 'set', '--search-domains', '')).code).toBe(0);
    expect((await settings('family')).searchDomains).toEqual([]);
    expect((await run('dns', 'clear')).code).toBe(0);
    expect(await settings('family')).toMatchObject({
      nameservers: [],
      routes: [],
      searchDomains: [],
      override: false,
    });
  });

  it('refuses bad settings with the reason, changing nothing', async () => {
    const { run, settings } = setup();
    await run('users', 'create', 'alice', '--network', 'family');
    await run('dns', 'set', '--nameservers', '10.1.0.53');
    const before = await settings('family');
    const ula = JSON.parse((await run('dns', 'show', '--json')).out).resolver.ipv6 as string;
    const refusals: [string[], RegExp][] = [
      [
        ['dns', 'set', '--nameservers', '10.1.0.1,100.100.100.100'],
        /nameservers\[1\]: 100\.100\.100\.100 is the device's own Burrow resolver/,
      ],
      [
        ['dns', 'route', 'add', 'corp.example', ula],
        /routes\[0\]\.servers\[0\]: .*::53 is the device's own Burrow resolver/,
      ],
      [
        ['dns', 'set', '--nameservers', 'dns.example'],
        /nameservers\[0\]: "dns\.example" is not a name server/,
      ],
      [
        ['dns', 'route', 'add', 'corp_example', '10.0.0.1'],
        /routes\[0\]\.domain: "corp_example" is not a DNS name/,
      ],
      [
        ['dns', 'route', 'add', 'nas.family.burrow.internal', '10.0.0.1'],
        /under the base domain burrow\.internal/,
      ],
      [['dns', 'set', '--nameservers', '', '--override', 'true'], /override: needs at least one name server/],
      [['dns', 'set', '--search-domains', 'a..b'], /searchDomains\[0\]: "a\.\.b" is not a DNS name/],
    ];
    for (const [argv, message] of refusals) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.err).toMatch(message);
    }
    expect(await settings('family')).toEqual(before);
  });

  it('says how it is used: --help, usage errors with exit 2, and which network when there are several', async () => {
    const { run } = setup();
    const help = await run('dns', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^usage: burrow-server dns COMMAND/);
    expect(help.out).toMatch(/--override true +use those name servers for every name/);
    expect((await run('dns')).out).toBe(help.out);
    expect((await run('--help')).out).toMatch(/dns show \| set \| route add/);
    const usage = (r: { code: number; err: string }, message: RegExp) => {
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err).toMatch(/usage: burrow-server dns COMMAND/);
    };
    usage(await run('dns', 'frobnicate'), /unknown command "dns frobnicate"/);
    usage(await run('dns', 'set'), /give --nameservers, --search-domains or --override/);
    usage(await run('dns', 'set', '--override', 'yes'), /--override: "yes" is neither true nor false/);
    usage(await run('dns', 'show', '--override', 'true'), /dns show: --override does not apply/);
    usage(
      await run('dns', 'route', 'add', 'corp.example'),
      /dns route: add DOMAIN SERVER\.\.\. or remove DOMAIN/,
    );
    expect(await run('dns', 'show')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/there are no networks yet/),
    });
    await run('users', 'create', 'alice');
    await run('users', 'create', 'bob');
    expect((await run('dns', 'show')).err).toMatch(/several networks exist; add --network NET/);
    expect((await run('dns', 'show', '--network', 'carol')).err).toMatch(/no network "carol"/);
    expect((await run('dns', 'set', '--nameservers', '10.0.0.1', '--network', 'bob')).code).toBe(0);
    expect((await run('dns', 'show', '--network', 'alice')).out).toMatch(/name servers: +-\n/);
  });

  it("with --config: checks routes against the file's base domain, and warns when the file sets the network", async () => {
    const { dir, runWith, settings } = setup();
    const config = join(dir, 'server.hujson');
    writeFileSync(
      config,
      '{"db": "burrow.db", "dns": {"baseDomain": "lan.example", "networks": [{"network": "family", "nameservers": ["10.9.0.53"]}]}}',
    );
    const run = async (...argv: string[]) => await runWith(['--config', config], ...argv);
    await run('users', 'create', 'alice', '--network', 'family');
    expect((await run('dns', 'show')).out).toMatch(/device names: +HOST and HOST\.family\.lan\.example\n/);
    expect((await run('dns', 'route', 'add', 'x.lan.example', '10.0.0.1')).err).toMatch(
      /under the base domain lan\.example/,
    );
    const set = await run('dns', 'route', 'add', 'nas.family.burrow.internal', '10.0.0.1');
    expect(set.code).toBe(0);
    expect(set.err).toMatch(/note: the config file sets network family's DNS settings/);
    expect((await settings('family')).routes).toHaveLength(1);
  });
});
