/**
 * A new user's first run, as README.md tells it: "A mesh by hand" (three commands on each device) and its password
 * sign-in, read from the README and run as written, with the real programs, on machines of their
 * own (support/lab-machine.ts: each its own network, host name, /var/lib, /run and /etc/hosts).
 *
 * The server sits on the lab LAN (which plays the internet) and is reached by a DNS name, SERVER,
 * which each device resolves through its own /etc/hosts. Laptop and desktop sit behind home
 * routers (masquerade, unsolicited inbound dropped: support/nat-router.ts) and must go direct. The
 * tablet joins by its user signing in, in a real Chromium on the tablet's network.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabMachine } from '../support/lab-machine.js';
import { MeshLab, type NatHost } from '../support/mesh-lab.js';
import { cleanupAll, isRoot, waitFor } from '../support/netns.js';
import { inPty } from '../support/pty.js';
import { commentOf, readmeCommands } from '../support/readme.js';

const T = 120_000;
const CHROMIUM = '/usr/bin/chromium';
const SERVER = 'burrow.lab.example';
const PASSWORD = 'sloths are fast';

describe.skipIf(!isRoot())("README: a new user's first run, as written", () => {
  let lab: MeshLab;
  let server: LabMachine;
  let key = '';
  const devices: { machine: LabMachine; host: NatHost }[] = [];
  const [serverBlock, deviceBlock, passwdBlock, loginBlock] = readmeCommands('A mesh by hand');
  /** A README line with its placeholders filled in, as the reader does. */
  const filled = (line: string) => line.replaceAll('SERVER', SERVER).replaceAll('KEY', key);

  /** Runs a README line to its end, or (ending in &) starts it and waits until `ready` says so. */
  async function follow(machine: LabMachine, line: string, ready?: (output: string) => boolean) {
    if (/\s&\s*(#.*)?$/.test(line)) {
      const job = machine.start(filled(line));
      await waitFor(
        `"${line}" on ${machine.name} to be ready`,
        async () => {
          if (job.process.exitCode !== null) throw new Error(`it exited: ${job.output()}`);
          return ready ? ready(job.output()) : true;
        },
        60_000,
      );
      return { code: 0, stdout: '', stderr: '' };
    }
    const result = await machine.run(filled(line));
    if (result.code !== 0) throw new Error(`"${line}" on ${machine.name} failed: ${result.stderr}`);
    return result;
  }

  /** A device: a machine behind a home router of its own, not yet running anything. */
  async function device(name: string) {
    const host = await lab.natHost(name, 'easy');
    const machine = await LabMachine.start(name, host.ns, lab.dir, [`${lab.serverIp} ${SERVER}`]);
    return { machine, host };
  }

  /** burrowd as the README starts it, ready when its LocalAPI answers. */
  async function startBurrowd(machine: LabMachine) {
    const [burrowdLine] = deviceBlock!;
    expect(burrowdLine).toMatch(/^\.\/bin\/burrowd &/);
    await follow(machine, burrowdLine!);
    await waitFor(
      `burrowd on ${machine.name}`,
      async () => (await machine.run('./bin/burrow status')).code === 0,
      60_000,
    );
  }

  beforeAll(async () => {
    expect(serverBlock, 'the server block').toBeDefined();
    expect(deviceBlock, 'the device block').toHaveLength(3);
    lab = await MeshLab.create();
    server = await LabMachine.start('server', lab.serverNs, lab.dir);
    for (const line of serverBlock!) {
      const result = await follow(server, line, (out) => out.includes('burrow-server listening on'));
      if (commentOf(line).includes('prints KEY')) key = result.stdout.trim();
    }
    expect(key).toMatch(/^bkey-/);
  }, 180_000);

  afterAll(async () => {
    await lab?.destroy();
    await cleanupAll();
  }, 60_000);

  it(
    'a mesh by hand, three commands on each device: two devices behind home routers join and reach each other directly',
    async () => {
      for (const name of ['laptop', 'desktop']) devices.push(await device(name));
      for (const { machine } of devices) {
        await startBurrowd(machine);
        for (const line of deviceBlock!.slice(1)) await follow(machine, line);
      }
      const [laptop, desktop] = devices as [(typeof devices)[0], (typeof devices)[0]];
      const statusLine = deviceBlock![2]!;
      await waitFor(
        'the laptop to list the desktop',
        async () => (await follow(laptop.machine, statusLine)).stdout.includes('desktop'),
        30_000,
      );
      const desktopIp = (await laptop.machine.run('./bin/burrow ip -4 desktop')).stdout.trim();
      expect(desktopIp).toMatch(/^100\./);
      const ping = await laptop.host.ns.exec('ping', ['-c', '3', '-W', '5', desktopIp]);
      expect(ping.stdout).toContain('3 received');
      // Direct, to the desktop's router's public address: through two NATs, not the relay.
      const direct = new RegExp(`desktop .* direct ${desktop.host.publicIp.replaceAll('.', '\\.')}:\\d+`);
      const status = await waitFor(
        'the laptop to show a direct path to the desktop',
        async () => {
          await laptop.host.ns.exec('ping', ['-c', '1', '-W', '1', desktopIp]).catch(() => undefined);
          const { stdout } = await follow(laptop.machine, statusLine);
          return direct.test(stdout) && stdout;
        },
        20_000,
      );
      expect(status).toMatch(/^100\.\S+\s+laptop\s+laptop\.alice\.burrow\.internal\s+alice\s+-$/m);
    },
    T,
  );

  it(
    'signing in with a password: the admin sets it at a terminal, the user signs in in a browser',
    async () => {
      expect(passwdBlock).toHaveLength(1);
      expect(loginBlock).toHaveLength(1);
      // The admin, at a terminal on the server.
      const terminal = inPty(server.shellCommand(filled(passwdBlock![0]!)));
      let at = await terminal.waitFor('New password for alice: ');
      terminal.type(`${PASSWORD}\r`);
      at = await terminal.waitFor('Again: ', at);
      terminal.type(`${PASSWORD}\r`);
      expect(await terminal.exited).toBe(0);
      expect(terminal.screen()).toContain('password of alice set');
      expect(terminal.screen()).not.toContain(PASSWORD);

      // The user, on a new device: burrow up prints a sign-in URL and waits.
      const tablet = await device('tablet');
      await startBurrowd(tablet.machine);
      const up = tablet.machine.start(filled(loginBlock![0]!));
      const url = await waitFor(
        'the sign-in URL',
        async () => /To authenticate, visit:\s+(\S+)/.exec(up.output())?.[1],
        30_000,
      );
      expect(url.startsWith(`http://${SERVER}:8080/login/`)).toBe(true);

      // The browser, on the tablet's network, resolving SERVER as the tablet does.
      const browserBin = join(lab.dir, 'chromium-on-tablet');
      writeFileSync(browserBin, `#!/bin/sh\nexec ip netns exec ${tablet.host.ns.name} ${CHROMIUM} "$@"\n`, {
        mode: 0o755,
      });
      let browser: Browser | undefined;
      try {
        browser = await chromium.launch({
          executablePath: browserBin,
          args: ['--no-sandbox', `--host-resolver-rules=MAP ${SERVER} ${lab.serverIp}`],
        });
        const page = await browser.newPage();
        await page.goto(url);
        await expect.poll(() => page.locator('h1').textContent()).toBe('Add tablet to your network?');
        await page.getByLabel('Name').fill('alice');
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Sign in and add tablet' }).click();
        await expect.poll(() => page.locator('h1').textContent()).toBe('tablet is now on your network.');
      } finally {
        await browser?.close();
      }
      expect(await up.exited).toBe(0);
      const status = (await tablet.machine.run(deviceBlock![2]!)).stdout;
      expect(status).toMatch(/^100\.\S+\s+tablet\s+tablet\.alice\.burrow\.internal\s+alice\s+-$/m);
      await waitFor(
        'the laptop to list the tablet',
        async () => (await devices[0]!.machine.run('./bin/burrow status')).stdout.includes('tablet'),
        20_000,
      );
    },
    T,
  );
});
