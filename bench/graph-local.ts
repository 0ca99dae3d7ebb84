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
