/**
 * A machine of its own in a lab namespace, for running documented commands exactly as written:
 * its own host name, its own /var/lib and /run (empty tmpfs, so the default state directories and
 * sockets of burrowd and burrow-server are its own and nothing is left on the host) and its own
 * /etc/hosts (so that a DNS name resolves as the lab wants), in mount and UTS namespaces held open
 * by a process in the network namespace. Command lines run through sh from the checkout's root, as
 * typed at a root shell there. Everything stops with the network namespace (Netns.destroy).
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Netns, waitFor } from './netns.js';
import { PROGRAMS_DIR } from './programs.js';

const REPO = resolve(import.meta.dirname, '../..');

export interface LineResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A command line left running: its output so far, and its end. */
export interface Job {
  process: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/**
 * A documented command line as this checkout runs it: `./bin/PROGRAM` is the packaged program
 * instead when BURROW_PROGRAMS says so (see programs.ts).
 */
export function asRun(line: string): string {
  return PROGRAMS_DIR ? line.replaceAll('./bin/', `${PROGRAMS_DIR}/`) : line;
}

export class LabMachine {
  private constructor(
    readonly name: string,
    readonly ns: Netns,
    private readonly holder: number,
  ) {}

  /** Makes machine `name` in `ns`; `hosts` are the lines of its /etc/hosts besides localhost. */
  static async start(name: string, ns: Netns, dir: string, hosts: string[] = []): Promise<LabMachine> {
    const hostsFile = join(dir, `${name}.hosts`);
    writeFileSync(hostsFile, ['127.0.0.1 localhost', '::1 localhost', ...hosts, ''].join('\n'));
    const setup = [
      `hostname ${name}`,
      'mount -t tmpfs -o mode=0755 tmpfs /var/lib',
      'mount -t tmpfs -o mode=0755 tmpfs /run',
      `mount --bind ${hostsFile} /etc/hosts`,
      'echo ready',
      // unshare and sh exec in turn, so this process is the one whose namespaces commands enter.
      'exec sleep infinity',
    ].join(' && ');
    const holder = ns.spawn('unshare', ['--mount', '--uts', '--propagation', 'private', 'sh', '-c', setup]);
    let said = '';
    holder.stdout?.on('data', (d) => (said += d));
    holder.stderr?.on('data', (d) => (said += d));
    await waitFor(
      `machine ${name}`,
      async () => {
        if (holder.exitCode !== null) throw new Error(`machine ${name} did not start: ${said}`);
        return said.includes('ready');
      },
      10_000,
    );
    return new LabMachine(name, ns, holder.pid!);
  }

  /** The command that runs `line` (through sh) on this machine, for ns.spawn or a terminal. */
  argv(line: string): string[] {
    const target = String(this.holder);
    return ['nsenter', '--target', target, '--mount', '--uts', `--wd=${REPO}`, '--', 'sh', '-c', asRun(line)];
  }

  /** The same as one shell command line, to run from the host (in a terminal, say). */
  shellCommand(line: string): string {
    const quote = (a: string) => `'${a.replaceAll("'", `'\\''`)}'`;
    return ['ip', 'netns', 'exec', this.ns.name, ...this.argv(line)].map(quote).join(' ');
  }

  /** Runs a command line to its end. */
  run(line: string, timeoutMs = 120_000): Promise<LineResult> {
    const job = this.start(line);
    const timer = setTimeout(() => job.process.kill('SIGKILL'), timeoutMs);
    return job.exited.then((code) => {
      clearTimeout(timer);
      return { code, stdout: job.stdout(), stderr: job.stderr() };
    });
  }

  /**
   * Starts a command line and leaves it running: a line ending in `&` (before any comment) as a
   * shell would run it in the background, except that the job is the program itself, so that it
   * can be waited for and stopped.
   */
  start(line: string): Job & { stdout(): string; stderr(): string } {
    const background = /^(.*?)\s+&\s*(#.*)?$/.exec(line);
    const command = background ? `exec ${background[1]}` : line;
    const [cmd, ...args] = this.argv(command);
    const child = this.ns.spawn(cmd!, args);
    let stdout = '';
    let stderr = '';
    let output = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
      output += d;
    });
    child.stderr?.on('data', (d) => {
      stderr += d;
      output += d;
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { process: child, output: () => output, stdout: () => stdout, stderr: () => stderr, exited };
  }
}
