/**
 * Network namespaces for tests: real hosts on one machine. Every namespace, veth and process made
 * here is tracked and removed by `cleanupAll` (call it from afterEach/afterAll), and again on process
 * exit, so that a failing test leaves nothing behind. Names are unique per run.
 */
import { type ChildProcess, execFile, execFileSync, type SpawnOptions, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

const namespaces = new Set<Netns>();
let exitHookInstalled = false;

/** A short unique name (interface names are limited to 15 characters). */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(3).toString('hex')}`.slice(0, 15);
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** Runs a command with an argument vector (never a shell string); rejects with its stderr on failure. */
export async function run(
  cmd: string,
  args: string[],
  options: { timeout?: number; input?: string } = {},
): Promise<ExecResult> {
  try {
    const child = execFileP(cmd, args, { timeout: options.timeout ?? 30_000, maxBuffer: 64 << 20 });
    if (options.input !== undefined) {
      child.child.stdin?.end(options.input);
    }
    return await child;
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string; message: string };
    throw new CommandError(
      `${cmd} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`,
      typeof e.code === 'number' ? e.code : null,
      e.stdout ?? '',
      e.stderr ?? '',
    );
  }
}

/** A command that failed: its exit code (null if it did not exit by itself) and its output. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly code: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

export class Netns {
  private readonly children = new Set<ChildProcess>();

  private constructor(readonly name: string) {}

  static async create(prefix = 'bt'): Promise<Netns> {
    installExitHook();
    const ns = new Netns(uniqueName(prefix));
    await run('ip', ['netns', 'add', ns.name]);
    namespaces.add(ns);
    // Before anything runs in it: a burrowd here changes "its" /etc/resolv.conf (MagicDNS), which
    // without a file of the namespace's own would be the host's.
    ns.writeResolvConf(OWN_RESOLV_CONF);
    await ns.exec('ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Runs a command inside the namespace. */
  exec(cmd: string, args: string[], options: { timeout?: number; input?: string } = {}): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], options);
  }

  /** Starts a long-running process inside the namespace; it is killed by `destroy`. */
  spawn(cmd: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: 'pipe', ...options });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /**
   * Makes programs started in the namespace from now on resolve host names through the DNS server
   * at `server`: `ip netns exec` puts /etc/netns/NAME/resolv.conf in the place of /etc/resolv.conf
   * (removed again by `destroy`). One try with a one-second timeout, so that a lookup that cannot
   * get through fails within a second.
   */
  setResolver(server: string): void {
    this.writeResolvConf(`nameserver ${server}\noptions timeout:1 attempts:1\n`);
  }

  /**
   * Gives programs started in the namespace from now on their own /etc/resolv.conf with exactly
   * `content` (removed again by `destroy`); returns its path, /etc/netns/NAME/resolv.conf.
   */
  writeResolvConf(content: string | Uint8Array): string {
    mkdirSync(netnsEtc(this.name), { recursive: true });
    const path = `${netnsEtc(this.name)}/resolv.conf`;
    writeFileSync(path, content);
    return path;
  }

  /** Kills every process started here, then deletes the namespace (and the interfaces in it). */
  async destroy(): Promise<void> {
    await Promise.all([...this.children].map((c) => killAndWait(c)));
    namespaces.delete(this);
    await run('ip', ['netns', 'del', this.name]).catch(() => undefined);
    removeNetnsEtc(this.name);
  }

  destroySync(): void {
    for (const c of this.children) c.kill('SIGKILL');
    namespaces.delete(this);
    try {
      execFileSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
    removeNetnsEtc(this.name);
  }
}

const netnsEtc = (name: string) => `/etc/netns/${name}`;

/** Every namespace's resolv.conf until a test gives it another: no name server, nothing resolves. */
const OWN_RESOLV_CONF = "# this lab namespace's own resolv.conf (test/support/netns.ts): no name server\n";

/** Removes the namespace's files in /etc/netns, and that directory too once it is empty. */
function removeNetnsEtc(name: string): void {
  rmSync(netnsEtc(name), { recursive: true, force: true });
  try {
    rmdirSync('/etc/netns');
  } catch {
    // other namespaces' files are still there, or it never existed
  }
}

async function killAndWait(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Connects two namespaces with a veth pair and gives each end its addresses (CIDR strings). */
export async function link(
  a: Netns,
  aAddrs: string[],
  b: Netns,
  bAddrs: string[],
  mtu = 1500,
): Promise<{ aDev: string; bDev: string }> {
  const aDev = uniqueName('va');
  const bDev = uniqueName('vb');
  await run('ip', [
    'link',
    'add',
    aDev,
    'netns',
    a.name,
    'type',
    'veth',
    'peer',
    'name',
    bDev,
    'netns',
    b.name,
  ]);
  for (const [ns, dev, addrs] of [
    [a, aDev, aAddrs],
    [b, bDev, bAddrs],
  ] as const) {
    for (const addr of addrs) {
      await ns.exec('ip', [
        ...(addr.includes(':') ? ['-6'] : []),
        'addr',
        'add',
        addr,
        'dev',
        dev,
        ...(addr.includes(':') ? ['nodad'] : []),
      ]);
    }
    await ns.exec('ip', ['link', 'set', dev, 'mtu', String(mtu), 'up']);
  }
  return { aDev, bDev };
}

/** Removes every namespace this process created and kills their processes. */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...namespaces].map((ns) => ns.destroy()));
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const ns of [...namespaces]) ns.destroySync();
  });
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Waits until `probe` resolves truthy, polling; rejects with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
