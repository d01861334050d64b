/**
 * A network's DNS settings and device names reach its devices through the real burrow-server
 * process: changed by the admin CLI (another process, on the same database) or by the config file
 * (at start and on SIGHUP), they arrive as a delta within a second, and only in that network.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../server/store/sqlite-store.js';
import { deviceNames } from '../../src/control/device-names.js';
import { afterTest, device, runCleanups, sleep, waitFor } from '../support/control-lab.js';
import { freePort } from '../support/ports.js';
import { BURROW_SERVER } from '../support/programs.js';
import { serverProcess } from '../support/server-process.js';

afterEach(runCleanups);

// The first start may compile the server; do it once, outside the timed tests.
beforeAll(async () => {
  await serverProcess();
  await runCleanups();
}, 180_000);

describe("a network's DNS settings over the control protocol", () => {
  it('reach the devices of the network within a second of an admin command, and no others', async () => {
    const server = await serverProcess();
    const { store } = server;
    const now = Date.now();
    const alice = await store.createUser(
      { name: 'alice', networkId: (await store.createNetwork({ name: 'family' }, now)).id },
      now,
    );
    const bob = await store.createUser({ name: 'bob' }, now);
    const key = async (userId: string) => (await store.createAuthKey({ userId, reusable: true }, now)).secret;
    const laptop = device(server.url, { hostname: 'laptop', authKey: await key(alice.id) });
    const cam = device(server.url, { hostname: 'webcam', authKey: await key(alice.id) });
    const pc = device(server.url, { hostname: 'pc', authKey: await key(bob.id) });
    for (const d of [laptop, cam, pc]) d.client.start();
    const map = await waitFor(
      'the laptop map with the webcam',
      () => laptop.client.netmap?.peers.length === 1 && laptop.client.netmap,
      30_000,
    );
    await waitFor('the pc map', () => pc.client.netmap, 30_000);
    const ula = (await store.findNetworkByName('family'))!.ula.replace(/::\/48$/, '');
    expect(map.dns).toEqual({
      baseDomain: 'burrow.internal',
      resolver: { ipv4: '100.100.100.100', ipv6: `${ula}::53` },
      nameservers: [],
      routes: [],
      searchDomains: ['family.burrow.internal'],
      override: false,
    });
    expect(deviceNames(map).map((n) => [n.short, n.fqdn])).toEqual([
      ['laptop', 'laptop.family.burrow.internal'],
      ['webcam', 'webcam.family.burrow.internal'],
    ]);

    const pcSeqs = pc.seqs.length;
    const set = await server.cli('dns', 'route', 'add', 'corp.example', '10.1.0.53', '--network', 'family');
    expect(set.code).toBe(0);
    const started = Date.now();
    const changed = await waitFor(
      'the new DNS settings',
      () => laptop.client.netmap?.dns?.routes.length === 1 && laptop.client.netmap,
      5000,
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(changed.dns!.routes).toEqual([{ domain: 'corp.example', servers: ['10.1.0.53'] }]);
    await waitFor('the webcam too', () => cam.client.netmap?.dns?.routes.length === 1);
    await sleep(300);
    expect(pc.seqs.length).toBe(pcSeqs); // bob's network heard nothing
    expect(pc.client.netmap!.dns!.routes).toEqual([]);

    // A rename reaches both names within a second too.
    expect((await server.cli('devices', 'rename', 'webcam', 'sloth-cam')).code).toBe(0);
    const renamedAt = Date.now();
    const renamed = await waitFor(
      'the new name',
      () => laptop.client.netmap?.peers[0]?.name === 'sloth-cam' && laptop.client.netmap,
      5000,
    );
    expect(Date.now() - renamedAt).toBeLessThan(1000);
    expect(deviceNames(renamed)[1]).toMatchObject({
      short: 'sloth-cam',
      fqdn: 'sloth-cam.family.burrow.internal',
    });
  }, 60_000);

  it('come from the config file at start and on SIGHUP, with its base domain', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-dns-config-'));
    afterTest(() => rmSync(dir, { recursive: true, force: true }));
    const db = join(dir, 'burrow.db');
    const store = openSqliteStore({ path: db });
    afterTest(() => store.close());
    const now = Date.now();
    const alice = await store.createUser(
      { name: 'alice', networkId: (await store.createNetwork({ name: 'family' }, now)).id },
      now,
    );
    const config = join(dir, 'server.hujson');
    const write = (nameservers: string[]) =>
      writeFileSync(
        config,
        JSON.stringify({
          db: 'burrow.db',
          dns: { baseDomain: 'lan.example', networks: [{ network: 'family', nameservers, override: true }] },
        }),
      );
    write(['10.9.0.53']);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let log = '';
    const proc = spawn(
      BURROW_SERVER,
      ['serve', '--config', config, '--listen', `127.0.0.1:${port}`, '--stun-port', '0'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    proc.stderr!.on('data', (b: Buffer) => (log += b.toString()));
    afterTest(async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    });
    await waitFor('burrow-server', () => /listening on/.test(log), 60_000);
    expect(log).toMatch(/DNS settings of network family set from the config file/);
    const laptop = device(url, {
      hostname: 'laptop',
      authKey: (await store.createAuthKey({ userId: alice.id }, now)).secret,
    });
    laptop.client.start();
    const map = await waitFor('the laptop map', () => laptop.client.netmap, 30_000);
    expect(map.dns).toMatchObject({
      baseDomain: 'lan.example',
      nameservers: ['10.9.0.53'],
      override: true,
      searchDomains: ['family.lan.example'],
    });

    write(['10.9.0.54']);
    proc.kill('SIGHUP');
    await waitFor(
      'the reloaded settings',
      () => laptop.client.netmap?.dns?.nameservers[0] === '10.9.0.54',
      5000,
    );

    // A file that does not pass changes nothing, and says why.
    writeFileSync(config, JSON.stringify({ db: 'burrow.db', dns: { networks: [{ network: 'nobody' }] } }));
    proc.kill('SIGHUP');
    await waitFor('the refusal', () =>
      /DNS settings not applied, the old ones stay: dns.networks\[0\]: no network "nobody"/.test(log),
    );
    expect((await store.getDnsSettings(alice.networkId)).nameservers).toEqual(['10.9.0.54']);
  }, 90_000);
});
