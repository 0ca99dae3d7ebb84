// Helpers for the local-cluster e2e tests: a run section and a model without a YAML file.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ServiceModel } from '../../src/core/model.ts';
import { runSectionSchema, type RunConfig } from '../../src/local/config.ts';
import { serviceModelFromSpec } from '../../src/input/load.ts';

export const EXAMPLE_SERVICE = fileURLToPath(new URL('../../examples/service.ts', import.meta.url));

export function runSettings(over: Record<string, unknown> = {}): RunConfig['run'] {
  const parsed = runSectionSchema.parse({
    command: [process.execPath, '--disable-warning=ExperimentalWarning', EXAMPLE_SERVICE],
    port: 0,
    statusPort: 0,
    startupTimeoutSeconds: 15,
    drainTimeoutSeconds: 10,
    killGraceSeconds: 3,
    tickSeconds: 0.25,
    stableWindowSeconds: 6,
    restartBackoff: { initialSeconds: 0.2, maxSeconds: 2 },
    ...over,
  });
  return { ...parsed, cwd: process.cwd() };
}

export function model(spec: Record<string, unknown> = {}): ServiceModel {
  return serviceModelFromSpec({
    name: 'web',
    instance: { serviceTimeMs: 50, concurrency: 4 },
    replicas: { min: 1, max: 6 },
    startupSeconds: 1,
    ...spec,
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `check` every 50 ms until it is true or `ms` passed; returns whether it became true. */
export async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (check()) return true;
    await sleep(50);
  }
  return check();
}

/** Is a process alive? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Live child processes of this process (from /proc), to check that nothing was left running. */
export function childPids(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[0] = state, fields[1] = ppid; zombies (Z) are already dead.
      if (Number(fields[1]) === process.pid && fields[0] !== 'Z') out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}
