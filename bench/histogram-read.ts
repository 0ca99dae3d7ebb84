// Benchmark: what Prometheus' histogram_quantile reads for a pool's latency percentile through a
// histogram's bucket bounds, against the true percentile, and what the model says for each
// (docs/benchmarks.md, "The latency model read through a histogram's buckets"). The truth is the
// seeded discrete-event simulation (test/support/mgc-sim.ts, independent of src/core): its
// responses are counted into the bounds and read as Prometheus reads them (linear inside the rank's
// bucket from the bound below; the same read against a real Prometheus: test/e2e/controller-histogram).
// Run: npm run -s bench -- bench/histogram-read.ts [--requests 400000]
import { parseArgs } from 'node:util';
import { histogramQuantileMs, latencyPercentileMs, type PoolShape } from '../src/core/pool.ts';
import { DEFAULT_HISTOGRAM_BOUNDS_MS } from '../src/simulator/truth.ts';
import { histogramRead } from '../test/support/histogram.ts';
import { erlang, exponential, percentile, simulateFifo, type ServiceDistribution } from '../test/support/mgc-sim.ts';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '400000' } } });
const REQUESTS = Number(values.requests);
/** The client libraries' default bounds (prom-client, client_golang), ms. */
const DEFAULT = DEFAULT_HISTOGRAM_BOUNDS_MS;
/** Bounds placed around a 100-ms SLO, as the docs advise. */
const NEAR_SLO = [10, 25, 50, 75, 90, 100, 110, 125, 150, 200, 300, 500, 1000];

interface Case {
  label: string;
  serviceMs: number;
  concurrency: number;
  instances: number;
  rps: number;
  sampler: ServiceDistribution;
  cv?: number;
}
const cases: Case[] = [
  { label: 'bench, 10 pods', serviceMs: 20, concurrency: 4, instances: 10, rps: 1750, sampler: exponential(20) },
  { label: 'bench, 100 pods', serviceMs: 20, concurrency: 4, instances: 100, rps: 19000, sampler: exponential(20) },
  { label: 'bench, 2 pods', serviceMs: 20, concurrency: 4, instances: 2, rps: 300, sampler: exponential(20) },
  { label: '50 ms × 4, 4 pods', serviceMs: 50, concurrency: 4, instances: 4, rps: 250, sampler: exponential(50) },
  {
    label: 'Erlang-4 (CV 0.5)',
    serviceMs: 20,
    concurrency: 4,
    instances: 10,
    rps: 1750,
    sampler: erlang(4, 20),
    cv: 0.5,
  },
];

console.log(
  '| pool | p | bounds | true (DES) | histogram read (DES) | read ÷ true | model | model read through the bounds | its ÷ read |',
);
console.log('| --- | --: | --- | --: | --: | --: | --: | --: | --: |');
for (const c of cases) {
  const sim = simulateFifo({
    arrivalRps: c.rps,
    sampler: c.sampler,
    servers: c.instances * c.concurrency,
    requests: REQUESTS,
    seed: 5,
  });
  const shape: PoolShape = {
    demandRps: c.rps,
    serviceTimeMs: c.serviceMs,
    concurrency: c.concurrency,
    loadBalancing: 'leastRequests',
    ...(c.cv !== undefined ? { serviceTime: { cv: c.cv, source: 'spec' as const } } : {}),
  };
  for (const p of [99, 99.9])
    for (const [name, bounds] of [
      ['default', DEFAULT],
      ['near the SLO', NEAR_SLO],
    ] as const) {
      const truth = percentile(sim.responseMs, p);
      const read = histogramRead(p / 100, bounds, sim.responseMs);
      const model = latencyPercentileMs(shape, c.instances, p);
      const modelRead = histogramQuantileMs(shape, c.instances, p, bounds);
      const f = (x: number) => x.toFixed(1);
      console.log(
        `| ${c.label}, ${c.rps} rps | p${p} | ${name} | ${f(truth)} | ${f(read)} | ${(read / truth).toFixed(3)} | ${f(model)} | ${f(modelRead)} | ${(modelRead / read).toFixed(3)} |`,
      );
    }
}
