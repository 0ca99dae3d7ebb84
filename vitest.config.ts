import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure code and fast local I/O, files in parallel) and `e2e` (real processes
// and servers: kube-apiserver, Prometheus, Alertmanager, SMTP, Chromium; one file at a time).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**', 'node_modules/**'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
