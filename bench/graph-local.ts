// Benchmark: a call graph run locally against its plan (issue 16, targets 5b and 5c).
//
//   node scripts/bootstrap.mjs bench/graph-local.ts [--seconds 90] [--warmup 15] [--rate 20] [--only planned]
//
// examples/graph-run.yaml (gateway → cart ×1.5 sequential → db ×2, gateway → search ×1 parallel) is
// planned at --rate rps at the gateway. Then, for the planned counts and for each service with one
// instance fewer, the whole graph runs as real processes (`headroom run`'s LocalGraph, in shadow
// mode so the counts stay fixed: the loops decide and report but never scale), Poisson traffic
// (seeded) drives the gateway for --warmup s (not measured) then --seconds s, and the gateway's
// balancer measures the end-to-end p99 over the measured seconds. Each is compared with
// predictGraph at those counts and with the project's discrete-event simulation of the same graph
// (test/support/graph-sim.ts, 200,000 requests). Results go to docs/benchmarks.md (by hand).
//
//   node scripts/bootstrap.mjs bench/graph-local.ts --resolution [--seconds 60] [--windows 400]
//
// No processes: how many requests it takes to tell the planned counts from one instance fewer. For
// each case, P(end-to-end ≤ SLO) from the model and from one long seeded simulation; the share of
// consecutive windows of rate × seconds requests (what one local measurement holds) whose p99 misses
// the SLO; and the requests a measurement needs to read the planned counts as met and the case as
// missed, each with 95 % probability: the p99 of n requests is ≤ SLO when at least ⌈0.99 n⌉ of them
// are, so with F = P(≤ SLO), n ≥ (1.645 · √(0.99 · 0.01) / (F − 0.99))².
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { planGraph, predictGraph } from '../src/core/graph.ts';
import type { ServiceModel } from '../src/core/model.ts';
import { loadRunOrGraph, type GraphRunConfig } from '../src/local/graph-config.ts';
import { LocalGraph } from '../src/local/graph.ts';
import { driveTraffic } from '../src/local/traffic.ts';
import { simulateGraph, type SimService } from '../test/support/graph-sim.ts';
import { exponential, lognormal } from '../test/support/mgc-sim.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '90' },
    warmup: { type: 'string', default: '15' },
    rate: { type: 'string', default: '20' },
    only: { type: 'string' },
    resolution: { type: 'boolean', default: false },
    windows: { type: 'string', default: '400' },
    spec: { type: 'string', default: fileURLToPath(new URL('../examples/graph-run.yaml', import.meta.url)) },
  },
});
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const rate = Number(values.rate);

/** The graph as the DES takes it: the same counts, slots, balancing and service-time shape. */
export function simServices(models: readonly ServiceModel[], counts: Record<string, number>): SimService[] {
  return models.map((m) => {
    const cv = m.instance.serviceTime?.cv ?? 1;
    const mean = m.instance.serviceTimeMs;
    return {
      name: m.name,
      instances: counts[m.name] ?? 1,
      concurrency: m.instance.concurrency,
      balancing: m.loadBalancing,
      sampler: cv === 1 ? exponential(mean) : lognormal(cv, mean),
      calls: (m.calls ?? []).map((c) => ({ service: c.service, perRequest: c.perRequest, mode: c.mode })),
    };
  });
}

function p99(xs: Float64Array): number {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)] as number;
}

/** Run the graph at fixed counts and measure the gateway's end-to-end p99 over the measured seconds. */
async function measure(cfg: GraphRunConfig, counts: Record<string, number>, seed: number) {
  const members = new Map(
    [...cfg.members].map(([n, r]) => [n, { ...r, initialReplicas: counts[n] as number, logs: 'tail' as const }]),
  );
  const run = { ...cfg.run, shadow: true, port: 0, statusPort: 0, stableWindowSeconds: seconds };
  const g = await LocalGraph.start({ ...cfg, run, members });
  try {
    const traffic = driveTraffic(g.entry.url, [{ name: 'poisson', seconds: warmup + seconds, rps: () => rate }], {
      poisson: { seed },
      maxRequests: Math.ceil(rate * (warmup + seconds) * 1.5),
    });
    const result = await traffic.done;
    // The stable window is the last `seconds` s: the measured part, not the warm-up.
    const w = g.entry.windows.snapshot().stable;
    const ready = Object.fromEntries([...g.clusters].map(([n, c]) => [n, c.supervisor.ready]));
    return {
      p99Ms: w?.latency?.p99Ms ?? NaN,
      requests: w?.latency?.count ?? 0,
      rps: w?.arrivalRps ?? NaN,
      errors: result.errors,
      ready,
    };
  } finally {
    await g.stop();
  }
}

const loaded = loadRunOrGraph(values.spec);
if (loaded.kind !== 'graph') throw new Error(`${values.spec} is not a call graph`);
const cfg = loaded.cfg;
const plan = planGraph(cfg.models, { entry: cfg.entry, entryDemandRps: rate });
const planned = Object.fromEntries(plan.services.map((s) => [s.name, s.replicas]));
const slo = plan.slo;
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}; ${values.spec} at ${rate} rps, ` +
    `p${slo.percentile} ≤ ${slo.latencyMs} ms; planned ${JSON.stringify(planned)}, predicted ${plan.predictedMs?.toFixed(1)} ms`,
);
const cases: Array<{ name: string; counts: Record<string, number> }> = [{ name: 'planned', counts: planned }];
for (const s of plan.services) {
  if (s.replicas > 1) cases.push({ name: `${s.name} −1`, counts: { ...planned, [s.name]: s.replicas - 1 } });
}
/** Requests a p99 measurement needs to land on F's side of the percentile with 95 % probability. */
function requestsToResolve(f: number, p: number): number {
  return Math.ceil(((1.645 * Math.sqrt(p * (1 - p))) / (f - p)) ** 2);
}

if (values.resolution) {
  const perWindow = Math.round(rate * seconds);
  const windows = Number(values.windows);
  const p = slo.percentile / 100;
  console.log(
    `${perWindow} requests per window (${seconds} s at ${rate} rps), ${windows} windows per case; DES seed 7\n` +
      '| counts | model P(≤ SLO) | DES P(≤ SLO) | DES p99 | windows missing the SLO | requests to resolve (model) | at the rate |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const c of cases) {
    const at = predictGraph(cfg.models, c.counts, { entry: cfg.entry, entryDemandRps: rate });
    const des = simulateGraph({
      services: simServices(cfg.models, c.counts),
      entry: cfg.entry,
      arrivalRps: rate,
      requests: perWindow * windows,
      seed: 7,
    });
    let within = 0;
    for (const x of des) if (x <= slo.latencyMs) within++;
    let missed = 0;
    for (let w = 0; w < windows; w++) {
      if (p99(des.subarray(w * perWindow, (w + 1) * perWindow)) > slo.latencyMs) missed++;
    }
    const n = requestsToResolve(at.attainment, p);
    const counts = Object.entries(c.counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    console.log(
      `| ${c.name}: ${counts} | ${(100 * at.attainment).toFixed(3)} % | ${((100 * within) / des.length).toFixed(3)} % | ` +
        `${p99(des).toFixed(1)} ms | ${((100 * missed) / windows).toFixed(0)} % | ${n.toLocaleString('en')} | ` +
        `${(n / rate / 3600).toFixed(1)} h |`,
    );
  }
  process.exit(0);
}

console.log('| counts | predicted p99 | DES p99 | measured p99 (requests, rps) | measured ÷ predicted | SLO |');
console.log('| --- | --- | --- | --- | --- | --- |');
let seed = 1;
for (const c of cases) {
  if (values.only !== undefined && c.name !== values.only) continue;
  const predicted = predictGraph(cfg.models, c.counts, { entry: cfg.entry, entryDemandRps: rate }).predictedMs;
  const des = p99(
    simulateGraph({
      services: simServices(cfg.models, c.counts),
      entry: cfg.entry,
      arrivalRps: rate,
      requests: 200_000,
      seed: 7,
    }),
  );
  const m = await measure(cfg, c.counts, seed++);
  const counts = Object.entries(c.counts)
    .map(([n, k]) => `${n} ${k}`)
    .join(', ');
  const ratio = predicted !== null ? m.p99Ms / predicted : NaN;
  console.log(
    `| ${c.name}: ${counts} | ${predicted === null ? `> ${2 * slo.latencyMs}` : predicted.toFixed(1)} ms | ${des.toFixed(1)} ms | ` +
      `${m.p99Ms.toFixed(1)} ms (${m.requests}, ${m.rps.toFixed(1)} rps${m.errors ? `, ${m.errors} errors` : ''}) | ` +
      `${ratio.toFixed(2)} | ${m.p99Ms <= slo.latencyMs ? 'met' : 'missed'} |`,
  );
}
