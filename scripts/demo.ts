/**
 * `npm run demo` (as root): a whole Burrow network on this machine. burrow-server on SQLite, three
 * devices in their own network namespaces on one LAN, each running burrowd:
 *   laptop (alice) and webcam (bob) in the network "home"; phone (carol) in a network of her own.
 * The webcam serves the sloth webcam on port 80 and bob shares it with carol. The laptop's UI opens
 * in Electron where its binary is installed and there is a display (as the user who ran sudo, the
 * laptop burrowd's operator), otherwise in web mode, at the URL printed.
 * Ctrl-C removes everything it made (namespaces, processes, files). DEMO_SECONDS=N stops by itself.
 * Without root it runs the protocol-core demo (scripts/demo-core.ts) instead.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MeshLab } from '../test/support/mesh-lab.js';
import { cleanupAll, isRoot, waitFor } from '../test/support/netns.js';
import { BURROW } from '../test/support/programs.js';
import { REPO } from '../test/support/wg-peers.js';
import { electronBinary, launchElectron, sudoUser } from './electron-launch.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const TSX = join(REPO, 'node_modules/.bin/tsx');

/** Web mode (main/web.ts) for burrowd at `socket`; resolves when it prints its URL. */
async function startWeb(socket: string): Promise<{ web: ChildProcess; url: string }> {
  const web = spawn(TSX, [join(REPO, 'main/web.ts'), '--socket', socket], { cwd: REPO });
  let out = '';
  web.stdout?.on('data', (d) => (out += d));
  const url = await waitFor(
    'the web UI',
    async () => /(http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/.exec(out)?.[1],
    30_000,
  );
  return { web, url };
}

async function run(): Promise<void> {
  const electron = electronBinary();
  const display = Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
  // Not as root where avoidable: the app runs as whoever ran sudo, and the laptop's burrowd takes
  // that user as its operator (who may change settings), as scripts/install-helper.sh does.
  const user = electron && display ? sudoUser() : null;
  say(electron && display ? 'building the app...' : 'building the UI...');
  const build = electron && display ? 'scripts/build-app.ts' : 'scripts/build-ui.ts';
  await promisify(execFile)(TSX, [join(REPO, build)], { cwd: REPO });
  const lab = await MeshLab.create();
  const uis: ChildProcess[] = [];
  /** Set once the demo is stopping: the UI going away is then no news. */
  let stopping = false;
  const stop = async () => {
    stopping = true;
    for (const ui of uis) ui.kill();
    await lab.destroy();
    await cleanupAll();
  };
  try {
    await lab.admin('users', 'create', 'alice', '--network', 'home');
    await lab.admin('users', 'create', 'bob', '--network', 'home');
    await lab.admin('users', 'create', 'carol');
    await lab.startServer();
    say(`burrow-server on ${lab.serverUrl} (database ${lab.db})`);
    const [laptop, webcam, phone] = await Promise.all([
      lab.device('laptop', user ? { operator: String(user.uid) } : {}),
      lab.device('webcam'),
      lab.device('phone'),
    ]);
    const spaces = { LAN: lab.hub, internet: lab.internet, 'burrow-server': lab.serverNs };
    const devices = { laptop: laptop!.ns, webcam: webcam!.ns, phone: phone!.ns };
    const named = Object.entries({ ...spaces, ...devices }).map(([what, ns]) => `${what} ${ns.name}`);
    say(`network namespaces: ${named.join(', ')}`);
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

    say('');
    const web = async (why: string) => {
      const { web, url } = await startWeb(laptop!.socket);
      uis.push(web);
      say(`${why}: the laptop's Burrow UI is in web mode at`);
      say(`  ${url}`);
      say('(the link holds an access token).');
    };
    if (electron && display) {
      // The user reaches the laptop's socket by its name, and nothing else in the lab's directory.
      if (user) chmodSync(lab.dir, 0o711);
      const app = launchElectron(electron, { flags: ['--socket', laptop!.socket], user });
      uis.push(app);
      app.once('exit', (code, signal) => {
        if (stopping) return;
        if (code === 0) say('The Burrow app was closed; Ctrl-C stops the demo.');
        else void web(`Electron stopped (${code ?? signal})`).catch((e) => say(`web mode: ${e.message}`));
      });
      const as = user
        ? `as ${user.name}, the laptop burrowd's operator`
        : "as root, without Chromium's sandbox";
      say(`The laptop's Burrow app opens in Electron (${as}).`);
    } else
      await web(
        electron
          ? 'Electron has no display here (DISPLAY and WAYLAND_DISPLAY are unset)'
          : 'Electron is not installed here',
      );
    say('The CLI works too, for example:');
    say(`  ip netns exec ${laptop!.ns.name} ${BURROW} --socket ${laptop!.socket} status`);
    say('Ctrl-C stops the demo and removes everything it made.');
    const seconds = Number(process.env.DEMO_SECONDS ?? 0);
    await new Promise<void>((resolve) => {
      // Handlers stay installed through the clean-up: Ctrl-C reaches this process twice (from the
      // terminal and relayed by npm), and a signal without a handler would end it half-way,
      // leaving namespaces behind. Ctrl-C also reaches Electron, which then quits by itself.
      const onStop = () => {
        if (stopping) {
          say('still cleaning up, one moment...');
          return;
        }
        stopping = true;
        resolve();
      };
      process.on('SIGINT', onStop);
      process.on('SIGTERM', onStop);
      if (seconds > 0) setTimeout(onStop, seconds * 1000);
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
