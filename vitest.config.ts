import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'src/**/*.test.ts',
      'helper/**/*.test.ts',
      'server/**/*.test.ts',
      'main/**/*.test.ts',
      'renderer/**/*.test.ts',
      'renderer/**/*.test.tsx',
      'test/**/*.test.ts',
    ],
    // Every skipped test is printed with why it may skip here; one that may not fails the run.
    reporters: ['default', './test/skip-check/skip-reporter.ts'],
    // Fails the run if it changed the host's resolv.conf, policy rules or table 52 (see the file).
    globalSetup: ['./test/support/host-guard.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    // One file at a time: namespace tests measure loss and timing, and the machine has 2 cores, so
    // a CPU-heavy simulation running beside them would make them flaky.
    fileParallelism: false,
  },
});
