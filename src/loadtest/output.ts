// What `headroom loadtest` writes: the --json result and the capacity profile, and the warnings
// both carry. The text for people (step lines, progress bar, table) is in output-text.ts.
import { HeadroomError } from '../core/errors.ts';
import type { ServiceTimeQuantiles } from '../core/model.ts';
import { MIN_PROBE_SAMPLES, PROFILE_KIND, capacityProfileSchema, type CapacityProfile } from '../input/profile.ts';
import type { QueueFit } from './fit.ts';
import type { ProbeResult } from './generator.ts';
import type { SearchResult, Slo, StepResult } from './search.ts';
import { distributionIssue, type ServiceTimeStats } from './service-time.ts';

export const RESULT_KIND = 'headroom.dev/loadtest-result/v1';

export interface LoadtestResult {
  kind: typeof RESULT_KIND;
  target: string;
  method: string;
  measuredAt: string;
  slo: Slo;
  errorRateLimit: number;
  kneeRps: number;
  firstBadRps: number | null;
  serviceTimeMs: number | null;
  concurrency: number | null;
  capacityRps: number | null;
  predictedKneeRps: number | null;
  fitMethod: QueueFit['method'] | null;
  /** The model behind predictedKneeRps: M/G/c with the probe's distribution, or M/M/c. */
  predictedKneeModel: QueueFit['model'] | null;
  stopReason: SearchResult['stopReason'];
  partial: boolean;
  /** No rate broke the SLO: the true knee is above kneeRps (--max-rps reached, or stopped early). */
  kneeIsLowerBound: boolean;
  refineCut: boolean;
  /** The generator's own CPU during its busiest step, in cores (null: not measured). */
  generatorCpuCores: number | null;
  /** Where the generator ran: its cores (os.availableParallelism) and whether the target is on it. */
  host: { cores: number; targetIsLocal: boolean } | null;
  probe: ProbeSummary | null;
  requestsSent: number;
  elapsedS: number;
  steps: StepResult[];
}

/**
 * The probe: sequential requests, one at a time. `meanMs` is what the fit uses; `distribution` (when
 * ≥ 2 requests succeeded) is the service time as the client saw it, round trip included, over the
 * successful requests; `stable` when it has ≥ MIN_PROBE_SAMPLES of them (then it goes into the
 * profile and the fit's predicted knee).
 */
export interface ProbeSummary {
  meanMs: number;
  /** Requests timed (the first, which opens the connection, is not). */
  samples: number;
  distribution: {
    samples: number;
    meanMs: number;
    stdDevMs: number;
    cv: number;
    quantilesMs: ServiceTimeQuantiles;
    maxMs: number;
    /** Usable for the profile and the fit: enough samples, consistent with its mean. */
    stable: boolean;
    /** Why not, when not stable. */
    issue?: string;
  } | null;
}

export const r2 = (x: number): number => Math.round(x * 100) / 100;
export const r3 = (x: number): number => Math.round(x * 1000) / 1000;

export function buildResult(a: {
  target: string;
  method: string;
  measuredAt: Date;
  slo: Slo;
  errorRateLimit: number;
  search: SearchResult;
  fit: QueueFit | undefined;
  probe: ProbeResult | undefined;
  /** Statistics of the probe's latencies (serviceTimeStats). */
  probeStats?: ServiceTimeStats | undefined;
  /** The generator's machine, for the warning when generator and target share few cores. */
  host?: { cores: number; targetIsLocal: boolean } | undefined;
}): LoadtestResult {
  const { search, fit } = a;
  return {
    kind: RESULT_KIND,
    target: a.target,
    method: a.method,
    measuredAt: a.measuredAt.toISOString(),
    slo: a.slo,
    errorRateLimit: a.errorRateLimit,
    kneeRps: r2(search.kneeRps),
    firstBadRps: search.firstBadRps !== undefined ? r2(search.firstBadRps) : null,
    serviceTimeMs: fit ? r3(fit.serviceTimeMs) : null,
    concurrency: fit ? fit.concurrency : null,
    capacityRps: fit ? r2(fit.capacityRps) : null,
    predictedKneeRps: fit ? r2(fit.predictedKneeRps) : null,
    fitMethod: fit ? fit.method : null,
    predictedKneeModel: fit ? fit.model : null,
    stopReason: search.stopReason,
    partial: search.partial,
    kneeIsLowerBound: search.kneeIsLowerBound,
    refineCut: search.refineCut,
    generatorCpuCores: search.generatorCpuCores ?? null,
    host: a.host ?? null,
    // No timed request (--probe-requests 0): nothing measured, so no probe (the first request's
    // time holds the connection set-up).
    probe: a.probe?.meanMs !== undefined ? probeSummary(a.probe.meanMs, a.probe.samples, a.probeStats) : null,
    requestsSent: search.requestsSent,
    elapsedS: r2(search.elapsedS),
    steps: search.steps.map(roundStep),
  };
}

function probeSummary(meanMs: number, samples: number, st: ServiceTimeStats | undefined): ProbeSummary {
  const issue = st ? distributionIssue(st) : undefined;
  return {
    meanMs: r3(meanMs),
    samples,
    distribution: st
      ? {
          samples: st.samples,
          meanMs: st.meanMs,
          stdDevMs: st.stdDevMs,
          cv: st.cv,
          quantilesMs: st.quantilesMs,
          maxMs: st.maxMs,
          stable: issue === undefined,
          ...(issue ? { issue } : {}),
        }
      : null,
  };
}

/**
 * Why the probe gave no service-time distribution for the profile, if it gave none: too few
 * successful sequential requests for a stable tail, or a mean carried by outliers (see
 * distributionIssue). undefined when it gave one, or when no probe ran (`--probe-requests 0`).
 */
export function probeDistributionWarning(res: LoadtestResult): string | undefined {
  const p = res.probe;
  if (!p || p.samples === 0 || p.distribution?.stable) return undefined;
  const why =
    p.distribution?.issue ??
    `the probe timed ${p.distribution?.samples ?? 0} successful sequential requests, fewer than the ${MIN_PROBE_SAMPLES} a stable p99/p99.9 needs`;
  const fix =
    p.distribution && p.distribution.samples >= MIN_PROBE_SAMPLES
      ? 'rerun on a quiet machine'
      : 'raise --probe-requests or --max-duration';
  return `${why}: no service-time distribution in the profile (plan assumes exponential service times); ${fix}`;
}

/** Measured and predicted knees further apart than this ratio: the summary says which `plan` uses. */
export const KNEE_RATIO_NOTE = 1.5;

/** The hold (s) the knee's step was measured over (the longest hold if the step is not found). */
function kneeHoldS(res: LoadtestResult): number {
  const knee = res.steps.find((s) => s.sloMet && !s.cut && s.targetRps === res.kneeRps);
  return knee?.holdS ?? Math.max(0, ...res.steps.map((s) => s.holdS));
}

const num = (x: number): string => String(Math.round(x * 10) / 10);
/** A rate as the table prints it: 197.1, 1250. */
const rps = (x: number): string => (x >= 1000 ? x.toFixed(0) : x.toFixed(1));

/**
 * What the two knees are, in one line (text, report). The steps send evenly spaced requests for a
 * short hold, so the measured knee is an upper bound on what Poisson traffic gets (a fixed 20 ms × 4
 * service: measured ~197 rps, while Poisson arrivals at 185 rps give p99 ~165 ms, a simulated M/D/4);
 * `plan` sizes from the fitted serviceTimeMs/concurrency through the model behind the predicted knee.
 * undefined without a knee or a fit.
 */
export function kneeMeaning(res: LoadtestResult): string | undefined {
  if (res.kneeRps <= 0 || res.predictedKneeRps === null || res.steps.length === 0) return undefined;
  const model = `${res.predictedKneeModel === 'M/G/c' ? 'M/G/' : 'M/M/'}${res.concurrency ?? 1}`;
  return `knees: measured = the SLO held with evenly spaced arrivals for a ${num(kneeHoldS(res))} s --hold (an upper bound on what Poisson traffic gets); predicted = ${model} under Poisson arrivals, the model plan sizes with`;
}

/**
 * Notes on the knees (text, report): the measured knee above the fitted capacity (a short hold let
 * an overloaded step pass), and measured vs predicted more than 1.5× apart (say which `plan` uses).
 */
export function kneeNotes(res: LoadtestResult): string[] {
  if (res.kneeRps <= 0 || res.steps.length === 0) return [];
  const out: string[] = [];
  const { capacityRps: cap, serviceTimeMs: s, concurrency: c, predictedKneeRps: pred } = res;
  if (cap !== null && s !== null && c !== null && res.kneeRps > cap) {
    out.push(
      `the measured knee ${rps(res.kneeRps)} rps is above the fitted capacity ${rps(cap)} rps (${c} × 1000 / ${s} ms): a step above capacity can pass when its hold (${num(kneeHoldS(res))} s) is too short for the queue to reach the SLO; a longer --hold tightens it (docs/loadtest.md, "How it measures")`,
    );
  }
  if (pred !== null && pred > 0 && s !== null && c !== null) {
    const ratio = Math.max(res.kneeRps / pred, pred / res.kneeRps);
    if (ratio > KNEE_RATIO_NOTE) {
      out.push(
        `the measured (${rps(res.kneeRps)} rps) and predicted (${rps(pred)} rps) knees differ by ${ratio.toFixed(1)}×: plan sizes with the predicted knee's model (serviceTimeMs ${s}, concurrency ${c}), not with the measured knee`,
      );
    }
  }
  return out;
}

/** Above this share of one core, a generator on the target's machine takes a core the target needs. */
export const GENERATOR_CPU_LIMIT_CORES = 0.5;
/** ... on a machine with at most this many cores. */
export const SMALL_HOST_CORES = 2;

/**
 * The generator and the target compete for the same cores: the target is on this machine, the machine
 * has ≤ 2 cores, and the generator used more than half a core in its busiest step. The knee then
 * measures the pair, not the target. undefined otherwise (or when the CPU was not measured).
 */
export function generatorCpuWarning(res: LoadtestResult): string | undefined {
  const cpu = res.generatorCpuCores;
  const host = res.host;
  if (cpu === null || !host || !host.targetIsLocal) return undefined;
  if (host.cores > SMALL_HOST_CORES || cpu <= GENERATOR_CPU_LIMIT_CORES) return undefined;
  return `the load generator used ${cpu.toFixed(2)} of a core in its busiest step, on a machine with ${host.cores} core${host.cores === 1 ? '' : 's'} that also runs the target: they compete for the same cores, so the knee may understate the target; run the generator on another machine, or pin the two to separate cores (taskset)`;
}

const LOCAL_HOSTS = new Set(['localhost', '0.0.0.0', '[::]', '[::1]', '::1', '::']);

/**
 * Whether a URL's host is this machine: loopback (127.0.0.0/8, ::1, localhost), the unspecified
 * address, this machine's host name, or one of its interface addresses. E.g. `http://127.0.0.1:8080/`
 * → true; `http://10.0.0.7/` → true only when 10.0.0.7 is one of `localAddresses`.
 */
export function isLocalHost(hostname: string, localAddresses: readonly string[], machineName = ''): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  if (LOCAL_HOSTS.has(h) || h.endsWith('.localhost')) return true;
  const bare = h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
  if (/^127\.\d+\.\d+\.\d+$/.test(bare) || /^::ffff:(127\.|7f)/.test(bare)) return true;
  if (machineName !== '' && h === machineName.toLowerCase()) return true;
  return localAddresses.some((a) => a.toLowerCase() === bare);
}

function roundStep(s: StepResult): StepResult {
  const l = s.latencyMs;
  return {
    ...s,
    targetRps: r2(s.targetRps),
    achievedRps: r2(s.achievedRps),
    latencyMs: { p50: r3(l.p50), p90: r3(l.p90), p99: r3(l.p99), p999: r3(l.p999), max: r3(l.max) },
    meanMs: r3(s.meanMs),
    sloLatencyMs: r3(s.sloLatencyMs),
    errorRate: Math.round(s.errorRate * 1e6) / 1e6,
    holdS: r3(s.holdS),
  };
}

/** The capacity profile `plan` reads; validated with the schema before it is written. */
export function buildProfile(res: LoadtestResult): CapacityProfile | undefined {
  if (res.serviceTimeMs === null || res.concurrency === null || res.serviceTimeMs <= 0) return undefined;
  // No rate met the SLO (or no step ran before the run was stopped): the probe alone gives a
  // service time but no concurrency (1 assumed), and plan sized 1000 rps for 24 instances where
  // the instance's measured 4 slots need 6. No profile is better than that one.
  if (res.kneeRps <= 0 || res.steps.length === 0) return undefined;
  const d = res.probe?.distribution;
  const candidate = {
    kind: PROFILE_KIND,
    target: res.target,
    measuredAt: res.measuredAt,
    slo: res.slo,
    kneeRps: res.kneeRps,
    serviceTimeMs: res.serviceTimeMs,
    concurrency: res.concurrency,
    // The schema keeps the profile fields of each step and drops the rest.
    steps: res.steps.map((s) => ({ ...s })),
    ...(res.partial ? { partial: true } : {}),
    kneeIsLowerBound: res.kneeIsLowerBound,
    ...(res.predictedKneeRps !== null ? { predictedKneeRps: res.predictedKneeRps } : {}),
    ...(res.fitMethod !== null ? { fitMethod: res.fitMethod } : {}),
    ...(d?.stable
      ? {
          serviceTime: {
            source: 'probe' as const,
            samples: d.samples,
            meanMs: d.meanMs,
            cv: d.cv,
            quantilesMs: d.quantilesMs,
          },
        }
      : {}),
  };
  const parsed = capacityProfileSchema.safeParse(candidate);
  if (!parsed.success) {
    throw new HeadroomError({
      code: 'HR_INTERNAL',
      message: `the capacity profile does not match its schema: ${parsed.error.message}`,
    });
  }
  return parsed.data;
}
