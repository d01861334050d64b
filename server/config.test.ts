import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { main } from './main.js';
import { startPgCluster } from './store/test-support/pg-cluster.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function file(text: string): { path: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-config-'));
  dirs.push(dir);
  const path = join(dir, 'server.hujson');
  writeFileSync(path, text);
  return { path, dir };
}

describe('server config file', () => {
  it('reads HuJSON, resolving paths against the file', async () => {
    const { path, dir } = file(`{
      // the database beside this file
      "db": "data/burrow.db",
      "listen": "127.0.0.1:8080",
      "relays": [{"id": 1, "name": "home", "url": "https://relay.example.com", "stun": "203.0.113.1:3478"},],
      "policyFiles": [{"network": "family", "file": "family.hujson"}],
      "relayLimits": {"bytesPerSecond": 16777216, "maxQueueBytes": 2097152},
      "trustedProxies": ["10.0.0.0/8", "::1"],
      "controlLimits": {"handshakesPerSecond": 100, "unregisteredPerAddress": 500, "loginsPerMinute": 30},
      "dns": {
        "baseDomain": "Lan.Example.",
        "networks": [
          {"network": "family", "nameservers": ["10.1.0.53:53"], "searchDomains": ["corp.example"],
           "routes": [{"domain": "Corp.Example", "servers": ["10.1.0.53", "[fd00::53]:5353"]}], "override": true},
          {"network": "work"},
        ],
      },
    }`);
    expect(loadConfig(path)).toEqual({
      db: join(dir, 'data/burrow.db'),
      listen: '127.0.0.1:8080',
      relays: [{ id: 1, name: 'home', url: 'https://relay.example.com', stun: '203.0.113.1:3478' }],
      relayLimits: { bytesPerSecond: 16 << 20, maxQueueBytes: 2 << 20 },
      policyFiles: [{ network: 'family', file: join(dir, 'family.hujson') }],
      trustedProxies: ['10.0.0.0/8', '::1'],
      controlLimits: {
        handshakes: { perAddressPerSecond: 100 },
        strangers: { perAddress: 500 },
        logins: { perAddressPerMinute: 30 },
      },
      dns: {
        baseDomain: 'lan.example',
        networks: [
          {
            network: 'family',
            settings: {
              nameservers: ['10.1.0.53'],
              searchDomains: ['corp.example'],
              routes: [{ domain: 'corp.example', servers: ['10.1.0.53', '[fd00::53]:5353'] }],
              override: true,
            },
          },
          { network: 'work', settings: { nameservers: [], routes: [], searchDomains: [], override: false } },
        ],
      },
    });
    expect(loadConfig(file('{"db": "x"}').path)).toEqual({
      db: expect.any(String),
      relays: [],
      relayLimits: {},
      policyFiles: [],
      controlLimits: { handshakes: {}, strangers: {}, logins: {} },
      dns: { baseDomain: 'burrow.internal', networks: [] },
    });
  });

  it.each([
    ['an unknown key', '{"db": "x", "listn": "1"}', /config\.listn: unknown field/],
    ['no database', '{"listen": "127.0.0.1:1"}', /config\.db/],
    [
      'a relay without a URL scheme',
      '{"db": "x", "relays": [{"id": 1, "name": "a", "url": "relay"}]}',
      /config\.relays\[0\]\.url/,
    ],
    [
      'a relay id used twice',
      '{"db": "x", "relays": [{"id": 1, "name": "a", "url": "https://a"}, {"id": 1, "name": "b", "url": "https://b"}]}',
      /id 1 is used twice/,
    ],
    ['a region id out of range', '{"db": "x", "region": {"id": 0, "name": "east"}}', /config\.region\.id/],
    [
      'a region named as another relay region',
      '{"db": "x", "region": {"id": 2, "name": "west"}, "relays": [{"id": 1, "name": "west", "url": "https://a"}]}',
      /config\.region: the name "west" is relay region 1's/,
    ],
    [
      'a relay limit too small to carry a packet',
      '{"db": "x", "relayLimits": {"byteBurst": 1500}}',
      /config\.relayLimits\.byteBurst/,
    ],
    [
      'an unknown relay limit',
      '{"db": "x", "relayLimits": {"speed": 1}}',
      /config\.relayLimits\.speed: unknown field/,
    ],
    [
      'a trusted proxy that is not an address',
      '{"db": "x", "trustedProxies": ["127.0.0.1", "proxy.local"]}',
      /config\.trustedProxies\[1\]: "proxy\.local" is not a valid IP address or CIDR/,
    ],
    [
      'a limit of zero',
      '{"db": "x", "controlLimits": {"handshakeBurst": 0}}',
      /config\.controlLimits\.handshakeBurst/,
    ],
    [
      'a network with two policy files',
      '{"db": "x", "policyFiles": [{"network": "family", "file": "a"}, {"network": "Family", "file": "b"}]}',
      /config\.policyFiles: network "Family" has two files/,
    ],
    [
      'a base domain that is no DNS name',
      '{"db": "x", "dns": {"baseDomain": "burrow internal"}}',
      /config\.dns\.baseDomain: "burrow internal" is not a DNS name/,
    ],
    [
      'a bad name server',
      '{"db": "x", "dns": {"networks": [{"network": "a", "nameservers": ["10.0.0.1", "10.0.0.256"]}]}}',
      /config\.dns\.networks\[0\]\.nameservers\[1\]: "10\.0\.0\.256" is not a name server/,
    ],
    [
      'quad-100 as an upstream',
      '{"db": "x", "dns": {"networks": [{"network": "a", "routes": [{"domain": "corp.example", "servers": ["100.100.100.100"]}]}]}}',
      /config\.dns\.networks\[0\]\.routes\[0\]\.servers\[0\]: 100\.100\.100\.100 is the device's own Burrow resolver/,
    ],
    [
      'a route under the base domain',
      '{"db": "x", "dns": {"baseDomain": "lan.example", "networks": [{"network": "a", "routes": [{"domain": "x.lan.example", "servers": ["10.0.0.1"]}]}]}}',
      /config\.dns\.networks\[0\]\.routes\[0\]\.domain: x\.lan\.example is under the base domain/,
    ],
    [
      'override without name servers',
      '{"db": "x", "dns": {"networks": [{"network": "a", "override": true}]}}',
      /config\.dns\.networks\[0\]\.override: needs at least one name server/,
    ],
    [
      'a network listed twice',
      '{"db": "x", "dns": {"networks": [{"network": "a"}, {"network": "A"}]}}',
      /config\.dns\.networks\[1\]\.network: network "A" is listed twice/,
    ],
    [
      'an unknown DNS key',
      '{"db": "x", "dns": {"networks": [{"network": "a", "servers": []}]}}',
      /config\.dns\.networks\[0\]\.servers: unknown field/,
    ],
    ['broken HuJSON', '{"db": ', /server\.hujson/],
  ])('refuses %s, naming the file and the key', (_what, text, message) => {
    const { path } = file(text);
    expect(() => loadConfig(path)).toThrow(message);
    expect(() => loadConfig(path)).toThrow(path);
  });

  it("takes this instance's own relay region, which may also stand in the shared relays list", async () => {
    const { path } = file(`{
      "db": "x",
      "region": {"id": 2, "name": "east"},
      "relays": [{"id": 1, "name": "west", "url": "https://west.example"}, {"id": 2, "name": "east", "url": "https://east.example"}],
    }`);
    const config = loadConfig(path);
    expect(config.region).toEqual({ id: 2, name: 'east' });
    expect(config.relays.map((r) => r.id)).toEqual([1, 2]);
  });

  it("takes stunPort 0 for no STUN, and a host name for a relay region's STUN server", async () => {
    const config = loadConfig(
      file(
        '{"db": "x", "stunPort": 0, "relays": [{"id": 1, "name": "a", "url": "https://a", "stun": "stun.example.com:3478"}]}',
      ).path,
    );
    expect(config.stunPort).toBe(0);
    expect(config.relays[0]!.stun).toBe('stun.example.com:3478');
    expect(() => loadConfig(file('{"db": "x", "stunPort": -1}').path)).toThrow(/config\.stunPort/);
  });

  it('is taken by the admin commands in place of --db', async () => {
    const { path } = file('{"db": "burrow.db"}');
    let out = '';
    let err = '';
    const io = { out: (t: string) => (out += t), err: (t: string) => (err += t) };
    expect(await main(['users', 'create', 'alice', '--config', path], io)).toBe(0);
    expect(await main(['devices', 'list', '--json', '--config', path], io)).toBe(0);
    expect(out).toBe('alice\n[]\n');
    expect(await main(['users', 'create', 'bob', '--config', path, '--db', 'x.db'], io)).toBe(2);
    expect(err).toMatch(/--db PATH or --config FILE, not both/);
  });

  it('takes a PostgreSQL database URL instead of db, with the key file every instance shares', async () => {
    const pg = await startPgCluster();
    try {
      await pg.psql('CREATE DATABASE burrow');
      const url = `postgres://${pg.user}@/burrow?host=${encodeURIComponent(pg.dir)}`;
      const { path, dir } = file(`{"database": "${url}", "keyFile": "keys/server.key"}`);
      expect(loadConfig(path)).toMatchObject({ db: url, keyFile: join(dir, 'keys/server.key') });
      let out = '';
      const io = { out: (t: string) => (out += t), err: () => {} };
      expect(await main(['users', 'create', 'alice', '--config', path], io)).toBe(0);
      expect(await main(['devices', 'list', '--json', '--config', path], io)).toBe(0);
      expect(out).toBe('alice\n[]\n');
      expect(await pg.psql('SELECT name FROM users', 'burrow')).toBe('alice');
    } finally {
      await pg.stop();
    }
    expect(() => loadConfig(file('{"database": "postgres://db.example/burrow"}').path)).toThrow(
      /config\.keyFile: required with database/,
    );
    expect(() =>
      loadConfig(file('{"db": "x", "database": "postgres://db.example/burrow", "keyFile": "k"}').path),
    ).toThrow(/give db \(a SQLite file\) or database/);
    expect(() => loadConfig(file('{"database": "mysql://db.example/burrow", "keyFile": "k"}').path)).toThrow(
      /config\.database/,
    );
  });

  it('says which file it cannot read', async () => {
    expect(() => loadConfig('/nonexistent/burrow.hujson')).toThrow(
      /cannot read config \/nonexistent\/burrow\.hujson/,
    );
  });
});
