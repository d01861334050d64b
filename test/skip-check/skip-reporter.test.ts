/**
 * The skip check (skip-reporter.ts, allowed-skips.ts): real Vitest runs of small fixture files
 * with the reporter, and the allowed list against the test files it names.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALLOWED_SKIPS } from './allowed-skips.js';
import { judgeSkips } from './skip-reporter.js';

const REPO = join(import.meta.dirname, '../..');

/** Runs the fixtures' Vitest with only PATH (and `env`) set: what it printed and its exit status. */
function vitest(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(
    join(REPO, 'node_modules/.bin/vitest'),
    ['run', '--config', join(import.meta.dirname, 'fixtures/vitest.config.ts'), ...args],
    {
      cwd: REPO,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', ...env },
    },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('the skip check, in a real Vitest run', () => {
  it('passes a run whose only skip is allowed here, printing it with why', () => {
    const run = vitest(['allowed']);
    expect(run.output).toContain('↓ allowed.fixture.ts: runs where BURROW_PROGRAMS is set (1 test)');
    expect(run.output).not.toContain('expected to run');
    expect(run.status).toBe(0);
  });

  it('fails the run when that skip is not allowed here, saying where it would be', () => {
    const run = vitest(['allowed'], { BURROW_PROGRAMS: '/nowhere' });
    expect(run.output).toContain(
      '✗ allowed.fixture.ts > a suite > needs the packaged programs (may skip only without BURROW_PROGRAMS)',
    );
    expect(run.status).toBe(1);
  });

  it('fails the run on skips nobody allowed, naming each with its note', () => {
    const run = vitest(['unlisted']);
    expect(run.output).toContain('Skipped, but expected to run here:');
    expect(run.output).toContain('✗ unlisted.fixture.ts > is skipped by hand\n');
    expect(run.output).toContain('✗ unlisted.fixture.ts > skips itself [nothing to test against]\n');
    expect(run.output).toContain('test/skip-check/allowed-skips.ts');
    expect(run.status).toBe(1);
  });

  it('leaves a name filter (-t) alone: the tests it leaves out are skipped on purpose', () => {
    const run = vitest(['unlisted', '-t', 'runs']);
    expect(run.output).not.toContain('expected to run');
    expect(run.status).toBe(0);
  });
});

describe('the allowed list (allowed-skips.ts)', () => {
  const env = { root: true, ipv6: true, packaged: true };

  it('allows nothing on a machine that has everything, as CI is', () => {
    const skipped = ALLOWED_SKIPS.map((e) => ({ file: e.file, fullName: `suite > ${e.test ?? 'a test'}` }));
    expect(judgeSkips(skipped, ALLOWED_SKIPS, env).allowed).toEqual([]);
  });

  it('names test files that exist, and tests they hold', () => {
    for (const entry of ALLOWED_SKIPS) {
      const path = join(REPO, entry.file);
      expect(existsSync(path), entry.file).toBe(true);
      if (entry.test) expect(readFileSync(path, 'utf8'), entry.file).toContain(entry.test);
    }
  });

  it('lets a test skip for want of BURROW_PROGRAMS only if npm test runs it again with them', () => {
    const packaged = readFileSync(join(REPO, 'scripts/test-packaged.sh'), 'utf8');
    for (const entry of ALLOWED_SKIPS.filter((e) => e.lacks === 'packaged')) {
      expect(packaged, entry.file).toMatch(new RegExp(`^\\s+${entry.file.replaceAll('.', '\\.')}\\b`, 'm'));
    }
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
    expect(pkg.scripts.test).toMatch(/&& scripts\/test-packaged\.sh$/);
  });
});
