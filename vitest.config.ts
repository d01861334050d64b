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
    testTimeout: 60_000,
    pool: 'forks',
    // One file at a time: namespace tests measure loss and timing, and the machine has 2 cores, so
    // a CPU-heavy simulation running beside them would make them flaky.
    fileParallelism: false,
  },
});
