// Benchmark of `headroom run` (the local cluster). By hand:
//
//   node scripts/bootstrap.mjs bench/run.ts [--part step|overhead|all] [--runs 3] [--tick 0.5]
//
// 1. Step 1× → 4×: the example service (examples/run.yaml: 50 ms, 4 slots → 80 rps per instance)
//    at 40 rps, then 160 rps. Measures the time from the step to the first scale-up decision
//    (target ≤ 1.5 s) and until the added capacity serves (target ≤ startup time + 2 s).
// 2. Balancer overhead: the example service with WORK_MS=0 directly and through `headroom run`
//    (its own process), sending at once and holding at the balancer (64 slots: the hand-off's own
//    cost; 1 slot: every request waits its turn): p50/p99 at fixed open-loop rates (src/loadtest
//    generator), and the maximum rate with autocannon (closed loop, 50 connections).
// Results go to docs/benchmarks.md under "## run" (by hand).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { LocalCluster } from '../src/local/cluster.ts';
import { loadRunConfig } from '../src/local/config.ts';
import { freePort } from '../src/local/processes.ts';
import { driveTraffic } from '../src/local/traffic.ts';
import { createClient, runStep } from '../src/loadtest/generator.ts';

const { values } = parseArgs({
  options: {
    part: { type: 'string', default: 'all' },
    runs: { type: 'string', default: '3' },
    tick: { type: 'string' },
  },
});
const EXAMPLE_SPEC = fileURLToPath(new URL('../examples/run.yaml', import.meta.url));
const SERVICE = fileURLToPath(new URL('../examples/service.ts', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const f = (x: number, d = 2): string => x.toFixed(d);

interface StepResult {
  decisionS: number | null;
  firstServingS: number | null;
  allServingS: number | null;
  finalDesired: number;
  startupS: number[];
  scaledBeforeStep: boolean;
}

async function stepOnce(tickSeconds: number | undefined): Promise<StepResult> {
  const cfg = loadRunConfig(EXAMPLE_SPEC);
  const run = { ...cfg.run, port: 0, statusPort: 0, ...(tickSeconds !== undefined ? { tickSeconds } : {}) };
  let stepAt = Infinity;
  let decisionAt: number | null = null;
  let scaledBeforeStep = false;
  const cluster = await LocalCluster.start({
    model: cfg.model,
    run,
    capacitySource: cfg.capacitySource,
    onTick: (r) => {
      const t = performance.now();
      if (r.decision.desired > r.observation.currentReplicas) {
        if (t < stepAt) scaledBeforeStep = true;
        else decisionAt ??= t;
      }
    },
  });
  try {
    const before = 20;
    const traffic = driveTraffic(
      cluster.url,
      [
        { name: '1×', seconds: before, rps: () => 40 },
        { name: '4×', seconds: 15, rps: () => 160 },
      ],
      { maxRequests: 5000 },
    );
    stepAt = performance.now() + before * 1000;
    let firstServing: number | null = null;
    let allServing: number | null = null;
    const startReady = new Set(cluster.supervisor.list().map((i) => i.id));
    while (performance.now() < stepAt + 15_000) {
      await sleep(10);
      const now = performance.now();
      if (now < stepAt) continue;
      const s = cluster.supervisor;
      // "Serving": a new instance is ready (in the balancer) and has answered a request.
      const added = s.list().filter((i) => !startReady.has(i.id) && i.state === 'ready');
      if (firstServing === null && added.some((i) => cluster.balancer.trafficOf(i.id).requests > 0)) firstServing = now;
      if (allServing === null && decisionAt !== null && s.ready >= s.desired && s.desired > 1) allServing = now;
    }
    await traffic.done;
    const startupS = cluster.supervisor
      .list()
      .filter((i) => i.readySince !== undefined && i.startedAt !== undefined)
      .map((i) => (i.readySince! - i.startedAt!) / 1000);
    return {
      decisionS: decisionAt !== null ? (decisionAt - stepAt) / 1000 : null,
      firstServingS: firstServing !== null ? (firstServing - stepAt) / 1000 : null,
      allServingS: allServing !== null ? (allServing - stepAt) / 1000 : null,
      finalDesired: cluster.supervisor.desired,
      startupS,
      scaledBeforeStep,
    };
  } finally {
    await cluster.stop();
  }
}

async function stepBench(runs: number, tick: number | undefined): Promise<void> {
  const cfg = loadRunConfig(EXAMPLE_SPEC);
  console.log(`\n## step 1× → 4× (40 → 160 rps), tick ${tick ?? cfg.run.tickSeconds} s, ${runs} runs`);
  console.log(
    '| run | first scale-up decision | first added instance serving | all desired ready | desired at 4× | instance startup (s) |',
  );
  console.log('|---|---|---|---|---|---|');
  for (let k = 1; k <= runs; k++) {
    const r = await stepOnce(tick);
    const startup = r.startupS.length ? `${f(Math.min(...r.startupS))}–${f(Math.max(...r.startupS))}` : '–';
    console.log(
      `| ${k} | ${r.decisionS === null ? 'none' : `${f(r.decisionS)} s`} | ${r.firstServingS === null ? 'none' : `${f(r.firstServingS)} s`} | ${r.allServingS === null ? 'none' : `${f(r.allServingS)} s`} | ${r.finalDesired} | ${startup}${r.scaledBeforeStep ? ' (scaled before the step!)' : ''} |`,
    );
  }
}

function waitListening(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`not ready: ${out}`)), 20_000);
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] ?? '');
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

async function latencyAt(
  url: string,
  rate: number,
): Promise<{ p50: number; p99: number; achieved: number; errors: number }> {
  const pool = createClient(new URL(url), { connections: 256 });
  const m = await runStep(
    pool,
    { url: new URL(url), method: 'GET', headers: {}, timeoutMs: 5000 },
    { rateRps: rate, warmupS: 1, holdS: 5, maxInFlight: 256, lateThresholdMs: 5 },
  );
  await pool.close();
  return {
    p50: m.histogram.getValueAtPercentile(50) / 1000,
    p99: m.histogram.getValueAtPercentile(99) / 1000,
    achieved: m.achievedRps,
    errors: m.errors,
  };
}

async function maxRps(url: string): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
  const r = await autocannon({ url, connections: 50, duration: 8 });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

/** How `headroom run` balances in the overhead bench: where requests wait, and the slots per instance. */
const OVERHEAD_VARIANTS = [
  { label: 'queue: instances (sends at once)', queue: 'instances', concurrency: 1 },
  { label: 'queue: balancer, 64 slots (never full here)', queue: 'balancer', concurrency: 64 },
  { label: 'queue: balancer, 1 slot (every request waits its turn)', queue: 'balancer', concurrency: 1 },
] as const;

/** `headroom run` (its own process) in front of one example-service instance; stop with kill(). */
async function startRun(
  dir: string,
  v: (typeof OVERHEAD_VARIANTS)[number],
): Promise<{ url: string; child: ChildProcess }> {
  const spec = join(dir, `spec-${v.queue}-${v.concurrency}.yaml`);
  writeFileSync(
    spec,
    [
      'services:',
      '  - name: bench',
      `    instance: { serviceTimeMs: 1, concurrency: ${v.concurrency} }`,
      '    replicas: { min: 1, max: 1 }',
      'run:',
      `  command: [node, ${JSON.stringify(SERVICE)}]`,
      '  env: { WORK_MS: 0 }',
      `  port: ${await freePort()}`,
      '  statusPort: 0',
      '  shadow: true',
      `  queue: ${v.queue}`,
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'run', spec, '--no-live'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return { url: await waitListening(child, /send requests to\s+(\S+)/), child };
}

async function overheadBench(): Promise<void> {
  const env = { ...process.env, WORK_MS: '0', HOST: '127.0.0.1' };
  const directPort = await freePort();
  const direct = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', SERVICE], {
    env: { ...env, PORT: String(directPort) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const dir = mkdtempSync(join(tmpdir(), 'headroom-bench-run-'));
  const rates = [200, 1000, 2000];
  try {
    await waitListening(direct, /"msg":"listening"()/);
    const directUrl = `http://127.0.0.1:${directPort}/`;
    const d = [];
    for (const rate of rates) d.push(await latencyAt(directUrl, rate));
    console.log('\n## balancer overhead (example service, WORK_MS=0, one instance)');
    console.log(
      '| balancer | open-loop rate | direct p50 / p99 (ms) | through balancer p50 / p99 (ms) | added p50 / p99 (ms) | errors |',
    );
    console.log('|---|---|---|---|---|---|');
    const runs: Array<{ url: string; child: ChildProcess }> = [];
    try {
      for (const v of OVERHEAD_VARIANTS) runs.push(await startRun(dir, v));
      for (const [n, v] of OVERHEAD_VARIANTS.entries()) {
        for (const [k, rate] of rates.entries()) {
          const b = await latencyAt(`${runs[n]!.url}/`, rate);
          const dk = d[k]!;
          console.log(
            `| ${v.label} | ${rate} rps | ${f(dk.p50)} / ${f(dk.p99)} | ${f(b.p50)} / ${f(b.p99)} | ${f(b.p50 - dk.p50)} / ${f(b.p99 - dk.p99)} | ${dk.errors} / ${b.errors} |`,
          );
        }
      }
      // The machine's speed drifts by 2× between minutes: rounds alternate the targets, and each
      // balancer is compared with the direct run of its own round.
      const rounds = 3;
      const ratios: number[][] = OVERHEAD_VARIANTS.map(() => []);
      const rows: string[] = [];
      for (let r = 1; r <= rounds; r++) {
        const dm = await maxRps(directUrl);
        rows.push(`| ${r} | direct | ${f(dm.rps, 0)} | ${dm.p50} / ${dm.p99} | ${dm.errors} | |`);
        for (const [n, v] of OVERHEAD_VARIANTS.entries()) {
          const bm = await maxRps(`${runs[n]!.url}/`);
          ratios[n]!.push(bm.rps / dm.rps);
          rows.push(
            `| ${r} | ${v.label} | ${f(bm.rps, 0)} | ${bm.p50} / ${bm.p99} | ${bm.errors} | ${f(bm.rps / dm.rps, 3)} |`,
          );
        }
      }
      console.log(
        '\n| round | max rate (autocannon, 50 connections, 8 s) | rps | p50 / p99 (ms) | errors | ÷ direct |',
      );
      console.log('|---|---|---|---|---|---|');
      for (const row of rows) console.log(row);
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      for (const [n, v] of OVERHEAD_VARIANTS.entries()) {
        console.log(`median ÷ direct, ${v.label}: ${f(median(ratios[n]!), 3)}`);
      }
    } finally {
      for (const run of runs) run.child.kill('SIGTERM');
      await sleep(500);
    }
  } finally {
    direct.kill('SIGTERM');
    await sleep(500);
  }
}

console.log(
  `# headroom run benchmark, ${new Date().toISOString()}, ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}`,
);
const part = values.part;
if (part === 'step' || part === 'all')
  await stepBench(Number(values.runs), values.tick !== undefined ? Number(values.tick) : undefined);
if (part === 'overhead' || part === 'all') await overheadBench();
