/**
 * burrow-server's unit, sample config, install-server.sh and uninstall-server.sh, run for real into
 * a scratch root (DESTDIR) without systemctl.
 */
import { copyFileSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { DEFAULT_HANDSHAKE_LIMITS } from '../../server/control/listener.js';
import { DEFAULT_LOGIN_LIMITS } from '../../server/coordinator/pending-logins.js';
import { DEFAULT_STRANGER_LIMITS } from '../../server/coordinator/strangers.js';
import {
  COMMON_HARDENING,
  directives,
  fakePackage,
  files,
  INSTALL_SERVER,
  linkOf,
  listing,
  modeOf,
  ok,
  read,
  removeTempDirs,
  run,
  SAMPLE_CONFIG,
  SERVER_UNIT,
  systemRoot,
  tempDir,
  UNINSTALL_SERVER,
  verifyUnit,
  writeFile,
} from '../support/install-lab.js';

afterAll(removeTempDirs);

describe('burrow-server: unit, sample config, install-server.sh and uninstall-server.sh', () => {
  const unitText = readFileSync(SERVER_UNIT, 'utf8');
  const unit = directives(unitText);
  const SERVER_FILES = ['burrow-server', 'better_sqlite3.node'];

  it('the unit runs the server with no privilege, reloading policies on SIGHUP', () => {
    expect(Object.fromEntries(unit)).toMatchObject({
      ...COMMON_HARDENING,
      ExecStart: '/usr/local/lib/burrow-server/burrow-server serve --config /etc/burrow-server/config.hujson',
      ExecReload: '/bin/kill -HUP $MAINPID',
      DynamicUser: 'yes',
      User: 'burrow-server',
      StateDirectory: 'burrow-server',
      PrivateDevices: 'yes',
      ProtectKernelTunables: 'yes',
      RestartPreventExitStatus: '2',
      RestrictAddressFamilies: 'AF_UNIX AF_INET AF_INET6',
    });
    expect(unit.has('MemoryDenyWriteExecute')).toBe(false);
  });

  it('the sample config loads, with its commented-out examples too, and fits the unit', () => {
    const dir = tempDir('burrow-config-');
    copyFileSync(SAMPLE_CONFIG, join(dir, 'config.hujson'));
    const config = loadConfig(join(dir, 'config.hujson'));
    expect(config).toEqual({
      db: '/var/lib/burrow-server/burrow.db',
      listen: '0.0.0.0:8080',
      publicUrl: 'https://burrow.example.com',
      stunPort: 3478,
      relays: [],
      relayLimits: {},
      policyFiles: [],
      controlLimits: { handshakes: {}, strangers: {}, logins: {} },
      dns: { baseDomain: 'burrow.internal', networks: [] },
    });

    // Every key the loader knows is shown, and each example is right.
    const text = readFileSync(SAMPLE_CONFIG, 'utf8');
    const uncommented = text.replace(/^(\s*)\/\/(\s*)(?=["{}[\]])/gm, '$1$2');
    writeFileSync(join(dir, 'examples.hujson'), uncommented);
    const full = loadConfig(join(dir, 'examples.hujson'));
    expect(full.relays).toEqual([
      { id: 1, name: 'home', url: 'https://relay.example.com', stun: '203.0.113.1:3478' },
    ]);
    expect(full.relayLimits).toEqual({ bytesPerSecond: 16 << 20, maxQueueBytes: 2 << 20 });
    expect(full.policyFiles).toEqual([{ network: 'family', file: join(dir, 'family.hujson') }]);
    expect(full.trustedProxies).toEqual(['127.0.0.1', '::1', '10.0.0.5']);
    expect(full.dns).toEqual({
      baseDomain: 'burrow.internal',
      networks: [
        {
          network: 'family',
          settings: {
            nameservers: ['10.1.0.53'],
            searchDomains: ['corp.example'],
            routes: [{ domain: 'corp.example', servers: ['10.1.0.53'] }],
            override: false,
          },
        },
      ],
    });
    // The limits shown are the defaults.
    expect(full.controlLimits).toEqual({
      handshakes: {
        perAddressPerSecond: DEFAULT_HANDSHAKE_LIMITS.perAddressPerSecond,
        perAddressBurst: DEFAULT_HANDSHAKE_LIMITS.perAddressBurst,
      },
      strangers: { perAddress: DEFAULT_STRANGER_LIMITS.perAddress },
      logins: {
        perAddressPerMinute: DEFAULT_LOGIN_LIMITS.perAddressPerMinute,
        perAddressBurst: DEFAULT_LOGIN_LIMITS.perAddressBurst,
        maxPending: DEFAULT_LOGIN_LIMITS.maxPending,
      },
    });

    // The database is where the service may write; the ports need no capability.
    expect(dirname(config.db)).toBe(`/var/lib/${unit.get('StateDirectory')}`);
    const port = Number(config.listen!.split(':').at(-1));
    expect(port).toBeGreaterThanOrEqual(1024);
    expect(config.stunPort).toBeGreaterThanOrEqual(1024);
    expect(unit.get('CapabilityBoundingSet')).toBe('');
    expect(unit.get('AmbientCapabilities')).toBe('');
  });

  it('installs the server, its link, unit and config; the uninstall leaves nothing behind', () => {
    const root = systemRoot();
    const pkg = fakePackage(SERVER_FILES);
    const before = listing(root);
    const out = ok(INSTALL_SERVER, { ...files(root), BURROW_SERVER_DIR: pkg });
    expect(out).toContain('wrote the sample config /etc/burrow-server/config.hujson');
    const lib = 'usr/local/lib/burrow-server';
    expect(readdirSync(join(root, lib)).sort()).toEqual([
      'better_sqlite3.node',
      'burrow-server',
      'config.sample.hujson',
      'uninstall-server.sh',
    ]);
    expect(modeOf(root, `${lib}/burrow-server`)).toBe(0o755);
    expect(modeOf(root, `${lib}/better_sqlite3.node`)).toBe(0o644);
    expect(linkOf(root, 'usr/local/bin/burrow-server')).toBe('/usr/local/lib/burrow-server/burrow-server');
    expect(read(root, 'etc/systemd/system/burrow-server.service')).toBe(unitText);
    expect(modeOf(root, 'etc/systemd/system/burrow-server.service')).toBe(0o644);
    expect(read(root, 'etc/burrow-server/config.hujson')).toBe(readFileSync(SAMPLE_CONFIG, 'utf8'));
    expect(modeOf(root, 'etc/burrow-server/config.hujson')).toBe(0o644);

    const again = listing(root);
    expect(ok(INSTALL_SERVER, { ...files(root), BURROW_SERVER_DIR: pkg })).toContain(
      'kept /etc/burrow-server/config.hujson',
    );
    expect(listing(root)).toEqual(again);

    ok(UNINSTALL_SERVER, files(root));
    expect(listing(root)).toEqual(before);
    ok(UNINSTALL_SERVER, files(root));
    expect(listing(root)).toEqual(before);
  });

  it('never overwrites a config, keeps an edited one on uninstall, and purge takes it and the state', () => {
    const root = systemRoot();
    const before = listing(root);
    writeFile(join(root, 'etc/burrow-server/config.hujson'), '{ "db": "mine.db" }\n', 0o640);
    ok(INSTALL_SERVER, { ...files(root), BURROW_SERVER_DIR: fakePackage(SERVER_FILES) });
    expect(read(root, 'etc/burrow-server/config.hujson')).toBe('{ "db": "mine.db" }\n');
    // What the running service would have made (DynamicUser: the state is in /var/lib/private).
    writeFile(join(root, 'var/lib/private/burrow-server/burrow.db'), 'db', 0o600);
    symlinkSync('private/burrow-server', join(root, 'var/lib/burrow-server'));
    writeFile(join(root, 'etc/burrow-server/family.hujson'), '{}\n', 0o644);

    expect(ok(UNINSTALL_SERVER, files(root))).toContain('kept /etc/burrow-server/config.hujson (edited');
    expect(read(root, 'etc/burrow-server/family.hujson')).toBe('{}\n');
    expect(read(root, 'var/lib/private/burrow-server/burrow.db')).toBe('db');

    rmSync(join(root, 'etc/burrow-server/family.hujson'));
    ok(UNINSTALL_SERVER, { ...files(root), BURROW_PURGE: '1' });
    rmSync(join(root, 'var/lib/private'), { recursive: true }); // made above, by the "service"
    expect(listing(root)).toEqual(before);
  });

  it.each([
    ['no BURROW_SERVER_DIR', {}, 'BURROW_SERVER_DIR is not set'],
    ['a relative BURROW_SERVER_DIR', { BURROW_SERVER_DIR: 'dist/package/server' }, 'is not an absolute path'],
    ['no burrow-server in it', { BURROW_SERVER_DIR: 'PKG' }, 'has no executable burrow-server'],
    [
      'a DESTDIR with systemctl',
      { BURROW_SERVER_DIR: 'PKG', BURROW_INSTALL_NO_SYSTEMCTL: '' },
      'DESTDIR is set',
    ],
  ])('install-server.sh refuses %s with a clear message, writing nothing', (_, env, message) => {
    const root = systemRoot();
    const pkg = fakePackage(['better_sqlite3.node']);
    const before = listing(root);
    const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace('PKG', pkg)]));
    const result = run(INSTALL_SERVER, { ...files(root), ...resolved });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^install-server: .*${message}`, 'm'));
    expect(listing(root)).toEqual(before);
  });

  it('systemd-analyze verify accepts the unit without a word', () => {
    const root = systemRoot();
    ok(INSTALL_SERVER, { ...files(root), BURROW_SERVER_DIR: fakePackage(SERVER_FILES) });
    expect(verifyUnit(root, unitText, 'burrow-server.service')).toEqual({ status: 0, output: '' });
  });
});
