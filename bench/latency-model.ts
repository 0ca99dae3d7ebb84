// The latency model against ground truth (issue 13): true p99 response times of FIFO M/G/c queues from
// a discrete-event simulation (test/support/mgc-sim.ts, which imports nothing from src/core) next to
// the p99 src/core/pool.ts predicts for the same pool.
//
//   node scripts/bootstrap.mjs bench/latency-model.ts [--quick] [--mode pooled|random|jsq] [--instances 4]
//        [--servers 1,4,16] [--rho 0.5,0.7,0.85] [--dist lognormal:cv=2 ...] [--requests 2000000] [--seed 1] [--json]
//
// pooled: one queue of c servers (leastRequests), predicted with instances = 1, concurrency = c.
// random: --instances N of concurrency c, each arrival to one uniformly (kube-proxy), predicted with
// loadBalancing 'random'. jsq: --instances N of concurrency c, each arrival at once to the one with
// the fewest outstanding (the local balancer's leastRequests, Envoy's least-request), predicted with
// loadBalancing 'leastRequests' and N instances: how far dispatching at once is from the one queue
// the model assumes. Mean service 20 ms; demand = ρ · servers · 50 rps.
//
// Two predictions per case: "cv only" passes serviceTime { cv } (nothing for the exponential, the
// M/M/c model), "cv + q" also passes the distribution's exact p50/p90/p99/p999. Ratio = predicted ÷
// true: above 1 over-provisions, below 1 breaks the SLO. "±" is the standard error of the true p99
// from 10 batches of the run (batch means), in % of it. Heavy tails get more requests: the measured
// count is --requests × min(5, (1 + cv²)/2), e.g. 10 M for lognormal cv 4 (a p99 estimate of an
// M/G/1 needs many busy periods, and their length grows with E[S²]).
import { parseArgs } from 'node:util';
import type { ServiceTimeModel } from '../src/core/model.ts';
import { latencyPercentileMs, type PoolShape } from '../src/core/pool.ts';
import {
  parseServiceTime,
  percentiles,
  serviceTimeQuantiles,
  simulateFifo,
  type FifoOptions,
  type ServiceDistribution,
} from '../test/support/mgc-sim.ts';

const MEAN_MS = 20;
const DISTS = ['fixed', 'erlang:4', 'exponential', 'lognormal:cv=2', 'bimodal:0.95,10,210', 'lognormal:cv=4'];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    mode: { type: 'string', default: 'pooled' },
    instances: { type: 'string', default: '4' },
    servers: { type: 'string', default: '1,4,16' },
    rho: { type: 'string', default: '0.5,0.7,0.85' },
    dist: { type: 'string', multiple: true },
    requests: { type: 'string' },
    seed: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
const mode = values.mode;
if (mode !== 'pooled' && mode !== 'random' && mode !== 'jsq')
  throw new Error(`--mode must be pooled, random or jsq, got ${mode}`);
const list = (s: string): number[] => s.split(',').map(Number);
const serverCounts = list(values.servers);
const rhos = list(values.rho);
const instances = mode === 'pooled' ? 1 : Number(values.instances);
const baseRequests = Number(values.requests ?? (values.quick ? 200_000 : 2_000_000));
const seed = Number(values.seed);
const dists = (values.dist ?? DISTS).map((spec) => parseServiceTime(spec, MEAN_MS));

// serviceTime is new in PoolShape (issue 13): the intersection compiles against pool.ts before and after it.
type ShapeWithServiceTime = PoolShape & { serviceTime?: ServiceTimeModel };

interface Row {
  dist: string;
  cv: number;
  concurrency: number;
  rho: number;
  requests: number;
  trueP99: number;
  stderrPct: number;
  cvOnly: number;
  cvQuantiles: number;
}

/** The model's p99 (ms), or NaN when it throws: one bad cell must not stop the table. */
function predict(shape: ShapeWithServiceTime): number {
  try {
    return latencyPercentileMs(shape, instances, 99);
  } catch (err) {
    process.stderr.write(`model threw for ${JSON.stringify(shape.serviceTime)}: ${(err as Error).message}\n`);
    return NaN;
  }
}

/** p99 of the whole run and its standard error from 10 consecutive batches, in % of the p99. */
function p99WithError(xs: Float64Array): { p99: number; stderrPct: number } {
  const [p99] = percentiles(xs, [99]);
  const k = 10;
  const size = Math.floor(xs.length / k);
  const batch = Array.from({ length: k }, (_, i) => percentiles(xs.subarray(i * size, (i + 1) * size), [99])[0]!);
  const mean = batch.reduce((s, x) => s + x, 0) / k;
  const sd = Math.sqrt(batch.reduce((s, x) => s + (x - mean) ** 2, 0) / (k - 1));
  return { p99: p99!, stderrPct: (100 * sd) / Math.sqrt(k) / p99! };
}

function runCase(d: ServiceDistribution, c: number, rho: number): Row {
  const requests = Math.round(baseRequests * Math.min(5, Math.max(1, (1 + d.cv * d.cv) / 2)));
  const demandRps = (rho * instances * c * 1000) / MEAN_MS;
  const base = { arrivalRps: demandRps, sampler: d, requests, seed };
  const opts: FifoOptions =
    mode === 'pooled'
      ? { ...base, servers: c }
      : { ...base, mode: mode === 'jsq' ? 'leastOutstanding' : 'random', instances, concurrency: c };
  const { p99, stderrPct } = p99WithError(simulateFifo(opts).responseMs);
  const shape: ShapeWithServiceTime = {
    demandRps,
    serviceTimeMs: MEAN_MS,
    concurrency: c,
    loadBalancing: mode === 'random' ? 'random' : 'leastRequests',
  };
  // The exponential is the model's default: no serviceTime at all is the M/M/c prediction.
  const cvOnly = d.spec === 'exponential' ? shape : { ...shape, serviceTime: { cv: d.cv, source: 'spec' as const } };
  const withQ = {
    ...shape,
    serviceTime: { cv: d.cv, quantilesMs: serviceTimeQuantiles(d), source: 'spec' as const },
  };
  return {
    dist: d.spec,
    cv: d.cv,
    concurrency: c,
    rho,
    requests,
    trueP99: p99,
    stderrPct,
    cvOnly: predict(cvOnly),
    cvQuantiles: predict(withQ),
  };
}

const fmt = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : String(x));
const ratio = (model: number, truth: number): string => fmt(model / truth, 2);

const started = performance.now();
const rows: Row[] = [];
for (const d of dists) {
  for (const c of serverCounts) {
    for (const rho of rhos) {
      const t0 = performance.now();
      const row = runCase(d, c, rho);
      rows.push(row);
      process.stderr.write(
        `${d.spec} c=${c} ρ=${rho}: ${row.requests} requests, p99 ${fmt(row.trueP99)} ms (${fmt((performance.now() - t0) / 1000, 1)} s)\n`,
      );
    }
  }
}
const seconds = (performance.now() - started) / 1000;

// Until pool.ts honours serviceTime, a CV-0 pool predicts exactly what the exponential one does.
const probe: ShapeWithServiceTime = { demandRps: 35, serviceTimeMs: MEAN_MS, concurrency: 1, loadBalancing: 'random' };
const ignored = predict({ ...probe, serviceTime: { cv: 0, source: 'spec' } }) === predict(probe);

const what =
  mode === 'random'
    ? `random balancing over ${instances} instances of concurrency c (each its own FIFO M/G/c at λ/${instances})`
    : mode === 'jsq'
      ? `${instances} instances of concurrency c, each request sent at once to the one with the fewest outstanding (the model: leastRequests, one queue of ${instances}·c)`
      : 'one pooled FIFO queue of c servers (leastRequests; the model is called with instances = 1, concurrency = c)';
console.log(`# Latency model vs simulation: p99 response time, ${what}\n`);
console.log(
  `Mean service ${MEAN_MS} ms; demand = ρ · ${instances > 1 ? `${instances} · ` : ''}c · ${1000 / MEAN_MS} rps; seed ${seed}; ` +
    `${baseRequests.toLocaleString('en')} measured requests per case (× min(5, (1 + cv²)/2) for heavy tails, ` +
    `after a 5 % warm-up); ${rows.reduce((s, r) => s + r.requests, 0).toLocaleString('en')} in all, ${fmt(seconds)} s.`,
);
if (ignored) console.log('\n**pool.ts ignores serviceTime here: both model columns are the M/M/c prediction.**');
console.log('\n| distribution | cv | c | ρ | requests | true p99 ms | ± % | cv only ms | ratio | cv + q ms | ratio |');
console.log('| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |');
for (const r of rows) {
  console.log(
    `| ${r.dist} | ${fmt(r.cv, 2)} | ${r.concurrency} | ${r.rho} | ${(r.requests / 1e6).toFixed(1)} M | ${fmt(r.trueP99)} | ` +
      `${fmt(r.stderrPct, 1)} | ${fmt(r.cvOnly)} | ${ratio(r.cvOnly, r.trueP99)} | ${fmt(r.cvQuantiles)} | ` +
      `${ratio(r.cvQuantiles, r.trueP99)} |`,
  );
}

console.log('\n| distribution | ratio cv only (min–max) | ratio cv + q (min–max) |');
console.log('| --- | --: | --: |');
const range = (xs: number[]): string => `${fmt(Math.min(...xs), 2)}–${fmt(Math.max(...xs), 2)}`;
for (const d of dists) {
  const mine = rows.filter((r) => r.dist === d.spec);
  console.log(
    `| ${d.spec} | ${range(mine.map((r) => r.cvOnly / r.trueP99))} | ${range(mine.map((r) => r.cvQuantiles / r.trueP99))} |`,
  );
}
if (values.json)
  console.log(`\n${JSON.stringify({ mode, instances, seed, baseRequests, serviceTimeIgnored: ignored, rows })}`);
