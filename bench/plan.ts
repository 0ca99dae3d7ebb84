// Benchmark: plan 10,000 services (target ≤ 100 ms on one core).
// Run: npm run bench -- bench/plan.ts [--services 10000] [--rounds 15]
// Services are drawn from a fixed-seed generator: 10–5,000 rps, 5–200 ms, concurrency 1–8, p99/p99.9
// SLOs at 5–12× the service time, both load-balancing modes, a third with 3-zone availability.
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { defaultBehavior, type ServiceModel } from '../src/core/model.ts';
import { planServices } from '../src/core/plan.ts';

const { values } = parseArgs({
  options: { services: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '15' } },
});
const count = Number(values.services);
const rounds = Number(values.rounds);

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rnd = mulberry32(42);
const between = (lo: number, hi: number): number => lo + (hi - lo) * rnd();
const services: ServiceModel[] = Array.from({ length: count }, (_, i) => {
  const serviceTimeMs = Math.round(between(5, 200));
  return {
    name: `svc-${i}`,
    demandRps: Math.round(10 * Math.exp(between(0, Math.log(500)))),
    instance: { serviceTimeMs, concurrency: 1 + Math.floor(rnd() * 8), cpuMillis: 500, memoryBytes: 512 * 2 ** 20 },
    loadBalancing: rnd() < 0.5 ? 'leastRequests' : 'random',
    slo: { latencyMs: Math.round(serviceTimeMs * between(5, 12)), percentile: rnd() < 0.7 ? 99 : 99.9 },
    targetUtilization: 0.9,
    replicas: { min: 2, max: 100_000 },
    availability:
      i % 3 === 0
        ? { zones: 3, zoneFailures: 1, instanceFailures: 0 }
        : { zones: 1, zoneFailures: 0, instanceFailures: 1 },
    startupSeconds: 60,
    behavior: defaultBehavior(),
  };
});

// Wall time and this process's CPU time per round: on a shared machine CPU time is the steadier one.
// Plan rounds first, then render rounds: rendering between plan rounds would leave its garbage to
// be collected inside the next timed plan round.
const times: number[] = [];
const cpu: number[] = [];
const rendered: number[] = [];
let instances = 0;
for (let r = 0; r < rounds; r++) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const plans = planServices(services);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
  instances = plans.reduce((a, p) => a + p.replicas, 0);
}
for (let r = 0; r < rounds; r++) {
  const plans = planServices(services);
  // Explanations render on first read; time rendering all of them (what `plan --json` pays).
  const t1 = process.hrtime.bigint();
  let chars = 0;
  for (const p of plans) {
    for (const d of p.details) chars += d.detail.length;
    for (const w of p.warnings) chars += w.length;
  }
  rendered.push(Number(process.hrtime.bigint() - t1) / 1e6 + (chars > 0 ? 0 : NaN));
}
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
times.sort((a, b) => a - b);
const median = med(times);
const result = {
  bench: 'plan',
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, node ${process.version}`,
  services: count,
  rounds,
  totalInstances: instances,
  msMedian: Number(median.toFixed(1)),
  msMin: Number((times[0] ?? NaN).toFixed(1)),
  msMax: Number((times[times.length - 1] ?? NaN).toFixed(1)),
  cpuMsMedian: Number(med(cpu).toFixed(1)),
  usPerService: Number(((median * 1000) / count).toFixed(2)),
  renderAllExplanationsMsMedian: Number(med(rendered).toFixed(1)),
  targetMs: 100,
};
console.log(JSON.stringify(result, null, 2));
