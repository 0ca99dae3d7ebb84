// Runs the chosen policies over one trace, adds the oracle ratio, and (with sweep) runs the
// baselines over targets 50–95 % to draw their cost/violation frontiers. With `truth` (model
// error, truth.ts) the ground truth uses the true service times while the policies are told the
// spec's, and Headroom runs twice: as told, and calibrated against the latency the truth produces.
import { instanceHourCost, instanceSecondsCost, perMonth } from '../core/cost.ts';
import type { RateCounts, ServiceModel } from '../core/model.ts';
import { CapacityTable } from './capacity.ts';
import { simulate, type PolicyRun } from './engine.ts';
import { noiseBound, type NoiseBound, type NoiseShape } from './bound.ts';
import { headroomBurstWindow, headroomPolicy } from './policies/headroom.ts';
import { hpaPolicy } from './policies/hpa.ts';
import { kedaPolicy } from './policies/keda.ts';
import { kpaPolicy } from './policies/kpa.ts';
import { oraclePolicy } from './policies/oracle.ts';
import { staticPolicy } from './policies/static.ts';
import type { PodBurst, Policy, PolicyOptions } from './policies/types.ts';
import { tracePeak, type Trace } from '../input/trace.ts';
import {
  histogramLatencyMeter,
  modelErrorText,
  toldLabel,
  trueLatencyMeter,
  trueModel,
  truthLabel,
  type TrueServiceTime,
} from './truth.ts';

export const POLICY_NAMES = ['headroom', 'hpa', 'kpa', 'keda', 'static', 'oracle'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];
export const SWEPT: readonly PolicyName[] = ['hpa', 'kpa', 'keda'];
/** Targets the sweep runs the baselines at: 50 %, 55 %, … 95 %. */
export const SWEEP_TARGETS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];

export function makePolicy(name: PolicyName, opts: PolicyOptions): Policy {
  switch (name) {
    case 'headroom':
      return headroomPolicy(opts);
    case 'hpa':
      return hpaPolicy(opts);
    case 'kpa':
      return kpaPolicy(opts);
    case 'keda':
      return kedaPolicy(opts);
    case 'static':
      return staticPolicy();
    case 'oracle':
      return oraclePolicy();
  }
}

export interface PolicyResult extends PolicyRun {
  /** replicaSeconds ÷ the oracle's. */
  costVsOracle: number;
  /** With pricing: what its instance-seconds cost. */
  money?: PolicyMoney;
}

/** A policy's instance-seconds in money (the spec's pricing; core/cost.ts). */
export interface PolicyMoney {
  /** Over the whole trace. */
  total: number;
  /** Scaled to a month: total × 730 h ÷ the trace's hours. */
  perMonth: number;
  /** perMonth − Headroom's (positive: dearer than Headroom); absent without a headroom run. */
  vsHeadroomPerMonth?: number;
}

export interface Comparison {
  baseline: PolicyName;
  /** The cheapest swept setting with no more violating seconds than Headroom, if any. */
  bestAtEqualViolations?: { label: string; replicaSeconds: number; sloViolationSeconds: number };
  /** 1 − headroom cost / that setting's cost (0.25 = 25 % cheaper). */
  savings?: number;
  /** No swept setting matched Headroom's violations: Headroom dominates on violations. */
  noSettingAsGood: boolean;
  /** With pricing: that setting's cost per month − Headroom's (positive: Headroom saves this). */
  savingsPerMonth?: number;
}

export interface SimulationResult {
  service: string;
  trace: { source: string; seconds: number; rowSeconds: number; peakRps: number; meanRps: number };
  startupSeconds: number;
  scrapeSeconds: number;
  /** With `podBurst`: Headroom's round interval, its burst read from the pods' counters. */
  podBurstIntervalSeconds?: number;
  /** What Headroom's and KEDA's request rates counted (RateCounts). */
  reads: RateCounts;
  policies: PolicyResult[];
  sweep?: PolicyResult[];
  comparisons?: Comparison[];
  noiseBound?: NoiseBoundResult;
  /** With true service times that differ from the spec's: which was true, which the policies saw. */
  modelError?: ModelError;
  /** With pricing: one instance-hour's price; each policy then has `money`. */
  pricing?: { currency: string; perInstanceHour: number };
}

export interface ModelError {
  trueServiceTime: TrueServiceTime & { serviceTimeMs: number; label: string };
  told: { serviceTimeMs: number; label: string };
  /** "true service times: lognormal CV 2 × 1.5, 30 ms mean (the policy is told: exponential, 20 ms)". */
  text: string;
}

/** The noise bound (bound.ts) as reported: foresees the trend, covers the noise with one margin. */
export interface NoiseBoundResult {
  shape: NoiseShape;
  z: number;
  windowSeconds: number;
  budgetSeconds: number;
  /** The utilization ceiling charged (bound.ts), when one was. */
  utilization?: number;
  replicaSeconds: number;
  sloViolationSeconds: number;
  costVsOracle: number;
}

export interface SimulationOptions {
  trace: Trace;
  model: ServiceModel;
  /** Headroom only: the demand's past before the trace, as the controller reads it (backtest). */
  history?: PolicyOptions['history'];
  policies?: readonly PolicyName[];
  scrapeSeconds?: number;
  /**
   * Headroom reads its burst from the pods' own counters, as the controller does with
   * `spec.demand.pods`: a decision every `intervalSeconds`, the burst (the rate over
   * `behavior.burst.windowSeconds`, 6 s) from counters scraped every second and seen 1 s late; the
   * stable demand (60 s) still through the Prometheus pipeline, `scrapeSeconds` late. E.g.
   * `{ intervalSeconds: 1 }` with scrape 15 s at t = 100: the burst spans [93, 99), the stable
   * demand [15, 75), as the 15-s Headroom reads it. The baselines are unchanged.
   */
  podBurst?: PodBurst;
  /**
   * What Headroom's and KEDA's request rates count (default arrivals). `answers`: a counter
   * incremented on the answer (http_requests_total without spec.demand.pods.inFlight or
   * template.inFlight), which a saturated pool cannot raise past what it answers.
   */
  reads?: RateCounts;
  /** Target for the baselines when not sweeping (default 0.7). */
  baselineTarget?: number;
  sweep?: boolean;
  /** Targets of the sweep (default SWEEP_TARGETS, 50–95 %). */
  sweepTargets?: readonly number[];
  series?: boolean;
  /** Also compute the noise bound at Headroom's violating seconds (0.1 % without headroom). */
  bound?: boolean;
  /**
   * True service times (default: the spec's). They decide violations, the oracle and what the
   * baselines observe; the policies are still told the spec, and `headroom+calibrated` is added.
   */
  truth?: TrueServiceTime;
  /**
   * With `truth`: `headroom+calibrated` reads its latency as the controller's histogram template
   * does, histogram_quantile over these bounds (ms) with the noise of each window's requests
   * (truth.ts histogramLatencyMeter), not the truth's exact percentile.
   */
  latencyHistogramMs?: readonly number[];
  /** Progress: called after each run. */
  onRun?: (run: PolicyRun) => void;
  /** More policies, run first and listed first (backtest: the replicas the cluster actually ran). */
  extra?: readonly Policy[];
}

export function runSimulation(o: SimulationOptions): SimulationResult {
  const names = o.policies?.length ? o.policies : POLICY_NAMES;
  const scrapeSeconds = o.scrapeSeconds ?? 15;
  const table = new CapacityTable(o.truth ? trueModel(o.model, o.truth) : o.model);
  const reads = o.reads ?? 'arrivals';
  const base: PolicyOptions = { model: o.model, scrapeSeconds, reads };
  // Only Headroom reads the pods; the baselines keep their own pipelines.
  const hrOpts: PolicyOptions = {
    ...base,
    ...(o.podBurst ? { podBurst: o.podBurst } : {}),
    ...(o.history ? { history: o.history } : {}),
  };
  const target = o.baselineTarget ?? 0.7;
  const run = (p: Policy, series: boolean): PolicyRun => {
    const r = simulate(o.trace, o.model, p, { table, series });
    o.onRun?.(r);
    return r;
  };
  const oracle = run(oraclePolicy(), names.includes('oracle') && o.series === true);
  const withRatio = (r: PolicyRun): PolicyResult => ({
    ...r,
    costVsOracle: oracle.replicaSeconds > 0 ? r.replicaSeconds / oracle.replicaSeconds : 1,
  });
  const policies: PolicyResult[] = [];
  for (const p of o.extra ?? []) policies.push(withRatio(run(p, o.series === true)));
  for (const name of names) {
    if (name === 'oracle') policies.push(withRatio(oracle));
    else {
      const opts = name === 'headroom' ? hrOpts : base;
      policies.push(withRatio(run(makePolicy(name, { ...opts, target }), o.series === true)));
    }
    if (name === 'headroom' && o.truth) {
      const window = headroomBurstWindow(hrOpts);
      const meter = o.latencyHistogramMs
        ? histogramLatencyMeter(table, window, o.latencyHistogramMs)
        : trueLatencyMeter(table, window);
      policies.push(withRatio(run(headroomPolicy({ ...hrOpts, target }, meter), o.series === true)));
    }
  }
  const peak = tracePeak(o.trace);
  let sum = 0;
  for (const v of o.trace.rps) sum += v;
  const result: SimulationResult = {
    service: o.model.name,
    trace: {
      source: o.trace.source,
      seconds: o.trace.rps.length,
      rowSeconds: o.trace.rowSeconds,
      peakRps: peak,
      meanRps: o.trace.rps.length ? sum / o.trace.rps.length : 0,
    },
    startupSeconds: o.model.startupSeconds,
    scrapeSeconds,
    ...(o.podBurst ? { podBurstIntervalSeconds: o.podBurst.intervalSeconds } : {}),
    reads,
    policies,
  };
  if (o.truth) {
    result.modelError = {
      trueServiceTime: {
        ...o.truth,
        serviceTimeMs: o.model.instance.serviceTimeMs * o.truth.scale,
        label: truthLabel(o.truth),
      },
      told: { serviceTimeMs: o.model.instance.serviceTimeMs, label: toldLabel(o.model) },
      text: modelErrorText(o.truth, o.model),
    };
  }
  if (o.sweep) {
    const sweep: PolicyResult[] = [];
    for (const name of SWEPT) {
      if (!names.includes(name) && o.policies?.length) continue;
      for (const t of o.sweepTargets ?? SWEEP_TARGETS)
        sweep.push(withRatio(run(makePolicy(name, { ...base, target: t }), false)));
    }
    result.sweep = sweep;
    const hr = policies.find((p) => p.policy === 'headroom');
    if (hr) result.comparisons = compare(hr, sweep);
  }
  if (o.model.pricing) addMoney(result, o.model);
  if (o.bound) {
    const hr = policies.find((p) => p.policy === 'headroom');
    const budgetSeconds = hr ? hr.sloViolationSeconds : Math.floor(0.001 * o.trace.rps.length);
    // Charged Headroom's own ceiling, as the bench charges every policy its own (bound.ts).
    const b = noiseBound(o.trace, o.model, { budgetSeconds, table, utilization: o.model.targetUtilization });
    if (b) result.noiseBound = boundResult(b, oracle.replicaSeconds);
  }
  return result;
}

/**
 * Each policy's (and sweep setting's) instance-seconds in money, over the trace and per month, and
 * the difference from Headroom's. E.g. 2 days at a mean of 10 instances of 0.02 USD an hour:
 * 10 × 48 h × 0.02 = 9.60 USD over the trace, 9.60 × 730 ÷ 48 = 146 USD/month.
 */
export function addMoney(result: SimulationResult, model: ServiceModel): void {
  const pricing = model.pricing;
  if (!pricing) return;
  const seconds = result.trace.seconds;
  const money = (r: { replicaSeconds: number }): PolicyMoney => {
    const total = instanceSecondsCost(pricing, model.instance, r.replicaSeconds);
    return { total, perMonth: perMonth(total, seconds) };
  };
  for (const p of [...result.policies, ...(result.sweep ?? [])]) p.money = money(p);
  const hr = result.policies.find((p) => p.policy === 'headroom')?.money;
  if (hr) {
    for (const p of [...result.policies, ...(result.sweep ?? [])]) {
      if (p.money) p.money.vsHeadroomPerMonth = p.money.perMonth - hr.perMonth;
    }
    for (const c of result.comparisons ?? []) {
      if (c.bestAtEqualViolations) {
        c.savingsPerMonth = money(c.bestAtEqualViolations).perMonth - hr.perMonth;
      }
    }
  }
  result.pricing = { currency: pricing.currency, perInstanceHour: instanceHourCost(pricing, model.instance) };
}

export function boundResult(b: NoiseBound, oracleReplicaSeconds: number): NoiseBoundResult {
  return {
    shape: b.shape,
    z: b.z,
    windowSeconds: b.windowSeconds,
    budgetSeconds: b.budgetSeconds,
    ...(b.utilization !== undefined ? { utilization: b.utilization } : {}),
    replicaSeconds: b.run.replicaSeconds,
    sloViolationSeconds: b.run.sloViolationSeconds,
    costVsOracle: oracleReplicaSeconds > 0 ? b.run.replicaSeconds / oracleReplicaSeconds : 1,
  };
}

/** Headroom against each baseline's best-tuned setting at no more violations. */
export function compare(hr: PolicyRun, sweep: readonly PolicyRun[]): Comparison[] {
  const out: Comparison[] = [];
  for (const baseline of SWEPT) {
    const pts = sweep.filter((r) => r.policy === baseline);
    if (pts.length === 0) continue;
    const ok = pts.filter((r) => r.sloViolationSeconds <= hr.sloViolationSeconds);
    const best = ok.sort((a, b) => a.replicaSeconds - b.replicaSeconds)[0];
    if (!best) {
      out.push({ baseline, noSettingAsGood: true });
      continue;
    }
    out.push({
      baseline,
      bestAtEqualViolations: {
        label: best.label,
        replicaSeconds: best.replicaSeconds,
        sloViolationSeconds: best.sloViolationSeconds,
      },
      savings: 1 - hr.replicaSeconds / best.replicaSeconds,
      noSettingAsGood: false,
    });
  }
  return out;
}

/**
 * A family's fewest violating seconds among its settings that cost no more than `cost`
 * instance-seconds (issue 15: "strictly fewer violations than KPA's best at equal cost"); undefined
 * when every setting costs more.
 */
export function fewestAtCost<P extends PolicyRun>(cost: number, sweep: readonly P[], family: string): P | undefined {
  let best: P | undefined;
  for (const p of sweep) {
    if (p.policy !== family || p.replicaSeconds > cost) continue;
    if (!best || p.sloViolationSeconds < best.sloViolationSeconds) best = p;
  }
  return best;
}

/** The Pareto frontier (fewest violations for the cost) of one family's points, by cost. */
export function frontier<P extends PolicyRun>(points: readonly P[]): P[] {
  const sorted = [...points].sort(
    (a, b) => a.replicaSeconds - b.replicaSeconds || a.sloViolationSeconds - b.sloViolationSeconds,
  );
  const out: P[] = [];
  let best = Infinity;
  for (const p of sorted) {
    if (p.sloViolationSeconds < best) {
      out.push(p);
      best = p.sloViolationSeconds;
    }
  }
  return out;
}

/** One trace's Headroom run and the baselines' sweep, as bench/simulate.ts ran them. */
export interface TraceRuns {
  /** The trace's name, as the rows list it. */
  trace: string;
  headroom: PolicyRun;
  sweep: readonly PolicyRun[];
  /** The oracle's instance-seconds on that trace: each cost is taken × it before the mean. */
  oracleSeconds: number;
}

/** One baseline setting kept for every trace, against Headroom at its defaults on the same traces. */
export interface OneSettingRow {
  label: string;
  /** Mean over the traces of × oracle. */
  meanCost: number;
  /** The largest violating share of a trace's seconds over the traces, and that trace. */
  worstViolating: number;
  worstTrace: string;
  /** Traces where the setting violates more than `limit` (0.1 %) of the seconds. */
  over: number;
  /** Traces where Headroom costs no more and violates no more (at least one strictly). */
  headroomBetter: string[];
  /** Traces where the setting costs no more and violates no more than Headroom (one strictly). */
  settingBetter: string[];
}

const dominates = (a: PolicyRun, b: PolicyRun): boolean =>
  a.replicaSeconds <= b.replicaSeconds &&
  a.sloViolationSeconds <= b.sloViolationSeconds &&
  (a.replicaSeconds < b.replicaSeconds || a.sloViolationSeconds < b.sloViolationSeconds);

/**
 * Issue 15's targets pick each baseline's best setting per trace; a user deploys one setting for
 * whatever traffic comes. Every swept setting (family@target) kept across all the traces, in sweep
 * order; a setting missing from a trace's sweep is left out.
 */
export function oneSetting(runs: readonly TraceRuns[], limit = 0.001): OneSettingRow[] {
  const labels = [...new Set(runs.flatMap((r) => r.sweep.map((p) => p.label)))];
  const rows: OneSettingRow[] = [];
  for (const label of labels) {
    const pairs = runs.flatMap((r) => {
      const p = r.sweep.find((x) => x.label === label);
      return p ? [{ r, p }] : [];
    });
    if (pairs.length !== runs.length || pairs.length === 0) continue;
    const worst = pairs.reduce((a, b) => (b.p.violationFraction > a.p.violationFraction ? b : a));
    rows.push({
      label,
      meanCost: pairs.reduce((s, { r, p }) => s + p.replicaSeconds / r.oracleSeconds, 0) / pairs.length,
      worstViolating: worst.p.violationFraction,
      worstTrace: worst.r.trace,
      over: pairs.filter(({ p }) => p.violationFraction > limit).length,
      headroomBetter: pairs.filter(({ r, p }) => dominates(r.headroom, p)).map(({ r }) => r.trace),
      settingBetter: pairs.filter(({ r, p }) => dominates(p, r.headroom)).map(({ r }) => r.trace),
    });
  }
  return rows;
}
