// Benchmark: the calibrated loop on a pool that is exactly what its spec says, where any correction
// is noise (docs/benchmarks.md, "Noise is not evidence"). The service is examples/graph-run.yaml's
// db: 20 ms exponential, one request at a time, 60 rps, p99 ≤ 94.5 ms (its share of the graph's
// end-to-end SLO, 2.6 % past the service's own p99). Each seed runs 101 windows of 6 s through the
// seeded simulation (test/support/mgc-sim.ts, independent of src/core): calibrate() reads what a
// balancer holding the queue measures, planService() re-plans the count from the calibrated
// capacity, the next window runs at that count.
// Run: npm run -s bench -- bench/calibrate-noise.ts [--seeds 8]
// Prints per seed the highest calibrated scale, the windows sized in a measured shape, and the
// highest count (the plan's is 4).
import { parseArgs } from 'node:util';
import { calibrate, initialCalibration } from '../src/core/calibrate.ts';
import { sizingCapacity } from '../src/core/decide.ts';
import { defaultBehavior, type ServiceModel } from '../src/core/model.ts';
import { planService } from '../src/core/plan.ts';
import { exponential, percentile, percentiles, simulateFifo } from '../test/support/mgc-sim.ts';

const { values } = parseArgs({ options: { seeds: { type: 'string', default: '8' } } });
const RPS = 60;
const WINDOW_S = 6;

const db: ServiceModel = {
  name: 'db',
  demandRps: RPS,
  instance: { serviceTimeMs: 20, concurrency: 1 },
  loadBalancing: 'leastRequests',
  slo: { latencyMs: 94.5, percentile: 99 },
  targetUtilization: 0.9,
  replicas: { min: 1, max: 20 },
  availability: { zones: 1, zoneFailures: 0, instanceFailures: 0 },
  startupSeconds: 10,
  behavior: defaultBehavior(),
};

const planned = planService(db).replicas;
console.log(`db: 20 ms exponential × 1, ${RPS} rps, p99 ≤ 94.5 ms; the plan: ${planned} instances`);
console.log('seed  highest scale  windows shaped  highest count');
for (let seed = 0; seed < Number(values.seeds); seed++) {
  let state = initialCalibration();
  let n = planned;
  let maxScale = 0;
  let shaped = 0;
  let highest = n;
  for (let k = 0; k <= 100; k++) {
    const r = simulateFifo({
      arrivalRps: RPS,
      sampler: exponential(20),
      servers: n,
      requests: RPS * WINDOW_S,
      warmup: 500,
      seed: seed * 1000 + k,
    });
    const atInstance = r.responseMs.map((x, i) => x - r.waitMs[i]!);
    const [p50Ms, p90Ms, p99Ms, p999Ms] = percentiles(atInstance, [50, 90, 99, 99.9]) as [
      number,
      number,
      number,
      number,
    ];
    const meanMs = atInstance.reduce((a, b) => a + b, 0) / atInstance.length;
    const sample = {
      demandRps: RPS,
      ready: n,
      measuredMs: percentile(r.responseMs, 99),
      requests: r.responseMs.length,
      percentile: 99,
      split: { waitMs: percentile(r.waitMs, 99), atInstance: { meanMs, p50Ms, p90Ms, p99Ms, p999Ms } },
    };
    const out = calibrate(db, state, sample, k * WINDOW_S);
    state = out.state;
    const capacity = sizingCapacity(db.instance, undefined, out.calibration);
    n = Math.min(db.replicas.max, planService(db, capacity ? { capacity } : {}).replicas);
    maxScale = Math.max(maxScale, out.calibration.scale);
    if (out.calibration.serviceTime) shaped++;
    highest = Math.max(highest, n);
  }
  console.log(
    `${String(seed).padStart(4)}  ${maxScale.toFixed(3).padStart(13)}  ${`${shaped} of 101`.padStart(14)}  ${String(highest).padStart(13)}`,
  );
}
