// The probe of `headroom loadtest` against the example service: the service-time distribution it
// writes to the profile (`serviceTime`) is tight for a fixed work time, heavy-tailed for a
// lognormal one, and absent (with a warning) when the probe had too few requests. One short step
// (--max-rps = --start-rps) keeps each run to the probe plus half a second.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { capacityProfileSchema, type CapacityProfile } from '../../src/input/profile.ts';
import { runCli, startService, type Service } from './support/loadtest.ts';

const dir = mkdtempSync(join(tmpdir(), 'headroom-probe-'));
const services: Service[] = [];
afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
});

async function service(env: Record<string, string>): Promise<Service> {
  const s = await startService(env);
  services.push(s);
  return s;
}

/** `headroom loadtest` with a probe of `probeRequests` and one 0.5 s step at 5 rps. */
async function probeRun(svc: Service, name: string, probeRequests: number) {
  const profile = join(dir, `${name}.json`);
  const run = await runCli([
    `${svc.url}/work`,
    '--slo-latency-ms',
    '2000',
    '--start-rps',
    '5',
    '--max-rps',
    '5',
    '--warmup',
    '0',
    '--hold',
    '0.5',
    '--probe-requests',
    String(probeRequests),
    '--max-duration',
    '120',
    '--profile',
    profile,
  ]);
  expect(run.code, run.stderr).toBe(0);
  const p: CapacityProfile = capacityProfileSchema.parse(JSON.parse(readFileSync(profile, 'utf8')));
  return { run, profile: p };
}

describe('the probe writes the service-time distribution to the profile', () => {
  it('fixed 40 ms: CV < 0.2, p50 and p99 close to the work time', async () => {
    // 40 ms rather than less: the machine's stalls are a few ms to a few hundred, whatever the work time.
    const workMs = 40;
    const svc = await service({ WORK_MS: String(workMs), CONCURRENCY: '1', WORK_DIST: 'fixed' });
    let { run, profile } = await probeRun(svc, 'fixed', 250);
    // The CV is not robust to outliers: on the shared 2-core machine one stall of a few hundred ms
    // among 250 requests of 25 ms lifted it to ~0.4 (seen at a load average of 12). Such a run is
    // measured once more; a CV computed wrongly fails both.
    if ((profile.serviceTime?.cv ?? 1) >= 0.2) ({ run, profile } = await probeRun(svc, 'fixed-again', 250));
    const st = profile.serviceTime;
    expect(st, run.stdout).toBeDefined();
    expect(st!.source).toBe('probe');
    expect(st!.samples).toBe(250);
    expect(st!.cv, JSON.stringify(st)).toBeLessThan(0.2);
    const q = st!.quantilesMs;
    // Each sleep takes the work time plus timer lag and the loopback round trip (≈ 0.5–2 ms quiet,
    // several ms on a busy 2-core box); nothing is subtracted.
    expect(q.p50).toBeGreaterThanOrEqual(workMs);
    expect(q.p50).toBeLessThan(workMs * 1.25);
    expect(q.p99).toBeLessThan(workMs * 2.5);
    expect(q.p50 < q.p90 && q.p90 < q.p99 && q.p99 < q.p999).toBe(true);
    expect(st!.meanMs).toBeGreaterThanOrEqual(workMs);
    expect(st!.meanMs).toBeLessThan(workMs * 1.25);
    // The fit's predicted knee uses it, and says so.
    expect(run.stdout).toMatch(/M\/G\/1 \(service CV 0\.\d\d, measured by the probe\) predicts a knee of/);
    expect(run.stdout).toContain('probe: 250 sequential requests');
    // The non-TTY probe event carries the distribution too.
    const event = run.stderr.split('\n').find((l) => l.startsWith('{"event":"probe"'));
    expect(JSON.parse(event ?? '{}')).toMatchObject({ samples: 250, cv: st!.cv });
  });

  it('lognormal, mean 10 ms, CV 2 (seeded): a measured CV clearly above 1 and a long tail', async () => {
    const svc = await service({ WORK_MS: '10', CONCURRENCY: '1', WORK_DIST: 'lognormal', WORK_CV: '2', SEED: '1' });
    const { run, profile } = await probeRun(svc, 'lognormal', 400);
    const st = profile.serviceTime;
    expect(st, run.stdout).toBeDefined();
    // Seed 1's 400 draws have a CV of 1.5; Node's whole-millisecond timers lower it to ~1.35.
    expect(st!.cv, JSON.stringify(st)).toBeGreaterThan(1.2);
    const q = st!.quantilesMs;
    // Lognormal CV 2, mean 10: median 4.5 ms, p99 86 ms (in theory).
    expect(q.p50).toBeLessThan(st!.meanMs);
    expect(q.p99 / q.p50).toBeGreaterThan(6);
  });

  it('fewer than 200 probe requests: no distribution in the profile, and a warning', async () => {
    const svc = await service({ WORK_MS: '5', CONCURRENCY: '1' });
    const { run, profile } = await probeRun(svc, 'few', 50);
    expect(profile).not.toHaveProperty('serviceTime');
    expect(run.stderr).toContain(
      'warning: the probe timed 50 successful sequential requests, fewer than the 200 a stable p99/p99.9 needs',
    );
    expect(run.stdout).toContain('M/M/1 (exponential service times assumed) predicts');
  });
});
