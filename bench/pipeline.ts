// Issue 13 item 4: the latency model on real processes, through the whole pipeline a user runs.
//
//   node scripts/bootstrap.mjs bench/pipeline.ts [--only fixed,lognormal] [--seconds 30] [--demand 110] [--arrivals poisson|even]
//
// For each service-time distribution of the example service (examples/service.ts, sleep mode,
// CONCURRENCY 1, mean 20 ms: fixed, lognormal CV 2, bimodal 95 % 10 ms / 5 % 210 ms, and the
// exponential as the control):
//   1. `headroom loadtest` against ONE instance → a capacity profile with the probe's distribution;
//   2. `headroom plan --json` on a spec whose instance is that profile, for the demand and the SLO
//      → the planned count N and the predicted p99 (predicted.latencyMs); the same spec planned with
//      replicas.max = N − 1 gives the prediction at N − 1, and with serviceTimeMs/concurrency inline
//      (no distribution) the M/M/c plan;
//   3. `headroom run SPEC --traffic CSV` at the demand with N held (min = max = initialReplicas = N,
//      nothing scales), then again with N − 1; the p99 is the balancer's, from /api/status (its stable
//      window is set longer than the run, so it holds every request of the run).
// Each instance of a run gets its own seed (SEED + its index): identical seeds would hand every
// instance the same sequence of times, and with leastRequests balancing they walk through it in
// step, so the slow requests of a bimodal service would hit every instance at once.
//
// Demand and SLO: 110 rps on instances of ~48 rps (ρ = 0.77 on 3, 0.58 on 4); each SLO sits between
// what the model gives for the true distribution at 3 and at 4 instances (e.g. fixed: 83 and 41 ms →
// 58 ms), so the plan should pick 4, and 3 should break the SLO. The plan itself only sees the probe.
//
// Bounded: every loadtest has --max-duration and --max-requests, every run a trace of --seconds and
// --duration; a child that outlives its bound is killed. Prints a Markdown table and one JSON line per case.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ARRIVALS, type Arrivals } from '../src/local/traffic.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const SERVICE = join(ROOT, 'examples/service.ts');
const NODE_FLAGS = ['--disable-warning=ExperimentalWarning'];

export interface PipelineCase {
  /** Short name (--only). */
  name: string;
  label: string;
  /** WORK_DIST of the example service. */
  dist: string;
  /** WORK_CV (lognormal only). */
  cv?: number;
  /** SLO p99 latency, ms. */
  sloMs: number;
}

export interface PipelineConfig {
  demandRps: number;
  percentile: number;
  /** Seconds of traffic per run that are measured (after `warmupSeconds` that are not). */
  seconds: number;
  /** Seconds of traffic at the demand before the measured part (new connections, JIT, the queue filling). */
  warmupSeconds: number;
  /** Base seed of the example service. */
  seed: number;
  /** `headroom loadtest` flags after the URL and the SLO (the steps and bounds). */
  loadtestArgs: string[];
  /** `headroom run --arrivals`: Poisson (the default, as M/G/c assumes) or evenly spread. */
  arrivals?: Arrivals;
}

export const CASES: PipelineCase[] = [
  { name: 'fixed', label: 'fixed 20 ms', dist: 'fixed', sloMs: 58 },
  { name: 'lognormal', label: 'lognormal CV 2', dist: 'lognormal', cv: 2, sloMs: 290 },
  { name: 'bimodal', label: 'bimodal 95 % 10 / 5 % 210 ms', dist: 'bimodal:0.95,10,210', sloMs: 300 },
  { name: 'exponential', label: 'exponential (control)', dist: 'exponential', sloMs: 128 },
];

/**
 * The loadtest's SLO (p99, one instance): loose on purpose. plan uses the profile's fitted s, c and
 * distribution, not its knee, and c is fitted best from a step that saturated the instance; at the
 * pool's SLO (e.g. 290 ms for the lognormal) one instance already fails at 25 rps (p99 675 ms) and
 * the loadtest writes no profile.
 */
export const LOADTEST_SLO_MS = 4000;

export const DEFAULT_CONFIG: PipelineConfig = {
  demandRps: 110,
  percentile: 99,
  seconds: 30,
  warmupSeconds: 6,
  seed: 13,
  // One instance serves ~48 rps: steps 25, 31, 39, 49, 61 … then 2 bisections; 1 s warm-up + 5 s
  // hold each. The probe gets min(20 s, 10 % of 200 s) = 20 s: ~900 sequential requests.
  loadtestArgs: [
    '--start-rps',
    '25',
    '--factor',
    '1.25',
    '--warmup',
    '1',
    '--hold',
    '5',
    '--refine',
    '2',
    '--cooldown',
    '0.5',
    '--max-duration',
    '200',
    '--max-requests',
    '20000',
  ],
};

interface Exec {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A `headroom` command as a child process on this Node; SIGKILLed after `limitS`. */
export function headroom(args: string[], limitS: number, onStdout?: (all: string) => void): Promise<Exec> {
  const env = { ...process.env };
  delete env.HEADROOM_TOKEN;
  const t0 = performance.now();
  const child = spawn(process.execPath, [...NODE_FLAGS, MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    onStdout?.(stdout);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const kill = setTimeout(() => child.kill('SIGKILL'), limitS * 1000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(kill);
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

function serviceEnv(c: PipelineCase): Record<string, string> {
  return {
    CONCURRENCY: '1',
    WORK_MODE: 'sleep',
    WORK_DIST: c.dist,
    ...(c.dist.startsWith('bimodal:') ? {} : { WORK_MS: '20' }),
    ...(c.cv !== undefined ? { WORK_CV: String(c.cv) } : {}),
  };
}

/** One example service on a free port (the loadtest target); resolves once it listens. */
async function startService(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [...NODE_FLAGS, SERVICE], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start: ${out} ${err}`)), 15_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"listening"'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    child.on('exit', (code) => reject(new Error(`service exited ${code}: ${err}`)));
  });
  return { url, child };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

export interface LoadtestResult {
  kneeRps: number;
  serviceTimeMs: number;
  concurrency: number;
  fitMethod: string;
  predictedKneeModel: string;
  partial: boolean;
  elapsedS: number;
  probe: {
    meanMs: number;
    samples: number;
    distribution?: { cv: number; stable: boolean; quantilesMs: Record<string, number> };
  };
}

export interface PlanService {
  replicas: number;
  needed: number;
  binding: string;
  feasible: boolean;
  constraints: Record<string, number>;
  predicted: { utilization: number; latencyMs: number | null; percentile: number; attainment: number | null };
  reasons: Array<{ constraint: string; detail: string }>;
}

export interface RunMeasure {
  replicas: number;
  /** Where requests waited: at the balancer for a free slot (c from the profile), or in the instances. */
  queue: 'balancer' | 'instances' | null;
  /** The balancer's latency after the warm-up, to the end (ms), and how many requests that is. */
  steady: { p50Ms: number; p99Ms: number; meanMs: number; maxMs: number; requests: number } | null;
  /** The balancer's latency over the whole run, warm-up included (ms). */
  p50Ms: number | null;
  p99Ms: number | null;
  meanMs: number | null;
  maxMs: number | null;
  requests: number;
  errors: number;
  sent: number;
  dropped: number;
  readyAtEnd: number;
  exitCode: number | null;
  seconds: number;
}

export interface CaseResult {
  case: PipelineCase;
  loadtest: LoadtestResult;
  plan: PlanService;
  /** The plan at N − 1 (replicas.max = N − 1): its predicted p99 there. */
  planBelow: PlanService | null;
  /** The same demand and SLO, serviceTimeMs/concurrency inline: M/M/c. */
  planMmc: PlanService;
  at: RunMeasure;
  below: RunMeasure | null;
  ms: number;
}

function specJson(
  c: PipelineCase,
  cfg: PipelineConfig,
  instance: Record<string, unknown>,
  replicas: { min: number; max: number } | undefined,
  runSection: Record<string, unknown> | undefined,
): string {
  return `${JSON.stringify(
    {
      services: [
        {
          name: 'work',
          demand: { rps: cfg.demandRps },
          instance,
          loadBalancing: 'leastRequests',
          slo: { latencyMs: c.sloMs, percentile: cfg.percentile },
          replicas: replicas ?? { min: 1, max: 50 },
          ...(runSection ? { behavior: { burst: { windowSeconds: cfg.seconds } } } : {}),
        },
      ],
      ...(runSection ? { run: runSection } : {}),
    },
    null,
    2,
  )}\n`;
}

async function plan(path: string): Promise<PlanService> {
  const r = await headroom(['plan', path, '--json'], 60);
  if (r.code !== 0) throw new Error(`headroom plan ${path} exited ${r.code}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { services: PlanService[] }).services[0]!;
}

/** The run: section: N instances held, each with its own seed, a stable window longer than the run. */
function runSection(c: PipelineCase, cfg: PipelineConfig, replicas: number): Record<string, unknown> {
  const env = serviceEnv(c);
  return {
    // sh only to give each instance its own seed (SEED = base + the digits of HEADROOM_INSTANCE), then exec.
    command: [
      'sh',
      '-c',
      `SEED=$((${cfg.seed} + $(printf %s "$HEADROOM_INSTANCE" | tr -cd 0-9))) exec "$@"`,
      'sh',
      process.execPath,
      ...NODE_FLAGS,
      SERVICE,
    ],
    env,
    port: 0,
    statusPort: 0,
    initialReplicas: replicas,
    tickSeconds: 1,
    // The stable window holds the whole run; the burst window (behavior.burst.windowSeconds) the
    // measured part, read once right after the traffic ends.
    stableWindowSeconds: Math.ceil(cfg.warmupSeconds + cfg.seconds + 10),
    startupTimeoutSeconds: 20,
    drainTimeoutSeconds: 5,
    killGraceSeconds: 3,
  };
}

interface WindowBody {
  seconds: number;
  completionRps: number;
  latencyMs: { p50: number; p99: number; mean: number; max: number } | null;
}

interface StatusBody {
  service: { queue: 'balancer' | 'instances' };
  replicas: { ready: number };
  traffic: {
    stable: WindowBody | null;
    burst: WindowBody | null;
    totals: { requests: number; errors: number };
  };
}

/**
 * `headroom run SPEC --traffic CSV --duration seconds + 3` with N held; polls /api/status every
 * second and keeps the last answer (taken after the traffic ended: the stable window holds the run).
 */
export async function measureRun(
  c: PipelineCase,
  cfg: PipelineConfig,
  dir: string,
  replicas: number,
): Promise<RunMeasure> {
  const spec = join(dir, `run-${c.name}-${replicas}.json`);
  writeFileSync(
    spec,
    specJson(
      c,
      cfg,
      { profile: `./${c.name}.profile.json` },
      { min: replicas, max: replicas },
      runSection(c, cfg, replicas),
    ),
  );
  const csv = join(dir, `trace-${c.name}.csv`);
  // A row every second for warm-up + measured seconds (the last row holds one row interval).
  const total = cfg.warmupSeconds + cfg.seconds;
  const rows = ['t_seconds,rps', ...Array.from({ length: total }, (_, i) => `${i},${cfg.demandRps}`)];
  writeFileSync(csv, `${rows.join('\n')}\n`);
  let statusUrl: string | undefined;
  let last: StatusBody | undefined;
  let steady: StatusBody | undefined;
  let trafficSeen = false;
  let steadyTimer: NodeJS.Timeout | undefined;
  let polling: NodeJS.Timeout | undefined;
  const poll = async (): Promise<void> => {
    if (!statusUrl) return;
    try {
      last = (await fetch(`${statusUrl}/api/status`).then((r) => r.json())) as StatusBody;
    } catch {
      // stopping: the last answer stands
    }
  };
  const duration = total + 3;
  const r = await headroom(
    [
      'run',
      spec,
      '--traffic',
      csv,
      '--duration',
      String(duration),
      '--no-live',
      '--arrivals',
      cfg.arrivals ?? ARRIVALS[0],
    ],
    duration + 90,
    (out) => {
      if (!statusUrl) {
        statusUrl = /status API\s+(\S+)\/api\/status/.exec(out)?.[1];
        if (statusUrl) polling = setInterval(() => void poll(), 1000);
      }
      // The traffic starts when this line is printed; 1 s after it ends, the burst window
      // (cfg.seconds long) holds the measured part, and the answers still in flight have arrived.
      if (!trafficSeen && /\n {2}traffic /.test(out)) {
        trafficSeen = true;
        steadyTimer = setTimeout(
          () => {
            if (statusUrl) {
              void fetch(`${statusUrl}/api/status`)
                .then((x) => x.json() as Promise<StatusBody>)
                .then((b) => (steady = b))
                .catch(() => undefined);
            }
          },
          (total + 1) * 1000,
        );
      }
    },
  );
  if (polling) clearInterval(polling);
  if (steadyTimer) clearTimeout(steadyTimer);
  if (r.code !== 0) throw new Error(`headroom run (${c.name}, ${replicas}) exited ${r.code}: ${r.stderr || r.stdout}`);
  const done = /traffic sent (\d+), ok (\d+), errors (\d+), dropped (\d+)/.exec(r.stdout);
  const lat = last?.traffic.stable?.latencyMs ?? null;
  const sw = steady?.traffic.burst;
  return {
    replicas,
    queue: last?.service.queue ?? null,
    steady: sw?.latencyMs
      ? {
          p50Ms: sw.latencyMs.p50,
          p99Ms: sw.latencyMs.p99,
          meanMs: sw.latencyMs.mean,
          maxMs: sw.latencyMs.max,
          requests: Math.round(sw.completionRps * sw.seconds),
        }
      : null,
    p50Ms: lat?.p50 ?? null,
    p99Ms: lat?.p99 ?? null,
    meanMs: lat?.mean ?? null,
    maxMs: lat?.max ?? null,
    requests: last?.traffic.totals.requests ?? 0,
    errors: last?.traffic.totals.errors ?? 0,
    sent: Number(done?.[1] ?? NaN),
    dropped: Number(done?.[4] ?? NaN),
    readyAtEnd: last?.replicas.ready ?? 0,
    exitCode: r.code,
    seconds: r.ms / 1000,
  };
}

/** The whole pipeline for one distribution: loadtest → profile → plan → run at N (and N − 1). */
export async function runCase(
  c: PipelineCase,
  cfg: PipelineConfig,
  dir: string,
  opts: { below?: boolean } = {},
): Promise<CaseResult> {
  const t0 = performance.now();
  const svc = await startService({ ...serviceEnv(c), SEED: String(cfg.seed) });
  const profile = join(dir, `${c.name}.profile.json`);
  let lt: Exec;
  try {
    lt = await headroom(
      [
        'loadtest',
        `${svc.url}/work`,
        '--slo-latency-ms',
        String(LOADTEST_SLO_MS),
        '--slo-percentile',
        String(cfg.percentile),
        ...cfg.loadtestArgs,
        '--json',
        '--no-progress',
        '--profile',
        profile,
      ],
      400,
    );
  } finally {
    await stopChild(svc.child);
  }
  if (lt.code !== 0) throw new Error(`headroom loadtest (${c.name}) exited ${lt.code}: ${lt.stderr}`);
  const loadtest = JSON.parse(lt.stdout) as LoadtestResult;

  const planPath = join(dir, `plan-${c.name}.json`);
  writeFileSync(planPath, specJson(c, cfg, { profile: `./${c.name}.profile.json` }, undefined, undefined));
  const planned = await plan(planPath);
  const n = planned.replicas;
  let planBelow: PlanService | null = null;
  if (n > 1) {
    const p = join(dir, `plan-${c.name}-below.json`);
    writeFileSync(p, specJson(c, cfg, { profile: `./${c.name}.profile.json` }, { min: 1, max: n - 1 }, undefined));
    planBelow = await plan(p);
  }
  const prof = JSON.parse(readFileSync(profile, 'utf8')) as { serviceTimeMs: number; concurrency: number };
  const mmcPath = join(dir, `plan-${c.name}-mmc.json`);
  writeFileSync(
    mmcPath,
    specJson(c, cfg, { serviceTimeMs: prof.serviceTimeMs, concurrency: prof.concurrency }, undefined, undefined),
  );
  const planMmc = await plan(mmcPath);

  const at = await measureRun(c, cfg, dir, n);
  const below = opts.below !== false && n > 1 ? await measureRun(c, cfg, dir, n - 1) : null;
  return { case: c, loadtest, plan: planned, planBelow, planMmc, at, below, ms: performance.now() - t0 };
}

const f = (x: number | null | undefined, d = 1): string =>
  x === null || x === undefined ? '–' : Number.isFinite(x) ? x.toFixed(d) : '∞';
const met = (p99: number | null, slo: number): string => (p99 === null ? '–' : p99 <= slo ? 'yes' : 'no');

export function markdown(results: readonly CaseResult[], cfg: PipelineConfig): string {
  const lines = [
    `Demand ${cfg.demandRps} rps, leastRequests, SLO p${cfg.percentile} as listed; example service in sleep mode, CONCURRENCY 1, mean 20 ms. ` +
      `Each run: ${cfg.warmupSeconds} s of warm-up then ${cfg.seconds} s measured at the demand; "steady" is the balancer's p99 over the measured part, "all" over the whole run.`,
    '',
    '| distribution | SLO p99 (ms) | probe CV | fitted s (ms) | planned | predicted p99 (ms) | measured p99 at planned, steady / all (ms) | steady ÷ predicted | SLO met (steady / all) | predicted p99 at planned − 1 | measured p99 at planned − 1, steady / all | SLO met at planned − 1 | M/M/c plan: count, predicted p99 |',
    '|---|--:|--:|--:|--:|--:|--:|--:|:-:|--:|--:|:-:|--:|',
  ];
  for (const r of results) {
    const pred = r.plan.predicted.latencyMs;
    const st = r.at.steady?.p99Ms ?? null;
    const ratio = pred && st !== null ? st / pred : null;
    const bst = r.below?.steady?.p99Ms ?? null;
    lines.push(
      `| ${r.case.label} | ${r.case.sloMs} | ${f(r.loadtest.probe.distribution?.cv, 2)} | ${f(r.loadtest.serviceTimeMs, 1)} | ${r.plan.replicas} | ${f(pred)} | ${f(st)} / ${f(r.at.p99Ms)} (${r.at.steady?.requests ?? '–'} / ${r.at.requests} req) | ${f(ratio, 2)} | ${met(st, r.case.sloMs)} / ${met(r.at.p99Ms, r.case.sloMs)} | ${f(r.planBelow?.predicted.latencyMs)} | ${r.below ? `${f(bst)} / ${f(r.below.p99Ms)}` : '–'} | ${r.below ? `${met(bst, r.case.sloMs)} / ${met(r.below.p99Ms, r.case.sloMs)}` : '–'} | ${r.planMmc.replicas}, ${f(r.planMmc.predicted.latencyMs)} |`,
    );
  }
  return lines.join('\n');
}

export function jsonLine(r: CaseResult): string {
  return JSON.stringify({
    bench: 'pipeline',
    case: r.case.name,
    sloMs: r.case.sloMs,
    probe: {
      samples: r.loadtest.probe.samples,
      meanMs: r.loadtest.probe.meanMs,
      cv: r.loadtest.probe.distribution?.cv ?? null,
      quantilesMs: r.loadtest.probe.distribution?.quantilesMs ?? null,
    },
    fit: {
      serviceTimeMs: r.loadtest.serviceTimeMs,
      concurrency: r.loadtest.concurrency,
      method: r.loadtest.fitMethod,
      kneeRps: r.loadtest.kneeRps,
    },
    planned: r.plan.replicas,
    binding: r.plan.binding,
    constraints: r.plan.constraints,
    predictedP99Ms: r.plan.predicted.latencyMs,
    predictedP99BelowMs: r.planBelow?.predicted.latencyMs ?? null,
    mmc: { replicas: r.planMmc.replicas, p99Ms: r.planMmc.predicted.latencyMs },
    at: r.at,
    below: r.below,
    seconds: Math.round(r.ms / 1000),
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      seconds: { type: 'string' },
      demand: { type: 'string' },
      arrivals: { type: 'string', default: 'poisson' },
    },
  });
  const arrivals = ARRIVALS.find((a) => a === values.arrivals);
  if (!arrivals) throw new Error(`--arrivals: ${ARRIVALS.join(' or ')}`);
  const cfg: PipelineConfig = {
    ...DEFAULT_CONFIG,
    arrivals,
    ...(values.seconds !== undefined ? { seconds: Number(values.seconds) } : {}),
    ...(values.demand !== undefined ? { demandRps: Number(values.demand) } : {}),
  };
  const only = values.only?.split(',');
  const cases = CASES.filter((c) => !only || only.includes(c.name));
  const dir = mkdtempSync(join(tmpdir(), 'headroom-pipeline-'));
  const t0 = performance.now();
  const results: CaseResult[] = [];
  for (const c of cases) {
    const r = await runCase(c, cfg, dir);
    results.push(r);
    console.log(jsonLine(r));
  }
  console.log(`\n${markdown(results, cfg)}\n`);
  console.log(`files in ${dir}; ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
