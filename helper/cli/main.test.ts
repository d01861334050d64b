import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { LocalApiError } from '../localapi/server.js';
import { callsOf, PREFS, runCleanups, runCli, STATUS, startFakeBurrowd } from './testing.js';

afterEach(runCleanups);

describe('burrow against a LocalAPI', () => {
  it('says burrowd is not running when nothing listens on the socket', async () => {
    const result = await runCli(['--socket', '/nonexistent/burrowd.sock', 'status']);
    expect(result).toEqual({
      code: 1,
      out: '',
      err: 'burrow: burrowd is not running (no LocalAPI at /nonexistent/burrowd.sock)\n',
    });
  });

  it("passes burrowd's refusal on (a non-operator changing prefs) with exit 1", async () => {
    const fake = await startFakeBurrowd();
    const refusal = 'setPrefs changes burrowd: only root or the operator user may call it';
    fake.handlers.setPrefs = () => {
      throw new LocalApiError(403, refusal);
    };
    expect(await fake.run('set', '--shields-up')).toEqual({ code: 1, out: '', err: `burrow: ${refusal}\n` });
  });

  it('set sends only the fields given; an empty value clears', async () => {
    const fake = await startFakeBurrowd();
    expect(await fake.run('set', '--shields-up', '--advertise-routes=10.0.0.0/8,192.168.1.0/24')).toEqual({
      code: 0,
      out: '',
      err: '',
    });
    await fake.run('set', '--exit-node=', '--hostname=', '--accept-routes=false', '--accept-dns=false');
    const json = await fake.run('--json', 'set', '--exit-node', 'exit1', '--exit-node-allow-lan-access=true');
    expect(callsOf(fake, 'setPrefs')).toEqual([
      { shieldsUp: true, advertiseRoutes: ['10.0.0.0/8', '192.168.1.0/24'] },
      { exitNode: null, hostname: null, acceptRoutes: false, acceptDns: false },
      { exitNode: 'exit1', exitNodeAllowLanAccess: true },
    ]);
    expect(JSON.parse(json.out)).toEqual({ ...PREFS, exitNode: 'n-exit', exitNodeAllowLanAccess: true });
  });

  it('status prints self first, peers by the name that resolves, with full names and state, then health', async () => {
    const fake = await startFakeBurrowd();
    const result = await fake.run('status');
    expect(result.code).toBe(0);
    expect(result.out).toBe(
      [
        '100.64.0.1  laptop      laptop.home.burrow.internal  alice  -',
        '100.64.0.4  exit1       exit1.home.burrow.internal   alice  exit node; relay "fra"; 31 ms',
        '100.64.0.3  phone       phone.home.burrow.internal   alice  offline',
        '100.64.0.2  server      server.home.burrow.internal  alice  direct 192.0.2.10:41641; 2 ms; found by STUN',
        '100.64.0.9  server-bob  server.bob.burrow.internal   bob    shared',
        '',
        '# Health check:',
        '#     - no route to relay region 1 (fra)',
        '',
      ].join('\n'),
    );
    expect(JSON.parse((await fake.run('status', '--json')).out)).toEqual(STATUS);
  });

  it('status says when burrowd is not connected, with the login URL', async () => {
    const fake = await startFakeBurrowd();
    const authUrl = 'https://burrow.example.com/a/xyz';
    fake.handlers.status = () => ({
      ...STATUS,
      backendState: 'needs-login',
      authUrl,
      self: null,
      health: [],
    });
    expect((await fake.run('status')).out).toBe(`Logged out.\nLog in at: ${authUrl}\n`);
  });

  it('status says who may log in when burrowd withholds the login URL', async () => {
    const fake = await startFakeBurrowd();
    fake.handlers.status = () => ({ ...STATUS, backendState: 'needs-login', self: null, health: [] });
    expect((await fake.run('status')).out).toBe(
      "Logged out.\nLog in with `burrow up`, as root or burrowd's operator (only they see the login URL).\n",
    );
  });

  it("ip prints this device's addresses or a peer's, of one family with -4/-6", async () => {
    const fake = await startFakeBurrowd();
    expect((await fake.run('ip')).out).toBe('100.64.0.1\nfd7a:115c:a1e0::1\n');
    expect((await fake.run('ip', '-4', 'server')).out).toBe('100.64.0.2\n');
    expect((await fake.run('ip', '-6', 'server.home.burrow.internal.')).out).toBe('fd7a:115c:a1e0::2\n');
    // A shared device by its short or full name; its host name alone is the own device's.
    expect((await fake.run('ip', 'server-bob')).out).toBe('100.64.0.9\n');
    expect((await fake.run('ip', 'server.bob.burrow.internal')).out).toBe('100.64.0.9\n');
    expect(JSON.parse((await fake.run('ip', '-4', '--json')).out)).toEqual({ ips: ['100.64.0.1'] });
    expect(await fake.run('ip', '-6', 'phone')).toEqual({
      code: 1,
      out: '',
      err: 'burrow: phone has no IPv6 address\n',
    });
    expect((await fake.run('ip', 'ghost')).err).toBe('burrow: no peer "ghost"\n');
  });

  it('ping prints a line per pong and succeeds', async () => {
    const fake = await startFakeBurrowd();
    const result = await fake.run('ping', 'server', '-c', '3');
    expect(result.code).toBe(0);
    expect(result.out).toBe('pong from server (100.64.0.2) via 192.0.2.10:41641 in 3 ms\n'.repeat(3));
    expect(callsOf(fake, 'ping')).toEqual([{ peer: 'server' }, { peer: 'server' }, { peer: 'server' }]);
  });

  it('ping says when a reply came through the relay, and which region', async () => {
    const fake = await startFakeBurrowd();
    fake.handlers.ping = () => ({
      peer: 'exit1',
      ip: '100.64.0.4',
      ms: 31,
      path: 'relay',
      endpoint: null,
      relay: 'fra',
    });
    expect((await fake.run('ping', 'exit1')).out).toBe(
      'pong from exit1 (100.64.0.4) via relay "fra" in 31 ms\n',
    );
  });

  it('ping fails with exit 1 when no pong comes, and succeeds if one of several does', async () => {
    const fake = await startFakeBurrowd();
    const pong = fake.handlers.ping;
    fake.handlers.ping = () => {
      throw new LocalApiError(504, 'no pong from server within 5000 ms');
    };
    const none = await fake.run('ping', 'server', '-c', '2');
    const timeout = 'ping server: no pong from server within 5000 ms\n';
    expect(none).toEqual({ code: 1, out: '', err: `${timeout}${timeout}burrow: no pong from server\n` });
    let tries = 0;
    fake.handlers.ping = (req, caller) => {
      if (tries++ === 0) throw new LocalApiError(504, 'no pong from server within 5000 ms');
      return pong(req, caller);
    };
    expect((await fake.run('ping', 'server', '-c', '2')).code).toBe(0);
  });

  it('ping stops at once when burrowd refuses the request itself', async () => {
    const fake = await startFakeBurrowd();
    fake.handlers.ping = () => {
      throw new LocalApiError(404, 'no peer "ghost"');
    };
    expect(await fake.run('ping', 'ghost', '-c', '5')).toEqual({
      code: 1,
      out: '',
      err: 'burrow: no peer "ghost"\n',
    });
    expect(callsOf(fake, 'ping')).toHaveLength(1);
  });

  it('up sends its flags, with the auth key read from a file', async () => {
    const fake = await startFakeBurrowd();
    const dir = mkdtempSync(join(tmpdir(), 'burrow-key-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'key'), 'bk-secret\n');
    const result = await fake.run(
      'up',
      '--login-server=https://burrow.example.com, https://b.burrow.example.com:8443',
      `--auth-key=file:${join(dir, 'key')}`,
      '--hostname',
      'laptop',
      '--advertise-routes',
      '10.1.0.0/16',
      '--advertise-exit-node',
      '--accept-routes',
      '--accept-dns=false',
    );
    expect(result).toEqual({ code: 0, out: '', err: '' });
    expect(callsOf(fake, 'up')).toEqual([
      {
        controlUrl: 'https://burrow.example.com,https://b.burrow.example.com:8443', // several instances
        authKey: 'bk-secret',
        hostname: 'laptop',
        advertiseRoutes: ['10.1.0.0/16'],
        advertiseExitNode: true,
        acceptRoutes: true,
        acceptDns: false,
      },
    ]);
    const missing = await fake.run('up', `--auth-key=file:${join(dir, 'nope')}`);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^burrow: --auth-key: cannot read .*nope: ENOENT/);
  });

  it('up shows the login URL and returns once an event says running', async () => {
    const fake = await startFakeBurrowd();
    const authUrl = 'https://burrow.example.com/a/xyz';
    fake.handlers.up = () => ({ backendState: 'needs-login', authUrl });
    fake.state = { type: 'state', backendState: 'needs-login', authUrl };
    const up = fake.run('up');
    await vi.waitFor(() => expect(fake.subscribers()).toBe(1));
    fake.emit({ type: 'netmap', status: STATUS });
    fake.emit({ type: 'state', backendState: 'running', authUrl: null });
    expect(await up).toEqual({
      code: 0,
      out: '',
      err: `To authenticate, visit:\n\n\t${authUrl}\nSuccess.\n`,
    });
    await vi.waitFor(() => expect(fake.subscribers()).toBe(0));
  });

  it('up --json prints each new state as a line; --timeout gives up with exit 1', async () => {
    const fake = await startFakeBurrowd();
    const authUrl = 'https://burrow.example.com/a/xyz';
    fake.handlers.up = () => ({ backendState: 'starting', authUrl: null });
    fake.state = { type: 'state', backendState: 'starting', authUrl: null };
    const up = fake.run('up', '--json');
    await vi.waitFor(() => expect(fake.subscribers()).toBe(1));
    fake.emit({ type: 'state', backendState: 'needs-login', authUrl });
    fake.emit({ type: 'state', backendState: 'running', authUrl: null });
    const lines = (await up).out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { backendState: 'starting', authUrl: null },
      { backendState: 'needs-login', authUrl },
      { backendState: 'running', authUrl: null },
    ]);
    expect(await fake.run('up', '--timeout', '200ms')).toEqual({
      code: 1,
      out: '',
      err: 'burrow: not up after 200ms (burrowd is starting)\n',
    });
  });

  it('down and logout say nothing on success, and print the answer with --json', async () => {
    const fake = await startFakeBurrowd();
    expect(await fake.run('down')).toEqual({ code: 0, out: '', err: '' });
    expect(JSON.parse((await fake.run('logout', '--json')).out)).toEqual({ backendState: 'needs-login' });
    expect(fake.calls.map((c) => c.name)).toEqual(['down', 'logout']);
  });

  it('exit-node list marks the selected one', async () => {
    const fake = await startFakeBurrowd();
    expect((await fake.run('exit-node', 'list')).out).toBe(
      'IP          HOSTNAME  STATUS\n100.64.0.4  exit1     selected\n100.64.0.5  exit2     offline\n',
    );
  });

  it("version prints the CLI's version and burrowd's", async () => {
    const fake = await startFakeBurrowd();
    expect(await fake.run('version')).toEqual({
      code: 0,
      out: 'burrow 0.1.0\nburrowd 0.1.0-burrowd\n',
      err: '',
    });
    expect(JSON.parse((await fake.run('version', '--json')).out)).toEqual({
      cli: '0.1.0',
      burrowd: '0.1.0-burrowd',
    });
  });
});
