// Capacity search: run steps of rising rate until one breaks the SLO or the error-rate limit, then
// bisect between the last good and the first bad rate. The knee is the highest rate that held.
//
// E.g. start 100, factor 1.25, max 1000: 100, 125, 156.3, 195.3, 244.1 (bad) → refine 3:
// 219.7 (bad), 207.5 (bad), 201.4 (good) → knee 201.4 rps.
//
// Every run is bounded: before each step the remaining --max-duration and --max-requests must cover
// it (the hold is shortened down to half when they nearly do), and the generator enforces the same
// deadline and request cap itself, so even a step cut short cannot overrun them.
//
// When no rate breaks the SLO (--max-rps reached, or a budget stops the steps first) the knee is only
// a lower bound (`kneeIsLowerBound`): against nginx the default --max-rps 10000 recorded a knee of
// 10,000 rps where a higher ceiling found 25,313. Each step also measures the generator's own CPU
// (cores), since a generator sharing a small machine with its target takes cores the target needs.
import type { ProfileStep } from '../input/profile.ts';
import type { ErrorKind, StepMeasurement } from './generator.ts';

export interface Slo {
  latencyMs: number;
  /** In (0, 100), e.g. 99. */
  percentile: number;
}

export interface SearchPlan {
  slo: Slo;
  startRps: number;
  /** Geometric steps: next = previous · factor (used when incrementRps is not set). */
  factor: number;
  /** Linear steps: next = previous + incrementRps. */
  incrementRps?: number;
  maxRps: number;
  warmupS: number;
  holdS: number;
  /** Bisection steps between the last good and the first bad rate. */
  refine: number;
  /** Pause between steps so the target's queue drains (s). */
  cooldownS: number;
  /** Largest share of failed requests (errors + drops) a good step may have, e.g. 0.01. */
  errorRateLimit: number;
  maxDurationS: number;
  maxRequests: number;
}

export interface StepResult extends ProfileStep {
  phase: 'step' | 'refine';
  warmupS: number;
  holdS: number;
  meanMs: number;
  late: number;
  /** Latency at the SLO percentile (ms). */
  sloLatencyMs: number;
  /** (errors + dropped) / (sent + dropped). */
  errorRate: number;
  errorKinds: Partial<Record<ErrorKind, number>>;
  statusCounts: Record<string, number>;
  firstError?: string;
  /** Why the step failed: latency over the SLO and/or too many errors. */
  breach?: 'latency' | 'errors' | 'latency+errors';
  cut?: StepMeasurement['cut'];
  /**
   * CPU the generator's own process used during the step, in cores (CPU time ÷ wall time, warm-up
   * included): 0.8 = 80 % of one core. Absent when the runner cannot measure it.
   */
  generatorCpuCores?: number;
}

export type StopReason = 'slo' | 'error-rate' | 'max-rps' | 'aborted' | 'max-duration' | 'max-requests';

export interface SearchResult {
  steps: StepResult[];
  kneeRps: number;
  /** The first failing rate, if one was found (the knee lies between kneeRps and this). */
  firstBadRps?: number;
  stopReason: StopReason;
  /** The search ended before it found a failing step (the knee is then a lower bound) or was interrupted. */
  partial: boolean;
  /**
   * No rate broke the SLO: the knee is only the highest rate tried (--max-rps reached with the SLO
   * still met, or a budget/interrupt stopped the steps first), and the true knee lies above it.
   */
  kneeIsLowerBound: boolean;
  /** The busiest step's generatorCpuCores (what competes with a target on the same machine). */
  generatorCpuCores?: number;
  /** Refinement was cut short by a budget. */
  refineCut: boolean;
  requestsSent: number;
  elapsedS: number;
}

const ms = (us: number): number => us / 1000;

/** Turn a step's raw measurement into its judged result. */
export function judgeStep(
  m: StepMeasurement,
  slo: Slo,
  errorRateLimit: number,
  phase: StepResult['phase'],
): StepResult {
  const h = m.histogram;
  const has = h.totalCount > 0;
  // HDR reports a bucket's highest equivalent value, which can exceed the exact max by < 0.1 %.
  const max = has ? ms(h.maxValue) : 0;
  const at = (p: number): number => (has ? Math.min(max, ms(h.getValueAtPercentile(p))) : 0);
  const attempts = m.sent + m.dropped;
  const errorRate = attempts > 0 ? (m.errors + m.dropped) / attempts : 0;
  const sloLatencyMs = at(slo.percentile);
  const latencyBad = !has || sloLatencyMs > slo.latencyMs;
  const errorsBad = errorRate > errorRateLimit;
  const breach = latencyBad && errorsBad ? 'latency+errors' : latencyBad ? 'latency' : errorsBad ? 'errors' : undefined;
  return {
    phase,
    targetRps: m.targetRps,
    achievedRps: m.achievedRps,
    sent: m.sent,
    completed: m.completed,
    errors: m.errors,
    dropped: m.dropped,
    late: m.late,
    warmupS: m.warmupS,
    holdS: m.holdS,
    latencyMs: { p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max },
    meanMs: has ? ms(h.mean) : 0,
    sloLatencyMs,
    sloMet: breach === undefined,
    errorRate,
    errorKinds: m.errorKinds,
    statusCounts: m.statusCounts,
    ...(m.firstError ? { firstError: `${m.firstError.kind}: ${m.firstError.message}` } : {}),
    ...(breach ? { breach } : {}),
    ...(m.cut ? { cut: m.cut } : {}),
  };
}

/** The stepped rates: start, start·factor (or + increment), …, ending exactly at maxRps. */
export function stepRates(plan: Pick<SearchPlan, 'startRps' | 'factor' | 'incrementRps' | 'maxRps'>): number[] {
  const out: number[] = [];
  let r = plan.startRps;
  while (r < plan.maxRps - 1e-9 && out.length < 10_000) {
    out.push(r);
    r = plan.incrementRps !== undefined ? r + plan.incrementRps : r * plan.factor;
  }
  out.push(plan.maxRps);
  return out;
}

/**
 * Fit a step into what is left of the budgets: the full step, a shortened hold (at least half the
 * asked hold and 1 s), or nothing. E.g. 100 rps, 1 s warm-up + 4 s hold, 3.5 s and 10,000
 * requests left → 1 s + 2 s (the 0.5 s margin is for the drain).
 */
export function fitStepToBudget(
  rateRps: number,
  warmupS: number,
  holdS: number,
  remainingS: number,
  remainingRequests: number,
): { warmupS: number; holdS: number } | { stop: 'max-duration' | 'max-requests' } {
  const minHold = Math.min(holdS, Math.max(1, holdS / 2));
  let hold = Math.min(holdS, remainingS - 0.5 - warmupS);
  if (hold < minHold) return { stop: 'max-duration' };
  hold = Math.min(hold, remainingRequests / rateRps - warmupS);
  if (hold < minHold) return { stop: 'max-requests' };
  return { warmupS, holdS: hold };
}

const fmt = (x: number): string => String(Math.round(x * 10) / 10);

/**
 * Why the search stopped before its first step, with the numbers. E.g. --max-duration 5 with the
 * default --warmup 2 --hold 5: a step needs 2 s + at least 2.5 s of hold + 0.5 s to drain = 5 s,
 * and the probe's connection check left 4.97 s.
 */
export function noStepReason(
  plan: Pick<SearchPlan, 'warmupS' | 'holdS' | 'startRps' | 'maxDurationS' | 'maxRequests'>,
  stop: StopReason,
  leftS: number,
  leftRequests: number,
): string {
  const minHold = Math.min(plan.holdS, Math.max(1, plan.holdS / 2));
  const hold = `at least ${fmt(minHold)} s of its ${fmt(plan.holdS)} s --hold`;
  if (stop === 'max-duration') {
    const need = plan.warmupS + minHold + 0.5;
    return `no step fit in --max-duration ${fmt(plan.maxDurationS)} s: a step takes its --warmup ${fmt(plan.warmupS)} s + ${hold} + 0.5 s to drain = ${fmt(need)} s, and ${Math.max(0, leftS).toFixed(2)} s were left after the probe; raise --max-duration or shorten --warmup/--hold`;
  }
  if (stop === 'max-requests') {
    const need = Math.ceil(plan.startRps * (plan.warmupS + minHold));
    return `no step fit in --max-requests ${plan.maxRequests}: the first step (${fmt(plan.startRps)} rps for its --warmup ${fmt(plan.warmupS)} s + ${hold}) sends ${need} requests, and ${Math.max(0, leftRequests)} were left after the probe; raise --max-requests or lower --start-rps`;
  }
  if (stop === 'aborted') return 'interrupted before the first step';
  return `stopped by ${stop}`;
}

export type StepRunner = (
  rateRps: number,
  warmupS: number,
  holdS: number,
  limits: { maxSends: number; deadline: number },
) => Promise<StepMeasurement>;

export interface SearchDeps {
  runStep: StepRunner;
  /** Milliseconds on a monotonic clock (performance.now in the CLI, a fake in tests). */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  signal?: AbortSignal;
  onStep?: (r: StepResult, index: number) => void;
  /** When the whole run (probe included) started, on `now`'s clock. */
  startedAt?: number;
  /** Requests already spent (the probe). */
  requestsUsed?: number;
  /** CPU time (user + system, µs) this process has used so far: process.cpuUsage() in the CLI. */
  cpuTimeUs?: () => number;
}

export async function searchCapacity(plan: SearchPlan, deps: SearchDeps): Promise<SearchResult> {
  const startedAt = deps.startedAt ?? deps.now();
  const deadline = startedAt + plan.maxDurationS * 1000;
  let used = deps.requestsUsed ?? 0;
  const steps: StepResult[] = [];
  let good: StepResult | undefined;
  let bad: StepResult | undefined;
  let stopReason: StopReason | undefined;
  let refineCut = false;

  // Runs one step within the budgets; returns undefined (and sets stopReason) when it cannot.
  const step = async (rate: number, phase: StepResult['phase']): Promise<StepResult | undefined> => {
    if (deps.signal?.aborted) {
      stopReason = 'aborted';
      return undefined;
    }
    const fit = fitStepToBudget(
      rate,
      plan.warmupS,
      plan.holdS,
      (deadline - deps.now()) / 1000,
      plan.maxRequests - used,
    );
    if ('stop' in fit) {
      stopReason = fit.stop;
      return undefined;
    }
    const cpu0 = deps.cpuTimeUs?.();
    const t0 = deps.now();
    const m = await deps.runStep(rate, fit.warmupS, fit.holdS, { maxSends: plan.maxRequests - used, deadline });
    const wallMs = deps.now() - t0;
    used += m.totalSent;
    const r = judgeStep(m, plan.slo, plan.errorRateLimit, phase);
    if (cpu0 !== undefined && deps.cpuTimeUs && wallMs > 0) {
      r.generatorCpuCores = Math.round(((deps.cpuTimeUs() - cpu0) / 1000 / wallMs) * 1000) / 1000;
    }
    steps.push(r);
    deps.onStep?.(r, steps.length - 1);
    if (m.cut) {
      stopReason = m.cut === 'deadline' ? 'max-duration' : m.cut;
      return undefined;
    }
    if (plan.cooldownS > 0 && !deps.signal?.aborted) await deps.sleep(plan.cooldownS * 1000);
    return r;
  };

  for (const rate of stepRates(plan)) {
    const r = await step(rate, 'step');
    if (!r) break;
    if (r.sloMet) good = r;
    else {
      bad = r;
      break;
    }
  }
  const partial = bad === undefined && stopReason !== undefined;
  if (bad) {
    stopReason = bad.breach === 'errors' || bad.breach === 'latency+errors' ? 'error-rate' : 'slo';
    const breakReason = stopReason;
    // Bisect while the gap is above 2 % of the good rate.
    for (let i = 0; good && i < plan.refine && (bad.targetRps - good.targetRps) / good.targetRps > 0.02; i++) {
      const r = await step((good.targetRps + bad.targetRps) / 2, 'refine');
      if (!r) {
        refineCut = true;
        break;
      }
      if (r.sloMet) good = r;
      else bad = r;
    }
    // An interrupt during refinement still makes the result partial; a budget there only coarsens it.
    // (`step` sets stopReason inside a closure, which TypeScript's narrowing cannot see.)
    if ((stopReason as StopReason) === 'aborted') return result(true);
    stopReason = breakReason;
  }
  return result(partial);

  function result(isPartial: boolean): SearchResult {
    const cpu = steps.map((s) => s.generatorCpuCores).filter((c): c is number => c !== undefined);
    return {
      steps,
      kneeRps: good?.targetRps ?? 0,
      ...(bad ? { firstBadRps: bad.targetRps } : {}),
      stopReason: stopReason ?? 'max-rps',
      partial: isPartial,
      kneeIsLowerBound: good !== undefined && bad === undefined,
      ...(cpu.length > 0 ? { generatorCpuCores: cpu.reduce((a, b) => Math.max(a, b)) } : {}),
      refineCut,
      requestsSent: used,
      elapsedS: (deps.now() - startedAt) / 1000,
    };
  }
}
