import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: real-process tests are kept apart from each other to avoid measuring each other.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
