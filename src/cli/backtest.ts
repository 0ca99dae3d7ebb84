// `headroom backtest --prometheus URL --query Q --spec SPEC [...]`: what Headroom and the baselines
// would have done on real history. It reads the demand (and the replicas the cluster ran, and
// optionally the measured latency) from Prometheus' query_range, replays the demand exactly as
// `simulate` does (same engine, policies, table, JSON and report), and adds the history itself as
// the row `actual`: those replicas as a fixed schedule through the same engine, so its
// instance-hours, money and modelled violations are computed as every other row's.
// A separate command, not `simulate --prometheus`: simulate requires --trace and offers --peak and
// --true-service-time, which make no sense for history, and history needs six flags of its own.
import type { Command } from 'commander';
import { PrometheusSource } from '../adapters/metrics/prometheus/index.ts';
import { labelText, type RangeSeries } from '../adapters/metrics/prometheus/range.ts';
import { HeadroomError, formatProblem, type ProblemDetail } from '../core/errors.ts';
import type { RangeAnswer } from '../ports/metrics.ts';
import {
  alignToGrid,
  buildReplay,
  measuredViolations,
  missingRuns,
  missingText,
  stepTime,
  type StepGrid,
} from '../simulator/history.ts';
import { rateWindowOf, readDemandPast } from '../controller/history.ts';
import { actualPolicy } from '../simulator/policies/actual.ts';
import { runSimulation, type SimulationResult } from '../simulator/run.ts';
import { MAX_REPLICAS } from '../input/schema.ts';
import { TRACE_MAX_RPS, TRACE_MAX_SECONDS } from '../input/trace.ts';
import { parseNumberFlag, prometheusUrlFlag, usageError } from './flags.ts';
import {
  addReplayOptions,
  durationFlag,
  pastInfo,
  replaySetup,
  simulateJson,
  simulateText,
  writeReport,
  type ReplayFlags,
  type ReplayHistory,
} from './simulate.ts';

interface BacktestFlags extends ReplayFlags {
  prometheus: string;
  query: string;
  replicasQuery?: string;
  namespace?: string;
  deployment?: string;
  latencyQuery?: string;
  since: string;
  step: string;
  end?: string;
  timeout?: string;
}

/** `--end`: RFC 3339 (2026-11-20T03:00:00Z; no offset = UTC) or seconds since the epoch; default now. */
export function parseEnd(raw: string | undefined): number {
  if (raw === undefined) return Math.floor(Date.now() / 1000);
  // Date.parse is lenient ('-5' is a day in 2001): a time is RFC 3339 (a date at least) or seconds.
  const rfc = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(raw);
  // Without an offset, UTC, as every time backtest prints (Date.parse read "2025-11-30T12:00" as
  // local time and a bare date as UTC: two forms, two zones, shifted again at DST).
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(raw) || !/[T ]/i.test(raw) ? raw : `${raw.replace(' ', 'T')}Z`;
  const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : rfc ? Date.parse(zoned) / 1000 : Number.NaN;
  if (!Number.isFinite(n) || n <= 0) {
    throw usageError('--end', raw, 'not a time', 'RFC 3339 (2026-11-20T03:00:00Z) or seconds since the epoch');
  }
  return n;
}

/** PromQL string literal: JSON's escaping is a subset of PromQL's (Go) double-quoted strings. */
function promString(s: string): string {
  return JSON.stringify(s);
}

/** kube-state-metrics' count of the Deployment's pods (spec.replicas as created, ready or not). */
export function defaultReplicasQuery(deployment: string, namespace?: string): string {
  const ns = namespace !== undefined ? `, namespace=${promString(namespace)}` : '';
  return `kube_deployment_status_replicas{deployment=${promString(deployment)}${ns}}`;
}

interface Fetched {
  what: string;
  flag: string;
  query: string;
  series?: RangeSeries;
}

/** One series or the problem: unreachable, a Prometheus error, nothing, or several series. */
function oneSeries(f: Fetched, answer: RangeAnswer, url: string, range: string): ProblemDetail | undefined {
  if (answer.kind === 'error') {
    return answer.unreachable
      ? { code: 'HR_PROMETHEUS_UNREACHABLE', path: '--prometheus', value: url, message: answer.reason }
      : {
          code: 'HR_PROMETHEUS_QUERY',
          path: f.flag,
          value: f.query,
          message: `Prometheus refused the ${f.what} query: ${answer.reason}`,
        };
  }
  const series = answer.series.filter((s) => s.values.length > 0);
  if (series.length === 0) {
    return {
      code: 'HR_PROMETHEUS_EMPTY',
      path: f.flag,
      value: f.query,
      message: `the ${f.what} query returned no data ${range}`,
      allowed: 'a query with samples in that range (check the metric name, the labels and --end)',
    };
  }
  if (series.length > 1) {
    const shown = series.slice(0, 5).map((s) => labelText(s.labels));
    const more = series.length > 5 ? `, and ${series.length - 5} more` : '';
    return {
      code: 'HR_PROMETHEUS_SERIES',
      path: f.flag,
      value: f.query,
      message: `the ${f.what} query returned ${series.length} series where one is needed: ${shown.join(', ')}${more}`,
      allowed: `one series: aggregate them, e.g. sum(${f.query}), or select one with its labels`,
    };
  }
  f.series = series[0];
  // First: a counter also runs past 1e9, and this names the fix (rate()).
  const counter = f.what === 'demand' ? counterProblem(f, series[0]?.values ?? []) : undefined;
  if (counter) return counter;
  // A value no service can have is a wrong query (bytes, a sum over the cluster), not a gap: an
  // Int32 of replicas would wrap 2^31 to a negative count, and 1e12 rps is no request rate.
  const max = f.what === 'replicas' ? MAX_REPLICAS : f.what === 'demand' ? TRACE_MAX_RPS : Infinity;
  const over = series[0]?.values.find(([, v]) => Number.isFinite(v) && v > max);
  if (over) {
    return {
      code: 'HR_PROMETHEUS_QUERY',
      path: f.flag,
      value: f.query,
      message: `the ${f.what} query returned ${over[1]} at ${new Date(over[0] * 1000).toISOString().slice(0, 19)}Z: not ${f.what === 'replicas' ? 'a count of instances' : 'a request rate Headroom replays'}`,
      allowed: `0 to ${max.toLocaleString('en')}`,
    };
  }
  return undefined;
}

/**
 * The counter a PromQL query reads as it is, outside rate(), irate() and increase(): `sum(http_requests_total)`
 * → `http_requests_total`; `sum(rate(http_requests_total[2m]))` → undefined. Names ending in `_total`,
 * `_count` or `_sum` (Prometheus' counter suffixes); label matchers and strings are not read.
 */
export function counterOutsideRate(query: string): string | undefined {
  let s = query.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""').replace(/\{[^}]*\}/g, '{}');
  const re = /\b(?:rate|irate|increase)\s*\(/g;
  let out = '';
  let pos = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    out += s.slice(pos, m.index);
    let depth = 1;
    let i = m.index + m[0].length;
    for (; i < s.length && depth > 0; i++) depth += s[i] === '(' ? 1 : s[i] === ')' ? -1 : 0;
    pos = i;
    re.lastIndex = i;
  }
  s = out + s.slice(pos);
  // Not a function of that name (histogram_count(...)), not part of a longer name.
  return /(?<![\w:])([A-Za-z_:][\w:]*_(?:total|count|sum))(?![\w:])(?!\s*\()/.exec(s)?.[1];
}

// A counter where a rate belongs is refused, not warned about: like a value above 1e9 rps it is a
// wrong query (fixed by wrapping it in rate()), both signals must hold (a counter's name outside
// rate() and values that never fall over ≥ 20 steps, which real demand does not do), and a replay
// of it would only mislead (14 days of demand rising to millions of rps).
const COUNTER_MIN_STEPS = 20;

/** HR_PROMETHEUS_QUERY when the demand query reads a counter as is: named so, never falling, rising. */
export function counterProblem(
  f: { flag: string; query: string },
  values: ReadonlyArray<readonly [number, number]>,
): ProblemDetail | undefined {
  const name = counterOutsideRate(f.query);
  if (name === undefined) return undefined;
  const v = values.map(([, x]) => x).filter((x) => Number.isFinite(x) && x >= 0);
  if (v.length < COUNTER_MIN_STEPS) return undefined;
  for (let i = 1; i < v.length; i++) if ((v[i] ?? 0) < (v[i - 1] ?? 0)) return undefined;
  const first = v[0] ?? 0;
  const last = v[v.length - 1] ?? 0;
  if (!(last > first)) return undefined;
  return {
    code: 'HR_PROMETHEUS_QUERY',
    path: f.flag,
    value: f.query,
    message: `the demand query reads the counter ${name} as it is: its ${v.length.toLocaleString('en')} values never decrease (${first} to ${last}), a cumulative count, not requests per second; the replay would read it as an ever-rising rate`,
    allowed: `requests per second, e.g. sum(rate(${name}[2m]))`,
  };
}

export interface BacktestInfo {
  prometheus: string;
  queries: { demand: string; replicas: string; latency?: string };
  start: string;
  end: string;
  stepSeconds: number;
  steps: number;
  replayedSteps: number;
  /** Per series, the missing steps as text (also printed to stderr as HR_PROMETHEUS_GAPS). */
  missing: Array<{ series: string; steps: number; text: string }>;
  measured?: { violatingSeconds: number; measuredSteps: number; unmeasuredSteps: number; sloMs: number };
  /**
   * The demand's past before the range that Headroom started from, as the controller reads it on
   * a new policy's first round (behavior.forecast.historySeconds): readings 0 when none.
   */
  history: ReplayHistory;
}

export function backtestJson(r: SimulationResult, info: BacktestInfo): unknown {
  const base = simulateJson(r) as { policies: Array<Record<string, unknown>> };
  if (info.measured) {
    for (const p of base.policies) {
      if (p.policy === 'actual') p.measuredSloViolationSeconds = info.measured.violatingSeconds;
    }
  }
  return { ...base, backtest: info };
}

export function backtestText(r: SimulationResult, info: BacktestInfo): string {
  const head = [
    `backtest on ${info.prometheus}: ${info.start} to ${info.end}, ${info.steps.toLocaleString('en')} steps of ${info.stepSeconds} s, ${info.replayedSteps.toLocaleString('en')} replayed`,
    `  demand:   ${info.queries.demand}`,
    `  replicas: ${info.queries.replicas} (row "actual")`,
    ...(info.queries.latency ? [`  latency:  ${info.queries.latency}`] : []),
    ...info.missing.map((m) => `  ${m.text}`),
    `  ${info.history.text}`,
  ];
  const tail: string[] = [];
  const m = info.measured;
  if (m) {
    tail.push(
      `actual, measured: ${m.violatingSeconds} SLO-violating s (${m.violatingSeconds / info.stepSeconds} steps with latency > ${m.sloMs} ms) of ${m.measuredSteps.toLocaleString('en')} measured steps${m.unmeasuredSteps ? `; ${m.unmeasuredSteps} replayed steps without latency are not counted` : ''}`,
    );
  }
  return `${head.join('\n')}\n${simulateText(r)}${tail.length ? `${tail.join('\n')}\n` : ''}`;
}

export function register(program: Command): void {
  const cmd = program
    .command('backtest')
    .description(
      'replay real demand from Prometheus through Headroom and the baselines, next to the replicas the cluster actually ran',
    )
    .requiredOption('--prometheus <url>', 'Prometheus base URL, e.g. http://127.0.0.1:9090')
    .requiredOption(
      '--query <promql>',
      'demand in requests per second, one series, e.g. sum(rate(http_requests_total[2m]))',
    )
    .option('--since <duration>', 'how far back from --end (at most 31d)', '14d')
    .option('--step <duration>', 'one value per step (whole seconds)', '60s')
    .option('--end <time>', 'end of the range: RFC 3339 (no offset: UTC) or seconds since the epoch (default: now)')
    .option(
      '--replicas-query <promql>',
      'the replicas the cluster ran (default: kube_deployment_status_replicas{deployment="<--deployment>",namespace="<--namespace>"})',
    )
    .option('--deployment <name>', 'the Deployment of the default replicas query (default: the service name)')
    .option('--namespace <name>', 'its namespace (default: any)')
    .option(
      '--latency-query <promql>',
      'measured latency at the SLO percentile, seconds, e.g. histogram_quantile(0.99, ...)',
    )
    .option('--timeout <seconds>', 'per request to Prometheus (default 30)');
  addReplayOptions(cmd).action(async (opts: BacktestFlags) => {
    prometheusUrlFlag(opts.prometheus);
    const since = durationFlag('--since', opts.since, 60, TRACE_MAX_SECONDS);
    const step = durationFlag('--step', opts.step, 1, 86400);
    if (!Number.isInteger(step)) throw usageError('--step', opts.step, 'not a whole number of seconds');
    if (step > since) throw usageError('--step', opts.step, `longer than --since ${opts.since}`);
    const timeout = parseNumberFlag('--timeout', opts.timeout, { min: 1, max: 600, unit: 's' }) ?? 30;
    for (const [flag, q] of [
      ['--query', opts.query],
      ['--replicas-query', opts.replicasQuery],
      ['--latency-query', opts.latencyQuery],
    ] as const) {
      if (q !== undefined && q.trim() === '') throw usageError(flag, q, 'empty', 'a PromQL expression');
    }
    // --deployment and --namespace only build the default replicas query: with one given, they would be ignored.
    if (opts.replicasQuery !== undefined && (opts.deployment !== undefined || opts.namespace !== undefined)) {
      throw usageError(
        opts.deployment !== undefined ? '--deployment' : '--namespace',
        opts.deployment ?? opts.namespace ?? '',
        'has no effect with --replicas-query',
        'either --replicas-query, or --deployment/--namespace for the default query',
      );
    }
    const { model, options } = replaySetup(opts);
    if (opts.latencyQuery !== undefined && !model.slo) {
      throw usageError(
        '--latency-query',
        opts.latencyQuery,
        `the service ${model.name} has no slo in ${opts.spec} to measure against`,
      );
    }
    // Evaluation times on multiples of the step, so they meet samples written on the minute.
    const end = Math.floor(parseEnd(opts.end) / step) * step;
    const steps = Math.floor(since / step);
    const grid: StepGrid = { start: end - (steps - 1) * step, step, steps };
    const range = `from ${stepTime(grid, 0)} to ${stepTime(grid, steps - 1)} (UTC) at ${step} s`;

    const replicasQuery = opts.replicasQuery ?? defaultReplicasQuery(opts.deployment ?? model.name, opts.namespace);
    const wanted: Fetched[] = [
      { what: 'demand', flag: '--query', query: opts.query },
      { what: 'replicas', flag: '--replicas-query', query: replicasQuery },
      ...(opts.latencyQuery ? [{ what: 'latency', flag: '--latency-query', query: opts.latencyQuery }] : []),
    ];
    const prom = new PrometheusSource({ url: opts.prometheus, timeoutMs: timeout * 1000 });
    const r = { start: grid.start, end, step };
    const answers = await Promise.all(wanted.map((f) => prom.range(f.query, r)));
    const problems: ProblemDetail[] = [];
    wanted.forEach((f, i) => {
      const p = oneSeries(f, answers[i] as RangeAnswer, opts.prometheus, range);
      if (p) problems.push(p);
    });
    // One unreachable server is one line, not one per query.
    const unreachable = problems.find((p) => p.code === 'HR_PROMETHEUS_UNREACHABLE');
    if (unreachable) throw new HeadroomError(unreachable);
    if (problems.length) throw new HeadroomError(problems);

    const [demand, replicas, latency] = wanted.map((f) => alignToGrid(f.series?.values ?? [], grid));
    const missing: BacktestInfo['missing'] = [];
    wanted.forEach((f, i) => {
      const runs = missingRuns([demand, replicas, latency][i] as Float64Array);
      if (runs.length === 0) return;
      const consequence =
        f.what === 'latency'
          ? 'those steps are left out of the measured violations and counted'
          : 'those steps are skipped and counted';
      const text = `${missingText(f.what, runs, grid)}; ${consequence}`;
      missing.push({ series: f.what, steps: runs.reduce((n, x) => n + x.to - x.from + 1, 0), text });
      process.stderr.write(
        `${formatProblem({ code: 'HR_PROMETHEUS_GAPS', path: f.flag, value: f.query, message: text })}\n`,
      );
    });
    const replay = buildReplay(
      demand as Float64Array,
      replicas as Float64Array,
      grid,
      `${opts.prometheus} ${opts.query}`,
    );
    if (replay.kept.length === 0) {
      throw new HeadroomError({
        code: 'HR_PROMETHEUS_EMPTY',
        path: '--query',
        value: opts.query,
        message: `no step ${range} has both a demand and a replicas value, so there is nothing to replay`,
      });
    }
    // Headroom starts as the controller would have on a new policy at the range's start: from the
    // demand's past before it (8 days by default), not from nothing.
    const past = await readDemandPast(prom, opts.query, model, { beforeMs: grid.start * 1000, stepSeconds: step });
    const { info: history, start: startFrom } = pastInfo(model, past, 'before the range', rateWindowOf(opts.query));
    const result = runSimulation({
      ...options,
      trace: replay.trace,
      extra: [actualPolicy(replay.replicas)],
      ...(startFrom ? { history: { ...startFrom, traceStartSeconds: grid.start } } : {}),
    });
    const info: BacktestInfo = {
      prometheus: opts.prometheus,
      queries: {
        demand: opts.query,
        replicas: replicasQuery,
        ...(opts.latencyQuery ? { latency: opts.latencyQuery } : {}),
      },
      start: stepTime(grid, 0),
      end: stepTime(grid, steps - 1),
      stepSeconds: step,
      steps,
      replayedSteps: replay.kept.length,
      missing,
      history,
    };
    if (latency && model.slo) {
      info.measured = {
        ...measuredViolations(latency, replay.kept, model.slo.latencyMs, step),
        sloMs: model.slo.latencyMs,
      };
    }
    if (opts.report !== undefined) {
      writeReport(opts.report, result, {
        title: `headroom backtest: ${model.name}, ${info.start} to ${info.end} (UTC)`,
        notes: backtestText(result, info)
          .split('\n')
          .filter((l) => l.startsWith('backtest') || l.startsWith('  ') || l.startsWith('actual, measured')),
      });
    }
    process.stdout.write(
      opts.json ? `${JSON.stringify(backtestJson(result, info), null, 2)}\n` : backtestText(result, info),
    );
  });
}
