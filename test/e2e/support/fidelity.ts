// Simulator fidelity (issue 7): the same short trace through `headroom simulate`'s headroom policy
// and through the real local cluster (`headroom run --traffic`), predicted vs measured.
//
//   node scripts/bootstrap.mjs bench/fidelity.ts [--peak 700] [--rows 60] [--row-seconds 4] [--window 30]
// (this file is the harness, shared by that bench and test/e2e/simulate-fidelity.test.ts).
//
// Trace: NASA Kennedy, Thursday 13 Jul 1995 (the STS-70 launch day), each 24 one-minute rows
// averaged into one and held --row-seconds: a day in 4 minutes, rescaled to --peak rps. Service:
// examples/service.ts in sleep mode, WORK_MS 20 (exponential), CONCURRENCY 4 → 200 rps per
// instance whatever the cores; SLO p99 ≤ 250 ms, leastRequests. The simulator gets what the local
// loop has: a decision every 1 s on rates over 60 s and 6 s (scrapeSeconds 1) and instances ready
// within the second (startupSeconds 0; real startup here is 0.2–0.3 s).
//
// Measured (polled every second from the run's status server): instance counts from /api/status's
// per-tick history, integrated over time; the share of requests over the SLO per second from the
// /metrics latency histogram (250 ms is one of its bucket bounds, so the share is exact); p99 over the
// burst window (6 s, HDR histogram) from the history. Predicted p99s use the core's pool model
// (src/core/pool.ts) for the same seconds, request-weighted. Prints a Markdown table and one JSON line.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceModel } from '../../../src/core/model.ts';
import { sloAttainment } from '../../../src/core/pool.ts';
import { loadRunConfig } from '../../../src/local/config.ts';
import { CapacityTable } from '../../../src/simulator/capacity.ts';
import { simulate } from '../../../src/simulator/engine.ts';
import { headroomPolicy } from '../../../src/simulator/policies/headroom.ts';
import { clampReplicas } from '../../../src/simulator/policies/types.ts';
import { loadTraceFile, rescaleToPeak, type Trace } from '../../../src/input/trace.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const SERVICE = join(ROOT, 'examples/service.ts');

export interface FidelityConfig {
  /** Shared trace to slice (60-s rows). */
  source: string;
  /** First row of the slice and how many source rows make one row of the short trace. */
  fromRow: number;
  group: number;
  /** Rows of the short trace and how long each holds, seconds. */
  rows: number;
  rowSeconds: number;
  /** Rescale the short trace so its maximum is this, rps. */
  peak: number;
  /** Report windows, seconds. */
  windowSeconds: number;
  /** The short trace's rows themselves (before rescaling to `peak`), instead of a slice of `source`. */
  rowsRps?: readonly number[];
}

export const DEFAULT_CONFIG: FidelityConfig = {
  source: join(ROOT, 'traces/nasa_kennedy_jul1995_week.csv'),
  fromRow: 3 * 1440, // Thursday 00:00
  group: 24,
  rows: 60,
  rowSeconds: 4,
  peak: 700,
  windowSeconds: 30,
};

/** The simulator's settings matched to the local loop (tick 1 s, rates read live; startup < 0.5 s). */
export const SIM_SCRAPE_SECONDS = 1;
export const SIM_STARTUP_SECONDS = 0;
/**
 * SLO p99 ≤ 250 ms, a bound of the /metrics latency buckets. Not 100 ms: the exponential 20-ms
 * service alone has a p99 of 92 ms, so at 100 ms the balancer hop and the shared cores, not the
 * instance count, would decide which seconds violate.
 */
export const SLO_MS = 250;

/** Write the short trace (unscaled means of `group` source rows each) as CSV; returns its path. */
export function writeShortTrace(cfg: FidelityConfig, dir: string): string {
  const lines = ['t_seconds,rps'];
  const path = join(dir, 'fidelity-trace.csv');
  if (cfg.rowsRps) {
    cfg.rowsRps.forEach((v, i) => lines.push(`${i * cfg.rowSeconds},${v}`));
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  }
  const src = loadTraceFile(cfg.source);
  const step = src.rowSeconds * cfg.group;
  for (let i = 0; i < cfg.rows; i++) {
    const from = cfg.fromRow * src.rowSeconds + i * step;
    if (from + step > src.rps.length) throw new Error(`the slice runs past the end of ${cfg.source}`);
    let sum = 0;
    for (let t = from; t < from + step; t++) sum += src.rps[t] ?? 0;
    lines.push(`${i * cfg.rowSeconds},${(sum / step).toFixed(4)}`);
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

function specYaml(initialReplicas: number): string {
  return `# Written by bench/fidelity.ts: the service of the fidelity run, for both the simulator and the local cluster.
services:
  - name: web
    instance: { serviceTimeMs: 20, concurrency: 4 }
    loadBalancing: leastRequests
    slo: { latencyMs: ${SLO_MS}, percentile: 99 }
    replicas: { min: 1, max: 12 }
    startupSeconds: ${SIM_STARTUP_SECONDS}
    behavior:
      scaleDown:
        # Short so a 4-minute trace shows scale-down (HPA's default is 300 s).
        stabilizationWindowSeconds: 15
        policies: [{ type: Pods, value: 1, periodSeconds: 5 }]
run:
  command: [node, ${JSON.stringify(SERVICE)}]
  env: { WORK_MS: 20, CONCURRENCY: 4, WORK_MODE: sleep, WORK_DIST: exponential }
  port: 0
  statusPort: 0
  initialReplicas: ${initialReplicas}
  tickSeconds: 1
  stableWindowSeconds: 60
  startupTimeoutSeconds: 20
  drainTimeoutSeconds: 10
  killGraceSeconds: 3
simulate: { scrapeSeconds: ${SIM_SCRAPE_SECONDS}, startupSeconds: ${SIM_STARTUP_SECONDS} }
`;
}

/** Write the spec, starting the real cluster with the count the simulator starts with. */
export function writeSpec(dir: string, trace: Trace): { path: string; model: ServiceModel; initial: number } {
  const path = join(dir, 'fidelity.yaml');
  writeFileSync(path, specYaml(1));
  const model = { ...loadRunConfig(path).model, startupSeconds: SIM_STARTUP_SECONDS };
  const initial = Math.max(1, clampReplicas(model, new CapacityTable(model).need(trace.rps[0] ?? 0)));
  writeFileSync(path, specYaml(initial));
  return { path, model, initial };
}

export interface Second {
  demand: number;
  /** Instances running (ready + starting), mean over the second. */
  instances: number;
  ready: number;
  violates: boolean;
  /** Share of the second's requests over the SLO latency. */
  overSlo: number;
  requests: number;
}

export interface Predicted {
  seconds: Second[];
  scaleEvents: number;
}

/** The simulator's headroom policy on the trace, second by second (engine series with 1-s buckets). */
export function predict(trace: Trace, model: ServiceModel): Predicted {
  const table = new CapacityTable(model);
  const run = simulate(trace, model, headroomPolicy({ model, scrapeSeconds: SIM_SCRAPE_SECONDS }), {
    table,
    series: true,
  });
  const s = run.series!;
  if (s.bucketSeconds !== 1) throw new Error('fidelity needs 1-s series: keep the trace under 5,000 s');
  const seconds = s.replicas.map((running, t): Second => {
    // The series keeps λ*(ready); λ* grows with the count, so it names the ready count.
    let ready = 0;
    while (ready < running && table.threshold(ready) < (s.capacity[t] ?? 0)) ready++;
    const demand = trace.rps[t] ?? 0;
    const slo = model.slo!;
    return {
      demand,
      instances: running,
      ready,
      violates: (s.violations[t] ?? 0) > 0,
      overSlo: demand > 0 ? 1 - sloAttainment(shape(model, demand), ready, slo.latencyMs) : 0,
      requests: demand,
    };
  });
  return { seconds, scaleEvents: run.scaleEvents };
}

function shape(model: ServiceModel, demandRps: number) {
  return {
    demandRps,
    serviceTimeMs: model.instance.serviceTimeMs,
    concurrency: model.instance.concurrency,
    loadBalancing: model.loadBalancing,
  };
}

/** The request-weighted percentile (ms) of the model over some seconds; Infinity when overloaded. */
export function modelPercentile(model: ServiceModel, secs: readonly Second[], percentile = 99): number | null {
  const total = secs.reduce((a, s) => a + s.demand, 0);
  if (total <= 0) return null;
  const p = percentile / 100;
  const att = (ms: number): number =>
    secs.reduce((a, s) => a + (s.demand > 0 ? s.demand * sloAttainment(shape(model, s.demand), s.ready, ms) : 0), 0) /
    total;
  let hi = 10_000;
  if (att(hi) < p) return Infinity;
  let lo = 0;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (att(mid) >= p) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * The same prediction through the CLI a user runs: `headroom simulate --policy headroom --json` on
 * the spec (its simulate: section sets scrape 1 s, startup 0 s); its instance-seconds.
 */
export function simulateCli(spec: string, csv: string, peak: number): number {
  const r = spawnSync(
    process.execPath,
    [
      '--disable-warning=ExperimentalWarning',
      MAIN,
      'simulate',
      '--trace',
      csv,
      '--spec',
      spec,
      '--peak',
      String(peak),
      '--policy',
      'headroom',
      '--json',
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (r.status !== 0) throw new Error(`headroom simulate exited ${r.status}: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { policies: Array<{ policy: string; replicaSeconds: number }> };
  const hr = out.policies.find((p) => p.policy === 'headroom');
  if (!hr) throw new Error('headroom simulate gave no headroom policy');
  return hr.replicaSeconds;
}

interface HistoryPoint {
  t: number;
  current: number;
  ready: number;
  p99Ms: number | null;
}

export interface Measured {
  seconds: Second[];
  /** Burst-window (6 s) p99 at each tick, from the balancer's HDR histograms: [second, ms]. */
  p99: Array<[number, number]>;
  requests: number;
  errors: number;
  dropped: number;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

interface RunDone {
  type: 'done';
  traffic?: { sent: number; ok: number; errors: number; dropped: number };
}
type RunLine =
  { type: 'started'; statusApi: string } | { type: 'traffic' } | RunDone | { type: 'tick' | 'event' | 'stopping' };

const BUCKET = /^headroom_request_duration_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\}\s+(\S+)/;

/** Cumulative latency-histogram counts by upper bound (summed over label sets). */
function parseHistogram(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const x = BUCKET.exec(line);
    if (x) m.set(x[1]!, (m.get(x[1]!) ?? 0) + Number(x[2]));
  }
  return m;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/**
 * `headroom run SPEC --traffic CSV --peak P` as a real process; polls /api/status and /metrics every
 * second until it exits. Killed if it outlives the trace by a minute.
 */
export async function measure(
  spec: string,
  csv: string,
  peak: number,
  traceSeconds: number,
  initial: number,
): Promise<Measured> {
  const env = { ...process.env };
  delete env.HEADROOM_TOKEN;
  const child = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', MAIN, 'run', spec, '--traffic', csv, '--peak', String(peak), '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'], env },
  );
  let stdout = '';
  let stderr = '';
  let statusUrl: string | undefined;
  let t0: number | undefined;
  let finished: RunDone | undefined;
  let started: () => void = () => undefined;
  const startedP = new Promise<void>((r) => (started = r));
  // `headroom run --json`: one object per line (started, traffic, tick, event, stopping, done).
  let pending = '';
  child.stdout.on('data', (c: Buffer) => {
    const text = c.toString();
    stdout += text;
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const o = JSON.parse(line) as RunLine;
      if (o.type === 'started') statusUrl = o.statusApi.replace(/\/api\/status$/, '');
      else if (o.type === 'traffic' && t0 === undefined) {
        t0 = Date.now();
        started();
      } else if (o.type === 'done') finished = o;
    }
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  let done = false;
  void exited.then(() => {
    done = true;
    started();
  });
  const kill = setTimeout(() => child.kill('SIGKILL'), (traceSeconds + 90) * 1000);

  await startedP;
  const history = new Map<number, HistoryPoint>();
  const hist: Array<{ at: number; h: Map<string, number> }> = [];
  let last: { traffic?: { totals?: { requests: number; errors: number } } } | undefined;
  for (let k = 1; !done && t0 !== undefined && statusUrl !== undefined; k++) {
    await sleep(t0 + k * 1000 + 100 - Date.now());
    try {
      const [status, metrics] = await Promise.all([
        fetch(`${statusUrl}/api/status`).then((r) => r.json() as Promise<{ history: HistoryPoint[] }>),
        fetch(`${statusUrl}/metrics`).then((r) => r.text()),
      ]);
      const at = Date.now();
      for (const p of status.history) history.set(p.t, p);
      hist.push({ at, h: parseHistogram(metrics) });
      last = status as typeof last;
    } catch {
      // The run is stopping (its server closed): what was polled is the measurement.
    }
  }
  const code = await exited;
  clearTimeout(kill);
  if (t0 === undefined) throw new Error(`headroom run did not start the traffic (exit ${code}): ${stderr || stdout}`);
  const start = t0 / 1000;
  const points = [...history.values()].sort((a, b) => a.t - b.t);
  const counts = stepMeans(points, start, traceSeconds, initial);
  // Histogram deltas between polls ~1 s apart: requests answered in that second, and how many took longer than the SLO.
  const sloBucket = String(SLO_MS / 1000);
  const perSecond = Array.from({ length: traceSeconds }, () => ({ n: 0, bad: 0 }));
  for (let i = 1; i < hist.length; i++) {
    const a = hist[i - 1]!;
    const b = hist[i]!;
    const sec = Math.round((b.at - t0) / 1000) - 1;
    if (sec < 0 || sec >= traceSeconds) continue;
    const n = (b.h.get('+Inf') ?? 0) - (a.h.get('+Inf') ?? 0);
    const fast = (b.h.get(sloBucket) ?? 0) - (a.h.get(sloBucket) ?? 0);
    perSecond[sec]!.n += n;
    perSecond[sec]!.bad += n - fast;
  }
  const seconds = counts.map((c, t): Second => ({
    demand: NaN,
    instances: c.current,
    ready: c.ready,
    requests: perSecond[t]!.n,
    overSlo: perSecond[t]!.n > 0 ? perSecond[t]!.bad / perSecond[t]!.n : 0,
    // The second's p99 is over the SLO when more than 1 % of its requests are.
    violates: perSecond[t]!.n > 0 && perSecond[t]!.bad / perSecond[t]!.n > 0.01,
  }));
  const p99 = points
    .filter((p) => p.p99Ms !== null && p.t >= start && p.t < start + traceSeconds)
    .map((p): [number, number] => [p.t - start, p.p99Ms!]);
  const sent = finished?.traffic;
  return {
    seconds,
    p99,
    requests: sent?.sent ?? last?.traffic?.totals?.requests ?? NaN,
    errors: sent?.errors ?? NaN,
    dropped: sent?.dropped ?? NaN,
    exitCode: code,
    stdout,
    stderr,
  };
}

/** Time-weighted mean of the tick history's counts over each second [i, i+1) after `start`. */
function stepMeans(
  points: readonly HistoryPoint[],
  start: number,
  seconds: number,
  initial: number,
): Array<{ current: number; ready: number }> {
  const out: Array<{ current: number; ready: number }> = [];
  let j = 0;
  let cur = initial;
  let rdy = cur;
  while (j < points.length && points[j]!.t <= start) {
    cur = points[j]!.current;
    rdy = points[j]!.ready;
    j++;
  }
  for (let i = 0; i < seconds; i++) {
    const a = start + i;
    const b = a + 1;
    let c = 0;
    let r = 0;
    let from = a;
    while (j < points.length && points[j]!.t < b) {
      const p = points[j]!;
      c += cur * (p.t - from);
      r += rdy * (p.t - from);
      from = p.t;
      cur = p.current;
      rdy = p.ready;
      j++;
    }
    c += cur * (b - from);
    r += rdy * (b - from);
    out.push({ current: c, ready: r });
  }
  return out;
}

export interface WindowRow {
  from: number;
  to: number;
  demand: number;
  instancesPredicted: number;
  instancesMeasured: number;
  p99Predicted: number | null;
  p99Measured: number | null;
  overSloPredicted: number;
  overSloMeasured: number;
  violatingPredicted: number;
  violatingMeasured: number;
}

export interface Comparison {
  seconds: number;
  peakRps: number;
  instanceSecondsPredicted: number;
  instanceSecondsMeasured: number;
  /** Predicted ÷ measured. */
  ratio: number;
  /** Mean |predicted − measured| instance count per second. */
  meanAbsError: number;
  peakPredicted: number;
  peakMeasured: number;
  /** When each first reached its peak count, seconds. */
  peakAtPredicted: number;
  peakAtMeasured: number;
  initial: number;
  violatingPredicted: number;
  violatingMeasured: number;
  overSloPredicted: number;
  overSloMeasured: number;
  /** Mean burst-window (6 s) p99 over the run: the model's for the same seconds vs the balancer's HDR. */
  p99Predicted: number | null;
  p99Measured: number | null;
  /** Median of measured ÷ predicted 6-s p99 over the ticks. */
  p99RatioMedian: number | null;
  /** Ticks the model calls overloaded, and the mean measured 6-s p99 at them. */
  overloadedTicks: number;
  overloadedP99Measured: number | null;
  windows: WindowRow[];
}

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

export function compare(model: ServiceModel, pred: Predicted, meas: Measured, windowSeconds: number): Comparison {
  const P = pred.seconds;
  const M = meas.seconds;
  const T = Math.min(P.length, M.length);
  let ps = 0;
  let ms = 0;
  let abs = 0;
  for (let t = 0; t < T; t++) {
    ps += P[t]!.instances;
    ms += M[t]!.instances;
    abs += Math.abs(P[t]!.instances - M[t]!.instances);
  }
  const peakOf = (xs: readonly Second[]): [number, number] => {
    let best = 0;
    let at = 0;
    xs.forEach((s, t) => {
      const n = Math.round(s.instances);
      if (n > best) [best, at] = [n, t];
    });
    return [best, at];
  };
  const [peakP, atP] = peakOf(P.slice(0, T));
  const [peakM, atM] = peakOf(M.slice(0, T));
  // The model's 6-s p99 for each tick the balancer reported one: the same seconds, request-weighted.
  // Ticks where the model has the pool overloaded (p99 unbounded) are counted apart.
  const pairs: Array<[number, number, number]> = [];
  const overloaded: number[] = [];
  for (const [t, ms6] of meas.p99) {
    const end = Math.min(T, Math.floor(t) + 1);
    const w = P.slice(Math.max(0, end - 6), end);
    const m = modelPercentile(model, w);
    if (m === null) continue;
    if (Number.isFinite(m)) pairs.push([t, m, ms6]);
    else overloaded.push(ms6);
  }
  const ratios = pairs.map(([, p, m]) => m / p).sort((a, b) => a - b);
  const weightedOver = (xs: readonly Second[]): number => {
    const n = xs.reduce((a, s) => a + s.requests, 0);
    return n > 0 ? xs.reduce((a, s) => a + s.overSlo * s.requests, 0) / n : 0;
  };
  const windows: WindowRow[] = [];
  for (let from = 0; from < T; from += windowSeconds) {
    const to = Math.min(T, from + windowSeconds);
    const p = P.slice(from, to);
    const m = M.slice(from, to);
    const inW = pairs.filter(([t]) => t >= from && t < to);
    windows.push({
      from,
      to,
      demand: mean(p.map((s) => s.demand)),
      instancesPredicted: mean(p.map((s) => s.instances)),
      instancesMeasured: mean(m.map((s) => s.instances)),
      p99Predicted: inW.length ? mean(inW.map(([, x]) => x)) : null,
      p99Measured: inW.length ? mean(inW.map(([, , x]) => x)) : null,
      overSloPredicted: weightedOver(p),
      overSloMeasured: weightedOver(m),
      violatingPredicted: p.filter((s) => s.violates).length,
      violatingMeasured: m.filter((s) => s.violates).length,
    });
  }
  return {
    seconds: T,
    peakRps: Math.max(...P.map((s) => s.demand)),
    instanceSecondsPredicted: ps,
    instanceSecondsMeasured: ms,
    ratio: ms > 0 ? ps / ms : NaN,
    meanAbsError: T > 0 ? abs / T : NaN,
    peakPredicted: peakP,
    peakMeasured: peakM,
    peakAtPredicted: atP,
    peakAtMeasured: atM,
    initial: P[0]?.instances ?? 0,
    violatingPredicted: P.slice(0, T).filter((s) => s.violates).length,
    violatingMeasured: M.slice(0, T).filter((s) => s.violates).length,
    overSloPredicted: weightedOver(P.slice(0, T)),
    overSloMeasured: weightedOver(M.slice(0, T)),
    p99Predicted: pairs.length ? mean(pairs.map(([, p]) => p)) : null,
    p99Measured: pairs.length ? mean(pairs.map(([, , m]) => m)) : null,
    p99RatioMedian: ratios.length ? ratios[Math.floor(ratios.length / 2)]! : null,
    overloadedTicks: overloaded.length,
    overloadedP99Measured: overloaded.length ? mean(overloaded) : null,
    windows,
  };
}

export interface FidelityRun {
  config: FidelityConfig;
  trace: Trace;
  csv: string;
  spec: string;
  predicted: Predicted;
  /** Instance-seconds `headroom simulate` prints for the same files (equal to the prediction's). */
  simulateCliInstanceSeconds: number;
  measured: Measured;
  comparison: Comparison;
}

/** Both sides on the same short trace; its CSV and spec are written to `dir` (default: a new temp folder, kept). */
export async function runFidelity(cfg: FidelityConfig = DEFAULT_CONFIG, dir?: string): Promise<FidelityRun> {
  const work = dir ?? mkdtempSync(join(tmpdir(), 'headroom-fidelity-'));
  const csv = writeShortTrace(cfg, work);
  const trace = rescaleToPeak(loadTraceFile(csv), cfg.peak);
  const { path: spec, model, initial } = writeSpec(work, trace);
  const predicted = predict(trace, model);
  const simulateCliInstanceSeconds = simulateCli(spec, csv, cfg.peak);
  const measured = await measure(spec, csv, cfg.peak, trace.rps.length, initial);
  return {
    config: cfg,
    trace,
    csv,
    spec,
    predicted,
    simulateCliInstanceSeconds,
    measured,
    comparison: compare(model, predicted, measured, cfg.windowSeconds),
  };
}

const f = (x: number | null, d = 1): string => (x === null ? '–' : Number.isFinite(x) ? x.toFixed(d) : '∞');
const pct = (x: number): string => `${(x * 100).toFixed(2)} %`;

export function markdown(r: FidelityRun): string {
  const c = r.comparison;
  const m = r.measured;
  const lines = [
    `Trace: ${c.seconds} s (${r.config.rows} rows × ${r.config.rowSeconds} s, each the mean of ${r.config.group} one-minute rows of ${r.config.source.replace(`${ROOT}`, '')} from row ${r.config.fromRow}), peak ${f(c.peakRps, 0)} rps. ` +
      `Simulator: headroom policy, scrapeSeconds ${SIM_SCRAPE_SECONDS}, startupSeconds ${SIM_STARTUP_SECONDS} ` +
      `(\`headroom simulate --policy headroom\` on the same files: ${r.simulateCliInstanceSeconds} instance-seconds). ` +
      `Real: ${f(m.requests, 0)} requests sent, ${f(m.errors, 0)} errors, ${f(m.dropped, 0)} dropped; exit ${m.exitCode}.`,
    '',
    '| | predicted (simulate) | measured (run) | error |',
    '|---|--:|--:|--:|',
    `| instance-seconds | ${f(c.instanceSecondsPredicted, 0)} | ${f(c.instanceSecondsMeasured, 0)} | ${f((c.ratio - 1) * 100, 1)} % (ratio ${f(c.ratio, 3)}) |`,
    `| instances per second, mean abs error | | | ${f(c.meanAbsError, 2)} |`,
    `| start → peak count (first at) | ${c.initial} → ${c.peakPredicted} (${c.peakAtPredicted} s) | ${f(r.measured.seconds[0]?.instances ?? NaN, 0)} → ${c.peakMeasured} (${c.peakAtMeasured} s) | ${c.peakMeasured - c.peakPredicted} |`,
    `| p99 over 6 s, mean of ticks the model has finite (ms) | ${f(c.p99Predicted)} | ${f(c.p99Measured)} | median measured ÷ predicted ${f(c.p99RatioMedian, 2)} |`,
    `| 6-s windows the model calls overloaded (p99 unbounded) | ${c.overloadedTicks} | p99 ${f(c.overloadedP99Measured)} ms | |`,
    `| requests over the ${SLO_MS}-ms SLO | ${pct(c.overSloPredicted)} | ${pct(c.overSloMeasured)} | |`,
    `| SLO-violating seconds (p99 > ${SLO_MS} ms) | ${c.violatingPredicted} | ${c.violatingMeasured} | |`,
    '',
    '| window (s) | mean demand (rps) | instances pred / meas | 6-s p99 pred / meas (ms) | over SLO pred / meas | violating s pred / meas |',
    '|---|--:|--:|--:|--:|--:|',
  ];
  for (const w of c.windows) {
    lines.push(
      `| ${w.from}–${w.to} | ${f(w.demand, 0)} | ${f(w.instancesPredicted, 2)} / ${f(w.instancesMeasured, 2)} | ${f(w.p99Predicted)} / ${f(w.p99Measured)} | ${pct(w.overSloPredicted)} / ${pct(w.overSloMeasured)} | ${w.violatingPredicted} / ${w.violatingMeasured} |`,
    );
  }
  return lines.join('\n');
}

export function jsonLine(r: FidelityRun): string {
  const c = r.comparison;
  const round = (x: number | null, d = 3): number | null =>
    x === null || !Number.isFinite(x) ? null : Number(x.toFixed(d));
  return JSON.stringify({
    bench: 'fidelity',
    seconds: c.seconds,
    peakRps: r.config.peak,
    instanceSecondsPredicted: c.instanceSecondsPredicted,
    instanceSecondsMeasured: round(c.instanceSecondsMeasured, 1),
    simulateCliInstanceSeconds: r.simulateCliInstanceSeconds,
    ratio: round(c.ratio),
    meanAbsError: round(c.meanAbsError),
    peakPredicted: c.peakPredicted,
    peakMeasured: c.peakMeasured,
    p99PredictedMs: round(c.p99Predicted, 1),
    p99MeasuredMs: round(c.p99Measured, 1),
    p99RatioMedian: round(c.p99RatioMedian),
    overloadedTicks: c.overloadedTicks,
    overSloPredicted: round(c.overSloPredicted, 5),
    overSloMeasured: round(c.overSloMeasured, 5),
    violatingSecondsPredicted: c.violatingPredicted,
    violatingSecondsMeasured: c.violatingMeasured,
    requests: r.measured.requests,
    errors: r.measured.errors,
  });
}
