// What `headroom loadtest` prints and writes: the --json result, the capacity profile, step lines
// for logs (non-TTY), the progress bar (TTY) and the final table.
import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import { HeadroomError } from '../core/errors.ts';
import { PROFILE_KIND, capacityProfileSchema, type CapacityProfile } from '../spec/profile.ts';
import type { QueueFit } from './fit.ts';
import type { ProbeResult } from './generator.ts';
import type { SearchResult, Slo, StepResult } from './search.ts';

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
  stopReason: SearchResult['stopReason'];
  partial: boolean;
  refineCut: boolean;
  probe: { meanMs: number; samples: number } | null;
  requestsSent: number;
  elapsedS: number;
  steps: StepResult[];
}

const r2 = (x: number): number => Math.round(x * 100) / 100;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

export function buildResult(a: {
  target: string;
  method: string;
  measuredAt: Date;
  slo: Slo;
  errorRateLimit: number;
  search: SearchResult;
  fit: QueueFit | undefined;
  probe: ProbeResult | undefined;
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
    stopReason: search.stopReason,
    partial: search.partial,
    refineCut: search.refineCut,
    probe: a.probe ? { meanMs: r3(a.probe.meanMs), samples: a.probe.samples } : null,
    requestsSent: search.requestsSent,
    elapsedS: r2(search.elapsedS),
    steps: search.steps.map(roundStep),
  };
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
    ...(res.predictedKneeRps !== null ? { predictedKneeRps: res.predictedKneeRps } : {}),
    ...(res.fitMethod !== null ? { fitMethod: res.fitMethod } : {}),
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

/** One JSON line per finished step, for logs and CI (stderr when it is not a TTY). */
export function stepLine(s: StepResult, index: number): string {
  const l = s.latencyMs;
  return JSON.stringify({
    event: 'step',
    index,
    phase: s.phase,
    targetRps: r2(s.targetRps),
    achievedRps: r2(s.achievedRps),
    sent: s.sent,
    completed: s.completed,
    errors: s.errors,
    dropped: s.dropped,
    late: s.late,
    p50Ms: r3(l.p50),
    p99Ms: r3(l.p99),
    sloLatencyMs: r3(s.sloLatencyMs),
    errorRate: Math.round(s.errorRate * 1e6) / 1e6,
    sloMet: s.sloMet,
    ...(s.breach ? { breach: s.breach } : {}),
    ...(s.cut ? { cut: s.cut } : {}),
  });
}

const fmtMs = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const fmtRps = (x: number): string => (x >= 1000 ? x.toFixed(0) : x.toFixed(1));
const fmtPct = (x: number): string => `${(x * 100).toFixed(x > 0 && x < 0.001 ? 3 : 1)}%`;

/** The final table: one row per step in the order run, then the knee and the fit. */
export function renderTable(res: LoadtestResult): string {
  const t = new Table({
    head: [
      '#',
      'phase',
      'rate',
      'achieved',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'p99.9 ms',
      'max ms',
      'errors',
      'drop',
      'late',
      'SLO',
    ],
    style: { head: [], border: [] },
    colAligns: [
      'right',
      'left',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'left',
    ],
  });
  res.steps.forEach((s, i) => {
    const l = s.latencyMs;
    t.push([
      String(i + 1),
      s.phase,
      fmtRps(s.targetRps),
      fmtRps(s.achievedRps),
      fmtMs(l.p50),
      fmtMs(l.p90),
      fmtMs(l.p99),
      fmtMs(l.p999),
      fmtMs(l.max),
      fmtPct(s.errorRate),
      String(s.dropped),
      String(s.late),
      s.cut ? `cut (${s.cut})` : s.sloMet ? 'ok' : `FAIL ${s.breach ?? ''}`.trim(),
    ]);
  });
  return `${t.toString()}\n${summaryLines(res).join('\n')}\n`;
}

export function summaryLines(res: LoadtestResult): string[] {
  const lines = [
    `SLO: p${res.slo.percentile} <= ${res.slo.latencyMs} ms, errors <= ${fmtPct(res.errorRateLimit)}`,
    `knee: ${fmtRps(res.kneeRps)} rps${res.firstBadRps !== null ? ` (first failing rate ${fmtRps(res.firstBadRps)} rps)` : ''}; stopped by ${res.stopReason}${res.partial ? ' — PARTIAL: the knee is a lower bound' : ''}`,
  ];
  if (res.serviceTimeMs !== null && res.concurrency !== null) {
    lines.push(
      `fit (${res.fitMethod}): serviceTimeMs ${res.serviceTimeMs}, concurrency ${res.concurrency} → capacity ${fmtRps(res.capacityRps ?? 0)} rps; M/M/c predicts a knee of ${fmtRps(res.predictedKneeRps ?? 0)} rps`,
    );
  }
  if (res.stopReason === 'max-rps')
    lines.push('note: --max-rps was reached with the SLO still met; the knee is at least that.');
  if (res.refineCut) lines.push('note: refinement was cut short by --max-duration/--max-requests.');
  return lines;
}

/** Progress on a TTY: one bar per step. */
export class StepProgress {
  private bar: cliProgress.SingleBar | undefined;
  private readonly stream: NodeJS.WriteStream;

  constructor(stream: NodeJS.WriteStream) {
    this.stream = stream;
  }

  start(index: number, phase: string, rateRps: number, totalS: number): void {
    this.stop();
    this.bar = new cliProgress.SingleBar(
      {
        stream: this.stream,
        format: `step ${index + 1}${phase ? ` ${phase}` : ''} ${fmtRps(rateRps).padStart(8)} rps [{bar}] {percentage}% | sent {sent} | errors {errors}`,
        hideCursor: true,
        clearOnComplete: true,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(Math.max(1, Math.round(totalS * 10)), 0, { sent: 0, errors: 0 });
  }

  update(elapsedS: number, sent: number, errors: number): void {
    this.bar?.update(Math.round(elapsedS * 10), { sent, errors });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
