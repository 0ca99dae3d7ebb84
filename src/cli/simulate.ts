// `headroom simulate --trace FILE.csv --spec SPEC.yaml [...]`: replay a request-rate trace through
// Headroom, the HPA, KPA, KEDA, a static count and the offline oracle; print cost and SLO
// violations per policy (table or --json) and optionally an HTML report.
import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { renderTable } from './table.ts';
import { DURATION_RE, parseDuration } from '../alerting/config.ts';
import { HISTORY_MIN_STEP_SECONDS, pastSeconds, pastText, spanText, type DemandPast } from '../controller/history.ts';
import { HeadroomError } from '../core/errors.ts';
import type { DecideState } from '../core/decide.ts';
import { HOURS_PER_MONTH, formatMoney, formatMoneyDelta, roundMoney } from '../core/cost.ts';
import type { RateCounts, ServiceModel } from '../core/model.ts';
import { serviceTimeFloorMs } from '../core/pool.ts';
import { parseNumberFlag, usageError } from './flags.ts';
import { initialLoopState, withHistory } from '../loop/step.ts';
import { ceilingText, marginText } from '../simulator/bound.ts';
import { CapacityTable } from '../simulator/capacity.ts';
import { traceReadings } from '../simulator/history.ts';
import { HEADROOM_STABLE_WINDOW_SECONDS } from '../simulator/policies/headroom.ts';
import { loadSimulateSpec, POD_BURST_INTERVAL, type SimulateSection } from '../simulator/config.ts';
import { loadReportAssets, renderReport, savingsText, type ReportExtra } from '../simulator/report.ts';
import {
  POLICY_NAMES,
  runSimulation,
  type PolicyName,
  type SimulationOptions,
  type SimulationResult,
} from '../simulator/run.ts';
import { isSynthetic, syntheticTrace } from '../simulator/synthetic.ts';
import { loadTraceFile, rescaleToPeak, warningLines, type Trace } from '../input/trace.ts';
import { DEFAULT_HISTOGRAM_BOUNDS_MS, trueModel, type TrueServiceTime } from '../simulator/truth.ts';

/** The flags `simulate` and `backtest` share: the service model, the policies, the output. */
export interface ReplayFlags {
  spec: string;
  service?: string;
  policy?: PolicyName[];
  startup?: string;
  scrape?: string;
  target?: string;
  /** `--pod-burst [seconds]`: true when given without a value. */
  podBurst?: true | string;
  reads?: RateCounts;
  sweep?: boolean;
  json?: boolean;
  report?: string;
}

interface SimulateFlags extends ReplayFlags {
  trace: string;
  peak?: string;
  history?: string;
  bound?: boolean;
  trueServiceTime?: string;
  latencyHistogram?: string | boolean;
}

const HISTOGRAM_ALLOWED =
  'ascending bucket bounds in seconds, comma-separated, e.g. 0.025,0.05,0.1,0.25 (1–64 of them, each > 0)';

/**
 * `--latency-histogram [bounds]`: seconds, comma-separated, ascending → ms; without a value the
 * client libraries' default bounds. HR_USAGE otherwise, and without --true-service-time (nothing
 * reads latency then).
 */
export function parseLatencyHistogram(raw: string | boolean, truth: boolean): readonly number[] {
  if (!truth)
    throw usageError(
      '--latency-histogram',
      raw,
      'only headroom+calibrated reads latency, and it runs with --true-service-time',
      'give --true-service-time too',
    );
  if (raw === true) return DEFAULT_HISTOGRAM_BOUNDS_MS;
  const parts = String(raw).split(',');
  const bounds = parts.map((x) => Number(x.trim()));
  if (parts.length > 64 || bounds.some((b) => !Number.isFinite(b) || b <= 0))
    throw usageError('--latency-histogram', raw, 'not a list of positive numbers', HISTOGRAM_ALLOWED);
  if (bounds.some((b, i) => i > 0 && b <= bounds[i - 1]!))
    throw usageError('--latency-histogram', raw, 'the bounds are not ascending', HISTOGRAM_ALLOWED);
  return bounds.map((b) => b * 1000);
}

/**
 * `14d` → 1,209,600 s; HR_USAGE unless it is a Prometheus duration within [min, max] seconds
 * (`why`: where the range comes from, for the error).
 */
export function durationFlag(flag: string, raw: string, min: number, max: number, why?: string): number {
  const allowed = `a duration such as 60s, 5m, 1h30m, 14d, from ${min} s to ${max} s${why ? `: ${why}` : ''}`;
  if (!DURATION_RE.test(raw)) throw usageError(flag, raw, 'not a duration', allowed);
  const s = parseDuration(raw);
  if (!(s >= min && s <= max)) throw usageError(flag, raw, 'out of range', allowed);
  return s;
}

/**
 * The demand's past Headroom started a replay from (backtest: the `historySeconds` before the
 * range, read from Prometheus; simulate --history: the trace's first part): readings 0 when none.
 */
export interface ReplayHistory {
  readings: number;
  /** The span read, seconds. */
  seconds: number;
  text: string;
}

/** The state a replay's Headroom starts from: the history folded, the bursts scored in it. */
export type ReplayStart = Pick<DecideState, 'demand' | 'bursts'>;

/**
 * What Headroom started from, for the report ("headroom started from 4 d of demand history (…)
 * before the range, …"), and the history itself, folded once for the report and every Headroom run.
 * `rateSeconds`: the window of the rate each reading is (the bursts in them are scored for it).
 */
export function pastInfo(
  model: ServiceModel,
  past: DemandPast,
  where: string,
  rateSeconds: number,
): { info: ReplayHistory; start?: ReplayStart } {
  if (past.kind === 'read') {
    const { demand, bursts } = withHistory(model, initialLoopState(), past.readings, rateSeconds).decide;
    const t = pastText(model, past, demand, bursts);
    const info = {
      readings: past.readings.length,
      seconds: past.seconds,
      text: `headroom started from ${t.what} ${where}, as the controller does for a new policy: ${t.holds}`,
    };
    return { info, start: { demand, ...(bursts ? { bursts } : {}) } };
  }
  const none = 'headroom started with no history';
  const text =
    past.kind === 'off'
      ? `${none} (the spec's forecast is off or its historySeconds 0)`
      : past.kind === 'failed'
        ? `${none}: the ${spanText(past.seconds)} ${where} were not read (${past.reason})`
        : `${none}: the demand query had no data in the ${spanText(past.seconds)} ${where}`;
  return { info: { readings: 0, seconds: 0, text } };
}

/** `--history` at least (s): a few readings of the 60-s rate. */
export const HISTORY_MIN_SECONDS = 300;
/** The least of a trace `--history` leaves to replay (s): an hour, so a replay means something. */
export const HISTORY_MIN_REPLAY_SECONDS = 3600;

/**
 * `--history D`: the trace's first D seconds are the demand's past, read as the controller reads
 * Prometheus on a new policy's first round (the 60-s rate every max(15 s, scrape), the last
 * `historySeconds` of them); the rest is replayed. E.g. a 7-day trace with `--history 1d`: 5,756
 * readings fold into Headroom's forecast, and every policy is replayed and charged over days 2–7.
 */
export function splitHistory(
  trace: Trace,
  seconds: number,
  model: ServiceModel,
  scrapeSeconds: number,
): { past: DemandPast; rest: Trace } {
  const rest: Trace = { ...trace, rps: trace.rps.slice(seconds) };
  const span = Math.min(pastSeconds(model), seconds);
  if (span <= 0) return { past: { kind: 'off' }, rest };
  const step = Math.max(HISTORY_MIN_STEP_SECONDS, scrapeSeconds);
  const windowSeconds = HEADROOM_STABLE_WINDOW_SECONDS;
  const readings = traceReadings(trace.rps, { from: seconds - span, to: seconds, step, windowSeconds });
  const first = readings[0];
  if (!first) return { past: { kind: 'empty', seconds: span }, rest };
  return { past: { kind: 'read', readings, step, seconds: seconds - first[0] }, rest };
}

function usage(path: string, value: unknown, message: string, allowed: string): HeadroomError {
  return new HeadroomError({ code: 'HR_USAGE', path, value, message, allowed });
}

const TRUTH_FORMS =
  "exponential | fixed | lognormal:cv=X (X > 1) | gamma:cv=X (0 < X ≤ 1) | cv=X (0 ≤ X ≤ 100), optionally followed by ,scale=Y (0 < Y ≤ 100): the true mean is Y × the spec's serviceTimeMs";

/**
 * `--true-service-time SPEC`: the distribution the simulation draws the true service times from.
 * `lognormal:cv=2,scale=1.5` → lognormal, CV 2, 1.5 × the spec's mean. The latency model draws CV < 1
 * as a gamma and CV > 1 as a lognormal (src/core/service-time.ts), so the named families must agree.
 */
export function parseTrueServiceTime(raw: string): TrueServiceTime {
  const bad = (why: string): HeadroomError => usage('--true-service-time', raw, why, TRUTH_FORMS);
  const parts = raw.trim().split(',');
  const head = (parts[0] ?? '').trim();
  const params = new Map<string, number>();
  const param = (item: string): void => {
    const m = /^\s*(cv|scale)\s*=\s*(\S+)\s*$/.exec(item);
    if (!m) throw bad(`cannot read "${item}"`);
    const [, key = '', value = ''] = m;
    const x = Number(value);
    if (!Number.isFinite(x)) throw bad(`${key}=${value} is not a number`);
    if (params.has(key)) throw bad(`${key} given twice`);
    params.set(key, x);
  };
  let family: TrueServiceTime['family'];
  const colon = head.indexOf(':');
  const name = colon >= 0 ? head.slice(0, colon).trim() : head;
  if (colon >= 0) param(head.slice(colon + 1));
  if (name === 'exponential' || name === 'fixed' || name === 'lognormal' || name === 'gamma') family = name;
  else if (colon < 0 && /^cv\s*=/.test(name)) {
    family = 'cv';
    param(name);
  } else throw bad(`unknown distribution "${name}"`);
  for (const item of parts.slice(1)) param(item);
  const cv = params.get('cv');
  const scale = params.get('scale') ?? 1;
  if (!(scale > 0 && scale <= 100)) throw bad(`scale ${scale} is out of range`);
  switch (family) {
    case 'exponential':
    case 'fixed':
      if (cv !== undefined) throw bad(`${family} has no cv parameter`);
      return { family, cv: family === 'fixed' ? 0 : 1, scale };
    case 'lognormal':
      if (cv === undefined) throw bad('lognormal needs cv=X');
      if (!(cv > 1 && cv <= 100)) throw bad(`lognormal cv ${cv} is out of range (the model draws CV ≤ 1 as gamma)`);
      return { family, cv, scale };
    case 'gamma':
      if (cv === undefined) throw bad('gamma needs cv=X');
      if (!(cv > 0 && cv <= 1)) throw bad(`gamma cv ${cv} is out of range (the model draws CV > 1 as lognormal)`);
      return { family, cv, scale };
    case 'cv':
      if (cv === undefined || !(cv >= 0 && cv <= 100)) throw bad(`cv ${cv} is out of range`);
      return { family, cv, scale };
  }
}

/** simulate --history: the past Headroom started from, and how much of the trace it took. */
export interface SimulateHistory extends ReplayHistory {
  /** The trace's first seconds taken as the past: the replay and every cost start after them. */
  traceSeconds: number;
}

/**
 * The `--json` shape (documented in docs/simulate.md); `warnings` are the trace's (gaps, a counter),
 * `history` what --history read.
 */
export function simulateJson(
  r: SimulationResult,
  warnings: readonly string[] = [],
  history?: SimulateHistory,
): unknown {
  const p = (x: SimulationResult['policies'][number]): Record<string, unknown> => ({
    policy: x.policy,
    label: x.label,
    ...(x.target !== undefined ? { target: x.target } : {}),
    replicaSeconds: x.replicaSeconds,
    sloViolationSeconds: x.sloViolationSeconds,
    violationFraction: Number(x.violationFraction.toFixed(8)),
    costVsOracle: Number(x.costVsOracle.toFixed(6)),
    peakReplicas: x.peakReplicas,
    meanReplicas: Number(x.meanReplicas.toFixed(4)),
    scaleEvents: x.scaleEvents,
    ...(x.money
      ? {
          money: {
            total: roundMoney(x.money.total),
            perMonth: roundMoney(x.money.perMonth),
            ...(x.money.vsHeadroomPerMonth !== undefined
              ? { vsHeadroomPerMonth: roundMoney(x.money.vsHeadroomPerMonth) }
              : {}),
          },
        }
      : {}),
  });
  return {
    service: r.service,
    trace: r.trace,
    startupSeconds: r.startupSeconds,
    scrapeSeconds: r.scrapeSeconds,
    ...(r.podBurstIntervalSeconds !== undefined ? { podBurstIntervalSeconds: r.podBurstIntervalSeconds } : {}),
    reads: r.reads,
    ...(history ? { history } : {}),
    ...(r.modelError ? { modelError: r.modelError } : {}),
    ...(r.pricing
      ? {
          pricing: {
            currency: r.pricing.currency,
            perInstanceHour: Number(r.pricing.perInstanceHour.toFixed(6)),
            hoursPerMonth: HOURS_PER_MONTH,
          },
        }
      : {}),
    ...(warnings.length ? { warnings } : {}),
    policies: r.policies.map(p),
    ...(r.sweep ? { sweep: r.sweep.map(p) } : {}),
    ...(r.comparisons
      ? {
          comparisons: r.comparisons.map((c) =>
            c.savingsPerMonth !== undefined ? { ...c, savingsPerMonth: roundMoney(c.savingsPerMonth) } : c,
          ),
        }
      : {}),
    ...(r.noiseBound
      ? {
          noiseBound: {
            ...r.noiseBound,
            z: Number(r.noiseBound.z.toFixed(4)),
            costVsOracle: Number(r.noiseBound.costVsOracle.toFixed(6)),
          },
        }
      : {}),
  };
}

export function simulateText(r: SimulationResult, history?: SimulateHistory): string {
  const t = r.trace;
  const lines = [
    `${r.service} on ${t.source}${history ? ` after its first ${spanText(history.traceSeconds)}` : ''}: ${(t.seconds / 86400).toFixed(2)} days, peak ${t.peakRps.toFixed(1)} rps, mean ${t.meanRps.toFixed(1)} rps; startup ${r.startupSeconds} s, scrape ${r.scrapeSeconds} s${r.podBurstIntervalSeconds !== undefined ? `; headroom's burst from the pods, a round every ${r.podBurstIntervalSeconds} s` : ''}${r.reads === 'answers' ? `; request rates count answers (a saturated pool reads what it answers)` : ''}`,
  ];
  if (history) lines.push(history.text);
  if (r.modelError) lines.push(r.modelError.text);
  const money = r.pricing;
  if (money) {
    lines.push(
      `pricing: ${fmtPrice(money.perInstanceHour)} ${money.currency} per instance-hour; ${money.currency}/month = instance-hours × that × ${HOURS_PER_MONTH} h ÷ the trace's ${fmtHours(t.seconds)} h`,
    );
  }
  const head = ['policy', 'instance-hours', '× oracle', 'violating s', 'violating', 'peak', 'scale events'];
  if (money) head.push(`${money.currency} (trace)`, `${money.currency}/month`, 'vs headroom');
  const rows: string[][] = [];
  for (const p of [...r.policies, ...(r.sweep ?? [])]) {
    const row = [
      p.label,
      (p.replicaSeconds / 3600).toFixed(1),
      p.costVsOracle.toFixed(3),
      String(p.sloViolationSeconds),
      `${(p.violationFraction * 100).toFixed(3)} %`,
      String(p.peakReplicas),
      String(p.scaleEvents),
    ];
    if (money) row.push(...moneyCells(p.money));
    rows.push(row);
  }
  lines.push(renderTable(head, rows));
  for (const c of r.comparisons ?? []) {
    if (c.noSettingAsGood) {
      lines.push(`headroom vs ${c.baseline}: no target in 50–95 % had as few violating seconds as headroom`);
    } else if (c.bestAtEqualViolations && c.savings !== undefined) {
      const b = c.bestAtEqualViolations;
      const saved =
        money && c.savingsPerMonth !== undefined
          ? `: ${formatMoney(Math.abs(c.savingsPerMonth), money.currency)}/month ${c.savingsPerMonth >= 0 ? 'less' : 'more'}`
          : '';
      lines.push(
        `headroom vs ${c.baseline}: ${savingsText(c.savings)} than ${b.label}, the cheapest setting with ≤ headroom's violations (${b.sloViolationSeconds} s)${saved}`,
      );
    }
  }
  const b = r.noiseBound;
  if (b) {
    lines.push(
      `noise bound: ${b.costVsOracle.toFixed(3)} × oracle with ${b.sloViolationSeconds} violating s (budget ${b.budgetSeconds} s): knowing the ${b.windowSeconds / 60}-min mean demand ahead but not the noise around it, covered by ${marginText(b.shape, b.z)}${ceilingText(b.utilization)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The money columns of one row: cost over the trace, per month, and the difference from Headroom's per month. */
export function moneyCells(m: PolicyResultMoney | undefined): [string, string, string] {
  if (!m) return ['', '', ''];
  const vs = m.vsHeadroomPerMonth;
  return [moneyNumber(m.total), moneyNumber(m.perMonth), vs === undefined ? '' : moneyDeltaNumber(vs)];
}

type PolicyResultMoney = NonNullable<SimulationResult['policies'][number]['money']>;

function moneyNumber(x: number): string {
  return formatMoney(x, '').trimEnd();
}

function moneyDeltaNumber(x: number): string {
  return formatMoneyDelta(x, '').trimEnd();
}

function fmtPrice(x: number): string {
  return String(Number(x.toPrecision(4)));
}

function fmtHours(seconds: number): string {
  return String(Number((seconds / 3600).toFixed(2)));
}

function pickService(services: readonly ServiceModel[], name: string | undefined, file: string): ServiceModel {
  const names = services.map((s) => s.name).join(', ');
  if (name === undefined) {
    const only = services[0];
    if (services.length === 1 && only) return only;
    throw usage('--service', undefined, `${file} has ${services.length} services: name one`, names);
  }
  const found = services.find((s) => s.name === name);
  if (!found) throw usage('--service', name, `no service of that name in ${file}`, names);
  return found;
}

/** `--spec`, `--service`, `--policy`, `--startup`, `--scrape`, `--target`, `--pod-burst`, `--reads`, `--sweep`, `--json`, `--report`. */
export function addReplayOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--spec <file>', 'service spec (YAML or JSON), the same as `plan`; optional `simulate:` section')
    .option('--service <name>', 'which service of the spec (needed when it has several)')
    .addOption(
      new Option('--policy <name...>', 'policies to run (repeatable; default: all)').choices([...POLICY_NAMES]),
    )
    .option('--startup <seconds>', 'decision → ready (default: the spec, else 60)')
    .option('--scrape <seconds>', 'metrics scrape interval the policies see (default 15)')
    .option('--target <percent>', 'target utilization of hpa, kpa and keda (default 70)')
    .option(
      '--pod-burst [seconds]',
      "headroom reads its burst from the pods' counters (spec.demand.pods), a decision every this many seconds (default 1)",
    )
    .addOption(
      new Option(
        '--reads <what>',
        "what headroom's and keda's request rate counts: arrivals (default), or answers (a counter incremented on the answer, which a saturated pool cannot raise past what it answers)",
      ).choices(['arrivals', 'answers']),
    )
    .option('--sweep', 'also run hpa, kpa and keda at targets 50–95 % and compare at equal violations')
    .option('--json', 'print JSON instead of a table')
    .option('--report <file.html>', 'write a self-contained HTML report with plots');
}

export interface ReplaySetup {
  model: ServiceModel;
  section: SimulateSection;
  options: Pick<
    SimulationOptions,
    'model' | 'policies' | 'scrapeSeconds' | 'podBurst' | 'reads' | 'baselineTarget' | 'sweep' | 'series'
  >;
}

/** The shared flags and the spec → the service model and the simulation options (flags override the spec's `simulate:`). */
export function replaySetup(opts: ReplayFlags): ReplaySetup {
  const startup = parseNumberFlag('--startup', opts.startup, { min: 0, max: 3600, int: true, unit: 's' });
  const scrape = parseNumberFlag('--scrape', opts.scrape, { min: 1, max: 600, int: true, unit: 's' });
  const target = parseNumberFlag('--target', opts.target, { min: 0, minExclusive: true, max: 100, unit: '%' });
  // A percent: 0.7 is the spec's fraction (simulate.baselineTarget) written here, not 0.7 % (it ran
  // an HPA at 0.7 %, labelled "hpa@1%", 10× the oracle).
  if (target !== undefined && target <= 1)
    throw usageError(
      '--target',
      opts.target,
      `${opts.target} % is a target no autoscaler is run at: --target takes a percent (70 for 70 %); the spec's simulate.baselineTarget is the fraction (0.7)`,
      '> 1 and <= 100 %',
    );
  const podBurstRule = { ...POD_BURST_INTERVAL, int: true, unit: 's' };
  const podBurst = opts.podBurst === true ? 1 : parseNumberFlag('--pod-burst', opts.podBurst, podBurstRule);
  const { spec, section } = loadSimulateSpec(opts.spec);
  const chosen = pickService(spec.services, opts.service, opts.spec);
  const startupSeconds = startup ?? section.startupSeconds ?? chosen.startupSeconds;
  const podBurstSeconds = podBurst ?? section.podBurstIntervalSeconds;
  const model: ServiceModel = { ...chosen, startupSeconds };
  if (model.slo && new CapacityTable(model).threshold(1) <= 0) {
    throw new HeadroomError({
      code: 'HR_SLO_UNREACHABLE',
      file: opts.spec,
      path: 'slo',
      value: model.slo,
      message: 'no instance count meets this SLO, so every second would violate it',
    });
  }
  return {
    model,
    section,
    options: {
      model,
      policies: opts.policy ?? section.policies ?? [...POLICY_NAMES],
      scrapeSeconds: scrape ?? section.scrapeSeconds ?? 15,
      ...(podBurstSeconds !== undefined ? { podBurst: { intervalSeconds: podBurstSeconds } } : {}),
      reads: opts.reads ?? section.reads ?? 'arrivals',
      baselineTarget: target !== undefined ? target / 100 : (section.baselineTarget ?? 0.7),
      sweep: opts.sweep === true,
      series: opts.report !== undefined,
    },
  };
}

/** `--report FILE`: the HTML report, or HR_USAGE naming the file and why it cannot be written. */
export function writeReport(file: string, result: SimulationResult, extra: ReportExtra = {}): void {
  try {
    writeFileSync(file, renderReport(result, loadReportAssets(), extra));
  } catch (err) {
    throw new HeadroomError({
      code: 'HR_USAGE',
      path: '--report',
      value: file,
      message: `cannot write the report: ${(err as Error).message}`,
    });
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('simulate')
    .description('replay a request-rate trace through Headroom, HPA, KPA, KEDA, static and the offline oracle')
    .requiredOption(
      '--trace <file>',
      'CSV `t_seconds,rps` (the rate holds until the next row), or synthetic:spikes|flash|diurnal|step[,key=value...] (docs/simulate.md)',
    );
  addReplayOptions(cmd)
    .option('--peak <rps>', 'rescale the trace so its maximum is this (shape unchanged)')
    .option(
      '--history <duration>',
      "the trace's first part (e.g. 1d) is the demand's past: headroom starts from it as the controller does for a new policy (behavior.forecast.historySeconds), and every policy is replayed and charged over the rest",
    )
    .option(
      '--bound',
      "also compute the noise bound: the cost of foreseeing the 15-min trend but not the noise, at headroom's violations",
    )
    .option(
      '--true-service-time <spec>',
      'draw the true service times from another distribution than the spec tells the policies: exponential, fixed, lognormal:cv=2, gamma:cv=0.5, cv=X, each optionally ,scale=Y (true mean = Y × the spec)',
    )
    .option(
      '--latency-histogram [bounds]',
      "with --true-service-time: headroom+calibrated reads its latency as the controller's histogram template does, histogram_quantile over these bounds (seconds, comma-separated; default the client libraries' 0.005 … 10) with each window's sampling noise, not the exact percentile",
    )
    .action((opts: SimulateFlags) => {
      const peak = parseNumberFlag('--peak', opts.peak, { min: 0, minExclusive: true, max: 1e9, unit: 'rps' });
      const truth = opts.trueServiceTime === undefined ? undefined : parseTrueServiceTime(opts.trueServiceTime);
      const histogram =
        opts.latencyHistogram === undefined
          ? undefined
          : parseLatencyHistogram(opts.latencyHistogram, truth !== undefined);
      const { model, section, options } = replaySetup(opts);
      const truthModel = truth ? trueModel(model, truth) : undefined;
      if (truthModel?.slo && new CapacityTable(truthModel).threshold(1) <= 0) {
        const floor = serviceTimeFloorMs(truthModel.instance, truthModel.slo.percentile);
        throw new HeadroomError({
          code: 'HR_SLO_UNREACHABLE',
          path: '--true-service-time',
          value: opts.trueServiceTime,
          message: `with these true service times no instance count meets the SLO (p${truthModel.slo.percentile} ≤ ${truthModel.slo.latencyMs} ms): their p${truthModel.slo.percentile} alone is ${floor.toFixed(1)} ms, so every second would violate it`,
        });
      }
      let trace = isSynthetic(opts.trace) ? syntheticTrace(opts.trace) : loadTraceFile(opts.trace);
      if (peak !== undefined) trace = rescaleToPeak(trace, peak);
      else if (section.peakRps !== undefined)
        trace = rescaleToPeak(trace, section.peakRps, { file: opts.spec, path: 'simulate.peakRps' });
      let history: SimulateHistory | undefined;
      let startFrom: ReplayStart | undefined;
      if (opts.history !== undefined) {
        const most = trace.rps.length - HISTORY_MIN_REPLAY_SECONDS;
        const why = `the trace is ${trace.rps.length.toLocaleString('en-US')} s long (${spanText(trace.rps.length)}) and at least ${spanText(HISTORY_MIN_REPLAY_SECONDS)} of it is left to replay`;
        if (most < HISTORY_MIN_SECONDS) {
          const allowed = `a trace at least ${HISTORY_MIN_SECONDS + HISTORY_MIN_REPLAY_SECONDS} s long`;
          throw usageError('--history', opts.history, `the trace is too short for a history: ${why}`, allowed);
        }
        const seconds = Math.round(durationFlag('--history', opts.history, HISTORY_MIN_SECONDS, most, why));
        const split = splitHistory(trace, seconds, model, options.scrapeSeconds ?? 15);
        const where = `read from the trace's first ${spanText(seconds)}`;
        const { info, start } = pastInfo(model, split.past, where, HEADROOM_STABLE_WINDOW_SECONDS);
        history = { ...info, traceSeconds: seconds };
        startFrom = start;
        trace = split.rest;
      }
      // On stderr whatever the format (as backtest's gaps); --json also carries them in `warnings`.
      process.stderr.write(warningLines(trace.warnings));
      const result = runSimulation({
        ...options,
        trace,
        bound: opts.bound === true,
        ...(truth ? { truth } : {}),
        ...(histogram ? { latencyHistogramMs: histogram } : {}),
        ...(history && startFrom ? { history: { ...startFrom, traceStartSeconds: history.traceSeconds } } : {}),
      });
      const warnings = trace.warnings ?? [];
      const notes = [...(history ? [history.text] : []), ...warnings];
      if (opts.report !== undefined) writeReport(opts.report, result, notes.length ? { notes } : {});
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(simulateJson(result, warnings, history), null, 2)}\n`
          : simulateText(result, history),
      );
    });
}
