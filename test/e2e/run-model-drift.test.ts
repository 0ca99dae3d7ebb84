// A bad release against the loop that checks its own latency model (issue 13, item 5): a real
// `headroom run` process, real example-service instances, steady open-loop traffic, nobody acting.
//
// The service: spec serviceTimeMs 20, concurrency 1 (exponential), run as WORK_MS=20 CONCURRENCY=1
// WORK_MODE=sleep, so an instance carries exactly 50 rps. 85 rps with target utilization 0.7 →
// 3 instances (model p99 104 ms, SLO 300 ms; a calibrated scale up to 1.24 still gives 3). The
// release: `run.command` is a shell line that exports WORK_MS=40 when the flag file exists, so
// every instance started after the test creates it is twice as slow. The test then SIGKILLs the
// running instances one at a time (the supervisor restarts each, and it comes back slow), like a
// rollout. 3 slow instances carry 75 rps: the SLO breaks; 5–6 hold it (model p99 202 / 188 ms).
//
// Time compression (the bench, bench/model-drift.ts, runs the real time scale):
// - HeadroomModelDrift is replaced by a user rule of the same name with `for: 20s` (built in: 2m);
// - the release comes 15 s after the steady load starts (bench: 3 min).
// Cold start, as a user starts it: no warm-up. The first ~2 s of new instances (JIT, first
// connections) measure p99 ~400 ms against the model's ~92 ms; the first calibration sample only
// starts the clock (src/core/calibrate.ts), so before the release the count is still 3 and the
// error under 1.5 (before that fix the scale jumped to 2.5 and the count to 8 with no release).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { driveTraffic } from '../../src/local/traffic.ts';
import type { LocalStatusSnapshot } from '../../src/server/status.ts';
import { DRIFT_SLO_MS as SLO_MS, driftSpecYaml } from '../../bench/support/drift-spec.ts';
import { EXAMPLE_SERVICE, sleep } from '../local/helpers.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const RPS = 85;
const DRIFT = 'HeadroomModelDrift';

let child: ChildProcess | undefined;
let dir: string | undefined;
afterEach(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    const hard = setTimeout(() => child?.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(hard);
  }
  child = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Write the spec, start `headroom run` on it, wait for 3 ready instances; returns the status base URL. */
async function start(calibrate: boolean): Promise<{ base: string; url: string; flag: string }> {
  dir = mkdtempSync(join(tmpdir(), 'headroom-drift-'));
  const flag = join(dir, 'slow');
  const spec = join(dir, 'drift.yaml');
  writeFileSync(
    spec,
    driftSpecYaml({
      flag,
      service: EXAMPLE_SERVICE,
      calibrate,
      run: ['  stableWindowSeconds: 20', '  restartBackoff: { initialSeconds: 0.2, maxSeconds: 2 }'],
      tail: [
        'alerts:',
        '  rules:',
        // Same name as the built-in rule, so it replaces it: 20 s instead of 2 minutes.
        `    - { name: ${DRIFT}, expr: 'service.modelError > 1.5', clearThreshold: 1.3, for: 20s, severity: warning }`,
      ],
    }),
  );
  const env = { ...process.env };
  delete env.HEADROOM_TOKEN;
  const c = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'run', spec, '--no-live'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  child = c;
  let out = '';
  c.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  c.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const base = await new Promise<string>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`headroom run did not start: ${out}`)), 30_000);
    c.stdout!.on('data', () => {
      const m = /status API\s+(\S+)\/api\/status/.exec(out);
      if (m?.[1]) {
        clearTimeout(t);
        res(m[1]);
      }
    });
    c.on('exit', (code) => rej(new Error(`headroom run exited with ${code}: ${out}`)));
  });
  let s = await status(base);
  for (let i = 0; i < 60 && s.replicas.ready < 3; i++) {
    await sleep(500);
    s = await status(base);
  }
  expect(s.replicas.ready).toBe(3);
  return { base, url: s.service.url!, flag };
}

async function status(base: string): Promise<LocalStatusSnapshot> {
  const r = await fetch(`${base}/api/status`, { signal: AbortSignal.timeout(5000) });
  return (await r.json()) as LocalStatusSnapshot;
}

/** The release: the flag file, then SIGKILL each running instance and wait for its (slow) successor. */
async function rollOut(base: string, flag: string): Promise<void> {
  writeFileSync(flag, 'slow\n');
  for (const inst of (await status(base)).instances.filter((i) => i.pid !== undefined)) {
    process.kill(inst.pid!, 'SIGKILL');
    const end = performance.now() + 15_000;
    while (performance.now() < end) {
      await sleep(200);
      const now = (await status(base)).instances.find((i) => i.id === inst.id);
      if (!now || (now.state === 'ready' && now.pid !== inst.pid)) break;
    }
  }
}

interface Poll {
  t: number; // seconds since the release
  p99: number | null;
  desired: number;
  ready: number;
  scale: number | null;
  error: number | null;
  calibrated: boolean;
  drift?: string;
  driftFiredAt?: number;
}

function sample(s: LocalStatusSnapshot, t: number): Poll {
  const drift = s.alerts?.alerts.find((a) => a.rule === DRIFT);
  return {
    t,
    p99: s.traffic.burst?.latencyMs?.p99 ?? null,
    desired: s.replicas.desired,
    ready: s.replicas.ready,
    scale: s.model?.scale ?? null,
    error: s.model?.error ?? null,
    calibrated: s.decision?.reasons.some((r) => r.code === 'Calibrated') ?? false,
    ...(drift ? { drift: drift.state } : {}),
    ...(drift?.firedAt !== undefined ? { driftFiredAt: drift.firedAt } : {}),
  };
}

const fmt = (p: Poll): string =>
  `t=${p.t.toFixed(0)} p99=${p.p99?.toFixed(0)} desired=${p.desired} ready=${p.ready} scale=${p.scale?.toFixed(2)} error=${p.error?.toFixed(2)} drift=${p.drift ?? '-'}`;

describe('headroom run: a bad release (instances 2× slower) with nobody acting', () => {
  it('calibration restores the SLO within 120 s and HeadroomModelDrift fires', async () => {
    const { base, url, flag } = await start(true);
    const stop = new AbortController();
    const traffic = driveTraffic(url, [{ name: 'steady', seconds: 170, rps: () => RPS }], {
      maxRequests: 170 * RPS,
      signal: stop.signal,
    });
    try {
      await sleep(15_000);
      const before = sample(await status(base), 0);
      // 15 s after a cold start: the model holds (3 instances, no drift yet).
      // (A cold start's first window taken whole measured scale 1.15–2.55 here; smoothed, 1.00.)
      expect(before.desired).toBe(3);
      expect(before.scale!).toBeLessThan(1.1);
      expect(before.error!).toBeLessThan(1.5);
      const tRelease = performance.now();
      const releaseAt = Date.now() / 1000;
      const release = rollOut(base, flag);
      const polls: Poll[] = [];
      let breachAt: number | undefined;
      let restoredAt: number | undefined;
      let under = 0;
      // Poll until the SLO has been back for 5 s after a breach and the alert fired, or 120 s.
      while (performance.now() - tRelease < 120_000) {
        const p = sample(await status(base), (performance.now() - tRelease) / 1000);
        polls.push(p);
        if (p.p99 !== null && p.p99 > SLO_MS) {
          breachAt ??= p.t;
          under = 0;
          restoredAt = undefined;
        } else if (breachAt !== undefined && p.p99 !== null && p.ready > 3) {
          under++;
          if (under === 1) restoredAt = p.t;
        }
        if (under >= 5 && p.drift === 'firing') break;
        await sleep(1000);
      }
      await release;
      const last = polls.at(-1)!;
      const firedAfter = last.driftFiredAt !== undefined ? last.driftFiredAt - releaseAt : undefined;
      const calibratedAt = polls.find((p) => p.calibrated)?.t;
      console.log(
        `model drift e2e: before (cold start + 15 s) ${fmt(before)}; breach at T+${breachAt?.toFixed(0)} s (max p99 ${Math.max(...polls.map((p) => p.p99 ?? 0)).toFixed(0)} ms), ` +
          `first Calibrated at T+${calibratedAt?.toFixed(0)} s, SLO restored at T+${restoredAt?.toFixed(0)} s, ` +
          `${DRIFT} fired at T+${firedAfter?.toFixed(0)} s; last: ${fmt(last)}`,
      );
      // (a) the release broke the SLO;
      expect(breachAt, polls.map(fmt).join('\n')).toBeDefined();
      // (b) the count grew and the SLO is back within 120 s of the release;
      expect(restoredAt, polls.map(fmt).join('\n')).toBeDefined();
      expect(under, polls.map(fmt).join('\n')).toBeGreaterThanOrEqual(5);
      expect(last.desired).toBeGreaterThan(3);
      expect(last.ready).toBeGreaterThan(3);
      // (c) because the loop sized with a calibrated service time (not a pre-release blip);
      expect(calibratedAt).toBeDefined();
      expect(polls.some((p) => p.calibrated && p.desired > 3)).toBe(true);
      expect(last.scale!).toBeGreaterThan(1.3);
      // (d) and it said so: the drift alert (for: 20s here) fired.
      expect(last.drift).toBe('firing');
      expect(firedAfter!).toBeLessThan(120);
      const s = await status(base);
      expect(s.events.some((e) => e.type === 'Alert' && e.message.startsWith(`${DRIFT} firing`))).toBe(true);
    } finally {
      stop.abort();
      await traffic.done;
    }
  }, 220_000);

  it('with run.calibrate: false the SLO stays broken (the alert still fires: it watches the model)', async () => {
    const { base, url, flag } = await start(false);
    const stop = new AbortController();
    const traffic = driveTraffic(url, [{ name: 'steady', seconds: 80, rps: () => RPS }], {
      maxRequests: 80 * RPS,
      signal: stop.signal,
    });
    try {
      await sleep(10_000);
      const tRelease = performance.now();
      const release = rollOut(base, flag);
      const polls: Poll[] = [];
      // At least 40 s; then until the alert fires (error > 1.5 from ~T+15 s, for: 20s), at most 65 s.
      // A fixed 40 s left ~5 s of margin and failed once on a busy machine (still pending at T+39 s).
      while (performance.now() - tRelease < 65_000) {
        polls.push(sample(await status(base), (performance.now() - tRelease) / 1000));
        if (polls.at(-1)!.t >= 40 && polls.at(-1)!.drift === 'firing') break;
        await sleep(1000);
      }
      await release;
      const last = polls.at(-1)!;
      console.log(`model drift e2e, calibrate: false: last: ${fmt(last)}`);
      // Sized with the spec's 20 ms: still 3 instances, never Calibrated, and over the SLO to the end.
      expect(polls.every((p) => p.desired === 3 && !p.calibrated)).toBe(true);
      const tail = polls.filter((p) => p.t >= 25);
      expect(
        tail.every((p) => p.p99 !== null && p.p99 > SLO_MS),
        tail.map(fmt).join('\n'),
      ).toBe(true);
      expect(last.drift).toBe('firing');
    } finally {
      stop.abort();
      await traffic.done;
    }
  }, 150_000);
});
