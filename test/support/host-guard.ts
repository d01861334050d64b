/**
 * vitest's global setup: what the whole test run must leave of the host exactly as it found it.
 * Tests run as root and start burrowd, which rewrites "its" /etc/resolv.conf and adds policy rules
 * and table 52; inside a lab namespace those are the namespace's, but a test that gets that wrong
 * changes the machine itself (a run once replaced this machine's resolv.conf and lost it). Checked
 * once at the end of the run, so that such a test fails the run instead of passing unnoticed.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

interface HostState {
  resolvConf: string;
  rules: string;
  table52: string;
}

function readHostState(): HostState {
  const ip = (args: string[]) => {
    try {
      // stderr too: `ip route show table 52` complains when the table does not exist yet.
      return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      return `(ip ${args.join(' ')} failed: ${(error as { stderr?: string }).stderr ?? ''})`;
    }
  };
  let resolvConf: string;
  try {
    resolvConf = readFileSync('/etc/resolv.conf', 'latin1');
  } catch (error) {
    resolvConf = `(unreadable: ${(error as Error).message})`;
  }
  return {
    resolvConf,
    rules: ip(['-4', 'rule', 'show']) + ip(['-6', 'rule', 'show']),
    table52: ip(['-4', 'route', 'show', 'table', '52']) + ip(['-6', 'route', 'show', 'table', '52']),
  };
}

/** The differences between two states, one line each; empty when the host is as it was. */
function hostChanges(before: HostState, after: HostState): string[] {
  const names: Record<keyof HostState, string> = {
    resolvConf: '/etc/resolv.conf',
    rules: 'the policy rules (ip rule)',
    table52: 'routing table 52',
  };
  return (Object.keys(names) as (keyof HostState)[])
    .filter((key) => before[key] !== after[key])
    .map((key) => `${names[key]} changed:\n--- before\n${before[key]}\n--- after\n${after[key]}`);
}

export default function setup(): () => void {
  const before = readHostState();
  return () => {
    const changes = hostChanges(before, readHostState());
    if (changes.length === 0) return;
    console.error(
      `host-guard: the test run changed this machine outside its lab namespaces:\n${changes.join('\n')}`,
    );
    // A throw here is only printed: vitest still exits 0. The run must fail.
    process.exitCode = 1;
  };
}
