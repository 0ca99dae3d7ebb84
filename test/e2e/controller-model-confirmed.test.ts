// The Kubernetes controller takes decide()'s "model confirmed" path (step 2b, ForecastWorstMiss):
// under a record that bounds the worst recent miss, where the policy's measured latency confirms the
// model it sizes with (the calibration's smoothed measured ÷ the spec's predicted p99 within
// MODEL_CONFIRMED, 1.02, of the scale in use, and the last window within 1.02 of that model's), the
// utilization target reads the last half hour's mean demand, not a minute's peak. Until now only
// unit and simulator tests covered it; here through REAL parts: a REAL kube-apiserver + etcd +
// kube-controller-manager (pods marked Ready by a stand-in kubelet: calibration counts ready pods),
// a REAL Prometheus holding 2 days of backfilled demand and a latency histogram (promtool, from
// OpenMetrics, as controller-history.test.ts does), and the in-process controller reading both
// through the policies' templates (the history on its first round, rate() and histogram_quantile()
// every round after). The data runs 20 minutes ahead of the write, so the "live" reads are
// backfilled data too.
//
// The numbers. Every policy: 20 ms per request, 4 at a time (200 rps per instance), target 0.9
// (180 rps), p99 ≤ 500 ms, the forecast on; 10 pods to start (START), the scale-up unlimited. Each
// has its own Deployment and job label with the same demand: 1,750 rps ± 5 % each minute for 2 days
// (a seeded LCG; 15 minutes more are written before them, unread: see policy()), then, from 5
// minutes before the write and through the 20 ahead, held at +4 %: 1,820 rps, the demand seen now
// at the top of its noise. (Held, not noisy: with ±5 % to the end a minute's peak, the mean of the
// last 3 minutes' peaks, read only ~1 % above the half hour's mean, and which count each asked
// depended on where the run's clock fell.) A run read:
//   - the record: the highest 5-minute peak of the 2 days but the last hour, 1,837 rps (≤ 1.05 ×
//     1,750), ≥ the 1,820 now; every miss of the last 3 days within 1.082× (< 1.25): it bounds;
//   - a minute's peak (the central value), 1,820 rps ÷ 180 = 10.1 → 11 (the margined forecast,
//     1,931 rps, → 11 too);
//   - the half hour's mean (the running 5-minute bucket and the 5 before it), 1,747–1,772 rps in
//     the runs (25 minutes of noise around 1,750 and the held minutes, as the clock falls on the
//     buckets) ÷ 180 = 9.7–9.8 → 10;
//   - the SLO side: 2 % past the record, 1,874 rps, at full utilization within 500 ms needs 10
//     (the exponential's own p99 is 92 ms): it does not outbid the 10 of the mean.
// The spec's model at 1,820 rps predicts p99 95.3 ms on 10 instances (92.6 on 11, 92.1 from 12).
// Three policies:
//   - `confirmed` reads a histogram whose p99 is 75 ms (70 % ≤ 25 ms, 98 % ≤ 50 ms, all ≤ 100
//     ms): 75 ÷ 95.3 = 0.79 a window, the model confirmed → the mean, 10, the reason "every 120-s
//     peak … : 1764 rps (the last half hour's mean; 1820 rps now) at utilization 0.9 needs 10 and
//     1874 rps (…) within the SLO needs 10, so 10, not the 11 that its 1.061× margin under
//     utilization 0.9 needs";
//   - `plain` has no spec.latency: nothing confirms the model → the minute's peak, 11 (Forecast,
//     "1931 rps needs 11");
//   - `slow` reads a p99 of 600 ms (98.75 % ≤ 500 ms, all ≤ 1 s): ~6.3× the prediction, past what
//     even the largest calibrated scale (4×, CALIBRATION.maxScale) explains, so not confirmed
//     whether the gate compares the error with 1 or with the scale in use → no "half hour's mean".
//     (It also calibrates its scale up and grows; its count is not asserted.)
// A calibration's first sample only starts its clock (error 1 until a second sample that is
// evidence; decide() takes no confirmation from it), so each latency policy is asserted on a round
// whose smoothed error has moved: below 1
// for `confirmed`, past 1.02 for `slow`. Runs in 8–45 s with the control plane up (+ ~10 s to start it).
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planService } from '../../src/core/plan.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { buildModel, type PolicyStatus } from '../../src/controller/policy.ts';
import { e2ePolicy, testController } from './support/controller.ts';
import {
  createNamespace,
  createPolicy,
  deleteNamespace,
  ensureCluster,
  readPolicy,
  readyDeployments,
  replicasOf,
  waitFor,
} from './support/kube.ts';
import { startPrometheus, type Prometheus } from './support/prometheus.ts';

let kc: KubeConfig;
let ns: string;
let prom: Prometheus;
let controller: Controller | undefined;
const closers: Array<() => Promise<void>> = [];

const LEVEL = 1750;
const NOISE = 0.05;
const HELD = 1.04;
/** 200 rps per instance (20 ms, 4 at a time) × target 0.9. */
const PER_INSTANCE_AT_TARGET = 180;
const STEP = 15;
/**
 * Samples half a second off the 15-s grid: no read at a whole second (the history's reads are)
 * holds a sample on both edges of its window, so every 1-m rate spans the same 45 s of 3 steps.
 */
const OFFSET = 7.5;
const POLICIES = ['confirmed', 'plain', 'slow'] as const;
/**
 * Pods each Deployment starts with: 10, where the model at 1,820 rps predicts a finite p99 (95.3
 * ms). On fewer it predicts none (1,820 rps past 9 × 200), and a window measured there reads as a
 * 4× error (CALIBRATION.maxScale): from 2 pods, whether the round after the scale-up still saw 2
 * ready raced the stand-in kubelet, and `confirmed` lost its confirmation when it did.
 */
const START = 10;

/** Cumulative share of requests at or under each bucket's bound (s), per policy with a latency read. */
const LATENCY: Record<string, Array<[string, number]>> = {
  // p99 in (0.05, 0.1]: 0.05 + 0.05 × (0.99 − 0.98) / (1 − 0.98) = 0.075 s.
  confirmed: [
    ['0.025', 0.7],
    ['0.05', 0.98],
    ['0.1', 1],
    ['0.25', 1],
    ['0.5', 1],
    ['1', 1],
    ['+Inf', 1],
  ],
  // p99 in (0.5, 1]: 0.5 + 0.5 × (0.99 − 0.9875) / (1 − 0.9875) = 0.6 s.
  slow: [
    ['0.025', 0.3],
    ['0.05', 0.5],
    ['0.1', 0.7],
    ['0.25', 0.9],
    ['0.5', 0.9875],
    ['1', 1],
    ['+Inf', 1],
  ],
};

/** The demand: minute m's rate, and the counter's value at any time (its integral). */
interface Demand {
  /** rps over (t − 15, t] for a sample time t: the minute the step starts in sets it. */
  stepRate(t: number): number;
  /** Sample times, oldest first. */
  times: number[];
  /** The counter at each sample time. */
  counts: number[];
  /** Requests counted from the first sample up to time s (linear within a step). */
  countAt(s: number): number;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * 1,750 rps ± 5 % per minute (seeded) from 2 days and 15 minutes before `now`; from 5 minutes before
 * `now` on, 1,820.
 */
function demand(now: number): Demand {
  const start = now - 2 * 86400 - 900;
  const first = Math.floor(start / STEP) * STEP + OFFSET;
  const m0 = Math.floor(start / 60) - 1;
  const heldFrom = Math.floor((now - 300) / 60);
  const rnd = lcg(20_260_101);
  const noise: number[] = [];
  for (let m = m0; m <= Math.floor((now + 1200) / 60) + 1; m++) noise.push(NOISE * (2 * rnd() - 1));
  const minuteRate = (m: number): number => (m >= heldFrom ? LEVEL * HELD : LEVEL * (1 + noise[m - m0]!));
  const stepRate = (t: number): number => minuteRate(Math.floor((t - STEP) / 60));
  const times: number[] = [];
  const counts: number[] = [];
  let total = 0;
  for (let t = first; t <= now + 1200; t += STEP) {
    total += stepRate(t) * STEP;
    times.push(t);
    counts.push(total);
  }
  const countAt = (s: number): number => {
    const k = Math.ceil((s - first) / STEP);
    if (k <= 0) return 0;
    const t = first + k * STEP;
    return counts[k]! - stepRate(t) * (t - s);
  };
  return { stepRate, times, counts, countAt };
}

let d: Demand;

/** Counters for each policy's job and the latency histograms (the last 15 minutes on), as OpenMetrics. */
function history(now: number): string {
  const lines = ['# TYPE http_requests counter'];
  for (const job of POLICIES)
    d.times.forEach((t, k) => lines.push(`http_requests_total{job="${job}"} ${d.counts[k]} ${t}`));
  // The latency queries read the last 30 s: 15 minutes before the write are plenty (and keep the
  // file small). The histogram counts the same requests as the counter.
  lines.push('# TYPE http_request_duration_seconds histogram');
  for (const [job, buckets] of Object.entries(LATENCY))
    d.times.forEach((t, k) => {
      if (t < now - 900) return;
      const n = d.counts[k]!;
      for (const [le, share] of buckets)
        lines.push(`http_request_duration_seconds_bucket{job="${job}",le="${le}"} ${n * share} ${t}`);
      lines.push(`http_request_duration_seconds_count{job="${job}"} ${n} ${t}`);
      lines.push(`http_request_duration_seconds_sum{job="${job}"} ${n * 0.03} ${t}`);
    });
  return `${lines.join('\n')}\n# EOF\n`;
}

/**
 * The test's own half-hour mean at decision time `at` (s): as decide() reads it, the mean of the
 * 5-minute buckets' means, the running one (up to `at`) and the 5 before; each bucket's mean here is
 * the 1-minute rate (the counter's increase over the 60 s before) every second of it.
 */
function ownHalfHourMean(at: number): number {
  const last = Math.floor(at / 300);
  let sum = 0;
  for (let b = last - 5; b <= last; b++) {
    let s = 0;
    let n = 0;
    for (let t = b * 300; t < Math.min(at, (b + 1) * 300); t++) {
      s += (d.countAt(t) - d.countAt(t - 60)) / 60;
      n++;
    }
    sum += s / n;
  }
  return sum / 6;
}

beforeAll(async () => {
  kc = (await ensureCluster()).kc;
  ns = await createNamespace(kc, 'hr-confirmed');
  await readyDeployments(kc, ns, POLICIES, START, closers);
  const now = Math.floor(Date.now() / 1000);
  d = demand(now);
  prom = await startPrometheus({}, '15s', [], [], { openMetrics: history(now) });
}, 600_000);

afterAll(async () => {
  await controller?.stop().catch(() => undefined);
  for (const close of closers) await close().catch(() => undefined);
  await prom?.dispose().catch(() => undefined);
  if (kc && ns) await deleteNamespace(kc, ns);
});

function policy(name: (typeof POLICIES)[number]) {
  const base = e2ePolicy(
    ns,
    name,
    name,
    { template: { name: 'requestRate', metric: 'http_requests_total', selector: { job: name }, window: '1m' } },
    {
      instance: { serviceTimeMs: 20, concurrency: 4 },
      targetUtilization: 0.9,
      slo: { latencyMs: 500, percentile: 99 },
      replicas: { min: 1, max: 40 },
      // The forecast on, reading the last 2 days: not the counter's first samples 15 minutes before
      // them, where rate() extrapolates 2 samples to ~0.6× the level and the minutes after score a
      // miss of up to 1.6×, which weighs over half a miss for 3 days and keeps the worst miss past
      // 1.25× (no record: 2 of 8 clock alignments tried). The scale-up unlimited, and no scale-down
      // window: decide() takes no confirmation from a calibration's first sample, so `confirmed`'s
      // first round asks the minute's peak (11) like `plain`, and the count that follows is the
      // confirmed round's own, not the 300 s window's highest.
      behavior: {
        forecast: { historySeconds: 2 * 86400 },
        scaleUp: { policies: [{ type: 'Pods', value: 100, periodSeconds: 1 }] },
        scaleDown: { stabilizationWindowSeconds: 0 },
      },
    },
  );
  if (name === 'plain') return base;
  const latency = {
    template: { name: 'histogram', metric: 'http_request_duration_seconds', selector: { job: name }, window: '30s' },
    // Seconds, not the default minute: the first window that is evidence moves the error.
    halfLifeSeconds: 2,
  };
  return { ...base, spec: { ...base.spec, latency } };
}

const MEAN = /: ([\d.]+) rps \(the last half hour's mean; ([\d.]+) rps now\) at utilization 0\.9 needs (\d+) /;
const worstMiss = (s: PolicyStatus | undefined): string =>
  s?.lastDecision?.reasons.find((r) => r.code === 'ForecastWorstMiss')?.message ?? '';
/** The calibration's smoothed error, unrounded (status.model.error keeps 3 digits), and its samples. */
const calibration = (s: PolicyStatus | undefined): { error: number; samples: number } => {
  const st = s?.model?.state as { logError?: number; samples?: number } | undefined;
  return { error: Math.exp(st?.logError ?? 0), samples: st?.samples ?? 0 };
};

describe('the controller sizes on the half hour mean where measured latency confirms the model', () => {
  it('confirmed: the mean (10 pods); no latency read: the minute peak (11); a model 6× slow: not the mean', async () => {
    for (const name of POLICIES) await createPolicy(kc, ns, policy(name));
    controller = testController(kc, prom.url, ns);
    await controller.start();
    const status = async (name: string) => (await readPolicy(kc, ns, name)).status;

    // The first rounds: every policy read its past and decided.
    const first = await Promise.all(
      POLICIES.map((name) =>
        waitFor(
          `${name}'s first decision`,
          () => status(name),
          (s) => s?.lastDecision !== undefined,
          60_000,
        ),
      ),
    );
    console.log(
      JSON.stringify(
        first.map((s, i) => ({
          policy: POLICIES[i],
          desired: s?.desiredReplicas,
          model: s?.model && { error: s.model.error, samples: s.model.samples },
          worstMiss: worstMiss(s),
        })),
      ),
    );

    // `confirmed` once its calibration took a window as evidence (its second round, at 10 ready).
    const confirmed = await waitFor(
      'confirmed: a measured window in its calibration',
      () => status('confirmed'),
      (s) => calibration(s).samples >= 2 && calibration(s).error < 1,
      120_000,
    );
    const plain = await status('plain');
    const slow = await waitFor(
      'slow: its error past 1.02',
      () => status('slow'),
      (s) => calibration(s).error > 1.02,
      120_000,
    );
    const c = confirmed!.lastDecision!;
    const detail = JSON.stringify({ confirmed: { ...c, model: confirmed?.model && { ...confirmed.model, state: 0 } } });
    console.log(
      JSON.stringify({
        confirmed: { desired: confirmed?.desiredReplicas, error: calibration(confirmed), reason: worstMiss(confirmed) },
        plain: { desired: plain?.desiredReplicas, reasons: plain?.lastDecision?.reasons },
        slow: {
          desired: slow?.desiredReplicas,
          error: calibration(slow),
          scale: slow?.model?.scale,
          reasons: slow?.lastDecision?.reasons,
        },
      }),
    );

    // confirmed: the model confirmed (75 ms measured where it predicts 95.3 on 10) ...
    expect(calibration(confirmed).error, detail).toBeLessThanOrEqual(1.02);
    expect(confirmed?.model?.measuredLatencyMs, detail).toBeCloseTo(75, 0);
    // ... so the target reads the half hour's mean, and the "now" beside it is the held 1,820 rps.
    const m = MEAN.exec(worstMiss(confirmed));
    expect(m, detail).not.toBeNull();
    const [mean, now, needs] = [Number(m![1]), Number(m![2]), Number(m![3])];
    expect(now).toBe(LEVEL * HELD);
    expect(worstMiss(confirmed)).toContain('the highest of the 2 days before the last hour');
    // The mean equals the test's own mean of the rates it wrote, at the decision's time. Within 0.5 %:
    // the controller's rate() reads the counter's increase over the 45 s of samples in its minute and
    // extrapolates it, 15 s apart in the past and every second since it started; the test integrates
    // the 60 s before each second (a model of this pipeline differed by < 0.1 %, the runs by ≤ 0.03 %);
    // the reason keeps 4 digits (0.03 %). The minute's peak is 3–4 % above it: 0.5 % cannot take one
    // for the other.
    const own = ownHalfHourMean(Date.parse(c.time) / 1000);
    console.log(JSON.stringify({ reasonMean: mean, ownMean: own, off: mean / own - 1 }));
    expect(Math.abs(mean / own - 1), `reason ${mean} rps, own ${own} rps`).toBeLessThan(0.005);
    expect(own).toBeLessThan(now * 0.985);
    // What the mean asks, computed here: ceil(own ÷ 180), the same as planService with the spec (the
    // SLO binds no higher: 2 % past the record at full utilization needs 10 too).
    const asked = Math.ceil(own / PER_INSTANCE_AT_TARGET);
    expect(asked).toBe(10);
    const model = buildModel(await readPolicy(kc, ns, 'confirmed'));
    expect(planService(model, { demandRps: own }).replicas).toBe(asked);
    expect(needs, detail).toBe(asked);
    expect(c.recommended, detail).toBe(asked);
    expect(confirmed?.desiredReplicas, detail).toBe(asked);
    // Its first round (no confirmation yet) asked 11, like `plain`; the confirmed round wrote 10.
    expect(first[0]?.desiredReplicas, JSON.stringify(first[0]?.lastDecision)).toBe(11);
    expect(await replicasOf(kc, ns, 'confirmed')).toBe(asked);

    // plain: no latency read, nothing confirms the model: the minute's peak, 1,820 ÷ 180 → 11.
    const p = JSON.stringify(plain?.lastDecision);
    expect(plain?.model, p).toBeUndefined();
    expect(p).not.toContain("half hour's mean");
    expect(plain?.desiredReplicas, p).toBe(Math.ceil((LEVEL * HELD) / PER_INSTANCE_AT_TARGET));
    expect(plain!.desiredReplicas!, p).toBeGreaterThan(confirmed!.desiredReplicas!);
    expect(await replicasOf(kc, ns, 'plain')).toBe(plain?.desiredReplicas); // written, 10 → 11

    // slow: measured far past the model: not confirmed, no half hour's mean.
    const sl = JSON.stringify({ decision: slow?.lastDecision, model: slow?.model && { ...slow.model, state: 0 } });
    expect(slow?.model?.measuredLatencyMs, sl).toBeGreaterThan(500);
    expect(sl).not.toContain("half hour's mean");
  }, 180_000);
});
