// Helpers for the alerting e2e tests: free ports, a log sink, polling.
import { createServer } from 'node:net';
import type { AlertLogger } from '../../../src/alerting/dispatcher.ts';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export function captureLogger(): AlertLogger & { lines: string[] } {
  const lines: string[] = [];
  const push = (obj: object, msg: string): void => void lines.push(`${msg} ${JSON.stringify(obj)}`);
  return { lines, info: push, warn: push, error: push };
}

export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
