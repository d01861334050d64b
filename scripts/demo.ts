/**
 * `npm run demo` (as root): a whole Burrow network on this machine. burrow-server on SQLite, three
 * devices in their own network namespaces on one LAN, each running burrowd:
 *   laptop (alice) and webcam (bob) in the network "home"; phone (carol) in a network of her own.
 * The webcam serves the sloth webcam on port 80 and bob shares it with carol. The UI runs in
 * Electron where it is available, otherwise in web mode, for the laptop, at the URL printed.
 * Ctrl-C removes everything it made (namespaces, processes, files). DEMO_SECONDS=N stops by itself.
 * Without root it runs the protocol-core demo (scripts/demo-core.ts) instead.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MeshLab } from '../test/support/mesh-lab.js';
import { cleanupAll, isRoot, waitFor } from '../test/support/netns.js';
import { BURROW } from '../test/support/programs.js';
import { REPO } from '../test/support/wg-peers.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

async function run(): Promise<void> {
  say('building the UI...');
  await promisify(execFile)(join(REPO, 'node_modules/.bin/tsx'), [join(REPO, 'scripts/build-ui.ts')], {
    cwd: REPO,
  });
  const lab = await MeshLab.create();
  let web: ChildProcess | undefined;
  const stop = async () => {
    web?.kill();
    await lab.destroy();
    await cleanupAll();
  };
  try {
    await lab.admin('users', 'create', 'alice', '--network', 'home');
    await lab.admin('users', 'create', 'bob', '--network', 'home');
    await lab.admin('users', 'create', 'carol');
    await lab.startServer();
    say(`burrow-server on ${lab.serverUrl} (database ${lab.db})`);
    const [laptop, webcam, phone] = await Promise.all(
      ['laptop', 'webcam', 'phone'].map((n) => lab.device(n)),
    );
    for (const [device, user] of [
      [laptop!, 'alice'],
      [webcam!, 'bob'],
      [phone!, 'carol'],
    ] as const) {
      await lab.join(device, user);
      say(`${device.name} (${user}) is up: ${(await device.status()).self!.ips.join(', ')}`);
    }
    const camIp = (await webcam!.status()).self!.ips[0]!;
    webcam!.ns.spawn('node', [
      '-e',
      `require('node:http').createServer((q, r) => r.end('🦥 sloth webcam: the sloth is asleep\\n')).listen(80, '${camIp}')`,
    ]);
    const code = (await webcam!.burrow('share', 'create', 'webcam', '--to', 'carol')).stdout.trim();
    const invites = JSON.parse((await phone!.burrow('share', 'list', '--json')).stdout);
    await phone!.burrow('share', 'accept', invites.incoming[0]?.id ?? code);
    const fetchCam = (from: typeof laptop) =>
      waitFor(
        `${from!.name} to reach the webcam`,
        async () => (await from!.ns.exec('curl', ['-s', '--max-time', '2', `http://${camIp}/`])).stdout,
        15_000,
      );
    say(`laptop -> webcam: ${(await fetchCam(laptop)).trim()}`);
    say(`phone (shared with carol) -> webcam: ${(await fetchCam(phone)).trim()}`);

    web = spawn(
      join(REPO, 'node_modules/.bin/tsx'),
      [join(REPO, 'main/web.ts'), '--socket', laptop!.socket],
      { cwd: REPO },
    );
    let out = '';
    web.stdout?.on('data', (d) => (out += d));
    const url = await waitFor(
      'the web UI',
      async () => /(http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/.exec(out)?.[1],
      30_000,
    );
    say('');
    // Electron's binary cannot be downloaded on this kind of machine; where it is installed, the
    // packaged app is what starts it. Web mode serves the same UI either way.
    const electron = existsSync(join(REPO, 'node_modules/electron/path.txt'));
    const where = electron
      ? 'Electron is installed, but the app runs from its package;'
      : 'Electron is not installed here:';
    say(`${where} the laptop's Burrow UI is in web mode at`);
    say(`  ${url}`);
    say('(the link holds an access token). The CLI works too, for example:');
    say(`  ip netns exec ${laptop!.ns.name} ${BURROW} --socket ${laptop!.socket} status`);
    say('Ctrl-C stops the demo and removes everything it made.');
    const seconds = Number(process.env.DEMO_SECONDS ?? 0);
    await new Promise<void>((resolve) => {
      // Handlers stay installed through the clean-up: Ctrl-C reaches this process twice (from the
      // terminal and relayed by npm/tsx), and a signal without a handler would end it half-way,
      // leaving namespaces behind.
      let stopping = false;
      const stop = () => {
        if (stopping) {
          say('still cleaning up, one moment...');
          return;
        }
        stopping = true;
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      if (seconds > 0) setTimeout(stop, seconds * 1000);
    });
  } finally {
    say('stopping: removing namespaces, processes and files...');
    await stop();
    say('done.');
  }
}

if (isRoot()) {
  await run();
} else {
  say('The full demo builds network namespaces, which needs root (sudo npm run demo).');
  say('Running the protocol-core demo instead: two WireGuard cores over loopback UDP.\n');
  await import('./demo-core.js');
}
