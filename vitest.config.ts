import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'src/**/*.test.ts',
      'helper/**/*.test.ts',
      'server/**/*.test.ts',
      'main/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    testTimeout: 60_000,
    // Namespace tests share the host's kernel state; the machine has 2 cores.
    pool: 'forks',
  },
});
