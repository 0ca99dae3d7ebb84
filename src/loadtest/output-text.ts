// What `headroom loadtest` prints for people: step lines for logs (non-TTY), the progress bar (TTY),
// the final table and its summary. output.ts builds the --json result and the capacity profile.
import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import {
  generatorCpuWarning,
  kneeMeaning,
  kneeNotes,
  probeDistributionWarning,
  r2,
  r3,
  type LoadtestResult,
} from './output.ts';
import type { StepResult } from './search.ts';

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
  // No step ran (a budget, an interrupt or a failed probe stopped it first): no empty table.
  const table = res.steps.length > 0 ? `${t.toString()}\n` : '';
  return `${table}${summaryLines(res).join('\n')}\n`;
}

export function summaryLines(res: LoadtestResult): string[] {
  const lines = [
    `SLO: p${res.slo.percentile} <= ${res.slo.latencyMs} ms, errors <= ${fmtPct(res.errorRateLimit)}`,
    res.steps.length === 0
      ? `knee: none: no load step ran (stopped by ${res.stopReason})`
      : `knee: ${fmtRps(res.kneeRps)} rps${res.firstBadRps !== null ? ` (first failing rate ${fmtRps(res.firstBadRps)} rps)` : ''}; stopped by ${res.stopReason}${res.partial ? ' — PARTIAL: the knee is a lower bound' : res.kneeIsLowerBound ? ` — LOWER BOUND: --max-rps was reached with the SLO still met; the knee is at least ${fmtRps(res.kneeRps)} rps (rerun with a higher --max-rps)` : ''}`,
  ];
  const p = res.probe;
  if (p && p.samples > 0) {
    const d = p.distribution;
    const dist = d
      ? `, CV ${d.cv.toFixed(2)}, p50 ${fmtMs(d.quantilesMs.p50)} / p90 ${fmtMs(d.quantilesMs.p90)} / p99 ${fmtMs(d.quantilesMs.p99)} / p99.9 ${fmtMs(d.quantilesMs.p999)} ms`
      : '';
    const vsFit =
      res.serviceTimeMs !== null
        ? ` (fitted serviceTimeMs ${res.serviceTimeMs}: the probe is ${fmtSigned((p.meanMs / res.serviceTimeMs - 1) * 100)} %)`
        : '';
    lines.push(
      `probe: ${p.samples} sequential requests, mean ${fmtMs(p.meanMs)} ms${vsFit}${dist}; round trip included`,
    );
  }
  if (res.serviceTimeMs !== null && res.concurrency !== null) {
    lines.push(
      `fit (${res.fitMethod}): serviceTimeMs ${res.serviceTimeMs}, concurrency ${res.concurrency} → capacity ${fmtRps(res.capacityRps ?? 0)} rps; ${modelText(res)} predicts a knee of ${fmtRps(res.predictedKneeRps ?? 0)} rps`,
    );
  }
  const meaning = kneeMeaning(res);
  if (meaning) lines.push(meaning);
  for (const n of kneeNotes(res)) lines.push(`note: ${n}.`);
  const warning = probeDistributionWarning(res);
  if (warning) lines.push(`note: ${warning}.`);
  const contention = generatorCpuWarning(res);
  if (contention) lines.push(`warning: ${contention}.`);
  if (res.refineCut) lines.push('note: refinement was cut short by --max-duration/--max-requests.');
  return lines;
}

const fmtSigned = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)}`;

/**
 * The model behind the predicted knee, e.g. "M/G/4 (service CV 0.05, measured by the probe)" or
 * "M/M/4 (exponential service times assumed)".
 */
export function modelText(res: LoadtestResult): string {
  const c = res.concurrency ?? 1;
  const d = res.probe?.distribution;
  if (res.predictedKneeModel === 'M/G/c' && d) {
    return `M/G/${c} (service CV ${d.cv.toFixed(2)}, measured by the probe)`;
  }
  return `M/M/${c} (exponential service times assumed)`;
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
