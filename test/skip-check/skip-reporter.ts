/**
 * A Vitest reporter that fails the run when a test skips that is expected to run here, and prints
 * every skipped test with why it may skip. Which tests may skip, and where, is allowed-skips.ts.
 * Under a name filter (-t) or when the run was interrupted, skips are the filter's, and it says nothing.
 */
import { createSocket } from 'node:dgram';
import type { Reporter, TestModule, TestRunEndReason, Vitest } from 'vitest/node';
import { ALLOWED_SKIPS, type AllowedSkip, type Environment, type Lack } from './allowed-skips.js';

export interface SkippedTest {
  /** Relative to the project's root. */
  file: string;
  /** Suites and test name, joined by " > ". */
  fullName: string;
  /** What the test gave to ctx.skip(note), if anything. */
  note?: string;
}

export interface SkipVerdict {
  allowed: { test: SkippedTest; why: string }[];
  /** Each with what the list would allow it for, when the environment lacks it. */
  unexpected: { test: SkippedTest; allowedWithout?: Lack }[];
}

export function judgeSkips(skipped: SkippedTest[], list: AllowedSkip[], env: Environment): SkipVerdict {
  const verdict: SkipVerdict = { allowed: [], unexpected: [] };
  for (const test of skipped) {
    const entries = list.filter(
      (e) => e.file === test.file && (e.test === undefined || test.fullName.includes(e.test)),
    );
    const entry = entries.find((e) => !env[e.lacks]);
    if (entry) verdict.allowed.push({ test, why: entry.why });
    else verdict.unexpected.push({ test, allowedWithout: entries[0]?.lacks });
  }
  return verdict;
}

/** What this machine offers, as the tests see it (they run in children of this process). */
export async function currentEnvironment(): Promise<Environment> {
  return {
    root: process.getuid?.() === 0,
    ipv6: await canBindIpv6Loopback(),
    packaged: Boolean(process.env.BURROW_PROGRAMS),
  };
}

function canBindIpv6Loopback(): Promise<boolean> {
  const socket = createSocket('udp6');
  return new Promise((resolve) => {
    socket.once('error', () => resolve(false));
    socket.bind(0, '::1', () => socket.close(() => resolve(true)));
  });
}

const LACK_WORDS: Record<Lack, string> = {
  root: 'root',
  ipv6: 'an IPv6 loopback',
  packaged: 'BURROW_PROGRAMS',
};

/** The report's lines: the allowed skips grouped by file and reason, then the unexpected ones. */
export function describeVerdict(verdict: SkipVerdict): string[] {
  const lines: string[] = [];
  if (verdict.allowed.length) {
    lines.push('Skipped, as allowed here:');
    const groups = new Map<string, number>();
    for (const { test, why } of verdict.allowed) {
      const key = `${test.file}: ${why}`;
      groups.set(key, (groups.get(key) ?? 0) + 1);
    }
    for (const [key, count] of groups) lines.push(`  ↓ ${key} (${count} ${count === 1 ? 'test' : 'tests'})`);
  }
  if (verdict.unexpected.length) {
    lines.push('Skipped, but expected to run here:');
    for (const { test, allowedWithout } of verdict.unexpected) {
      const note = test.note ? ` [${test.note}]` : '';
      const hint = allowedWithout ? ` (may skip only without ${LACK_WORDS[allowedWithout]})` : '';
      lines.push(`  ✗ ${test.file} > ${test.fullName}${note}${hint}`);
    }
    lines.push(
      'A test may skip only where test/skip-check/allowed-skips.ts allows it: install what it needs ' +
        '(scripts/setup), or add it there with why.',
    );
  }
  return lines;
}

export function skippedTests(modules: ReadonlyArray<TestModule>): SkippedTest[] {
  const skipped: SkippedTest[] = [];
  for (const module of modules) {
    for (const test of module.children.allTests('skipped')) {
      const result = test.result();
      skipped.push({
        file: module.relativeModuleId,
        fullName: test.fullName,
        ...(result.state === 'skipped' && result.note ? { note: result.note } : {}),
      });
    }
  }
  return skipped;
}

export default class SkipReporter implements Reporter {
  private vitest?: Vitest;
  private readonly list: AllowedSkip[];

  constructor(options: { allowed?: AllowedSkip[] } = {}) {
    this.list = options.allowed ?? ALLOWED_SKIPS;
  }

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  async onTestRunEnd(
    modules: ReadonlyArray<TestModule>,
    _errors: unknown,
    reason: TestRunEndReason,
  ): Promise<void> {
    if (reason === 'interrupted' || this.vitest?.config.testNamePattern) return;
    const skipped = skippedTests(modules);
    if (!skipped.length) return;
    const verdict = judgeSkips(skipped, this.list, await currentEnvironment());
    const log = (line: string) => (this.vitest ? this.vitest.logger.log(line) : console.log(line));
    for (const line of describeVerdict(verdict)) log(line);
    if (verdict.unexpected.length) process.exitCode = 1;
  }
}
