import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
          // vitest's default is one worker fewer than the cores: 1 on a 2-core machine, so files ran
          // one after another while most of a CLI test's time is a child process starting.
          maxWorkers: 2,
          // Files in a worker share one module graph instead of re-importing zod, yaml, fastify … per
          // file (a third of the time). Tests restore what they change (fake timers, spies, env).
          isolate: false,
          // The CLI tests spawn `node src/cli/main.ts` ~100 times; Node's compile cache keeps the
          // compiled modules (zod, yaml, commander, ours) between them: a `plan` starts in 0.6 s, not 2 s.
          env: { NODE_COMPILE_CACHE: join(tmpdir(), 'headroom-test-compile-cache') },
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
