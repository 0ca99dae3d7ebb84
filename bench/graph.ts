// Benchmark: plan a 200-service call graph against one end-to-end SLO (target ≤ 1 s).
// Run: npm run bench -- bench/graph.ts [--services 200] [--rounds 5] [--seed 7]
// The graph is drawn from a fixed seed: service i ≥ 1 is called by one service before it (a random
// recursive tree: depth ~ln 200 = 5, at most ~14) and, with probability 0.1, by one more; perRequest
// 0.3–2 (mean 0.97), a quarter of the
// calls parallel; 2–40 ms, CV 0.5–2, concurrency 1–8, both balancing modes; 300 rps at the entry;
// the SLO at p99 is 1.5 × the graph's floor (its p99 with no queueing).
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { propagateDemand } from '../src/core/call-graph.ts';
import { graphFloor, planGraph } from '../src/core/graph.ts';
import { defaultBehavior, type CallModel, type ServiceModel } from '../src/core/model.ts';
import { mulberry32 } from '../src/simulator/synthetic.ts';

const { values } = parseArgs({
  strict: false,
  options: {
    services: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '5' },
    seed: { type: 'string', default: '7' },
  },
});
const count = Number(values.services as string);
const rounds = Number(values.rounds as string);

export function randomGraph(n: number, seed: number): ServiceModel[] {
  const rnd = mulberry32(seed);
  const between = (lo: number, hi: number): number => lo + (hi - lo) * rnd();
  const calls: CallModel[][] = Array.from({ length: n }, () => []);
  const perRequest = (): number => [0.3, 0.5, 1, 1, 1, 2][Math.floor(rnd() * 6)] as number;
  const edge = (from: number, to: number): void => {
    const list = calls[from] as CallModel[];
    if (list.some((c) => c.service === `svc-${to}`)) return;
    list.push({ service: `svc-${to}`, perRequest: perRequest(), mode: rnd() < 0.25 ? 'parallel' : 'sequential' });
  };
  for (let i = 1; i < n; i++) {
    edge(Math.floor(rnd() * i), i);
    if (rnd() < 0.1) edge(Math.floor(rnd() * i), i);
  }
  const services: ServiceModel[] = calls.map((c, i) => ({
    name: `svc-${i}`,
    demandRps: i === 0 ? 300 : 0,
    instance: {
      serviceTimeMs: Math.round(between(2, 40)),
      concurrency: 1 + Math.floor(rnd() * 8),
      serviceTime: { cv: [0.5, 1, 2][Math.floor(rnd() * 3)] as number, source: 'spec' },
      cpuMillis: 500,
    },
    loadBalancing: rnd() < 0.5 ? 'leastRequests' : 'random',
    ...(c.length > 0 ? { calls: c } : {}),
    targetUtilization: 0.9,
    replicas: { min: 1, max: 10_000 },
    availability: { zones: 1, zoneFailures: 0, instanceFailures: 0 },
    startupSeconds: 60,
    behavior: defaultBehavior(),
  }));
  const demand = propagateDemand(services, (name) => (name === 'svc-0' ? 300 : 0));
  for (const s of services) s.demandRps = demand.get(s.name) ?? 0;
  const entry = services[0] as ServiceModel;
  entry.endToEndSlo = { latencyMs: 1, percentile: 99 };
  entry.endToEndSlo = { latencyMs: Math.round(1.5 * graphFloor(services).floorMs), percentile: 99 };
  return services;
}

const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
if (import.meta.url === `file://${process.argv[1]}`) {
  const services = randomGraph(count, Number(values.seed as string));
  const times: number[] = [];
  const cpu: number[] = [];
  let plan: ReturnType<typeof planGraph> | undefined;
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    plan = planGraph(services);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const own = plan?.services.reduce((a, s) => a + s.ownReplicas, 0) ?? 0;
  console.log(
    JSON.stringify(
      {
        bench: 'graph',
        date: new Date().toISOString(),
        machine: `${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, node ${process.version}`,
        services: count,
        edges: services.reduce((a, s) => a + (s.calls?.length ?? 0), 0),
        sloMs: services[0]?.endToEndSlo?.latencyMs,
        predictedMs: plan?.predictedMs,
        feasible: plan?.feasible,
        ownConstraintsInstances: own,
        plannedInstances: plan?.total,
        rounds,
        msMedian: Number(med(times).toFixed(1)),
        msMax: Number(Math.max(...times).toFixed(1)),
        cpuMsMedian: Number(med(cpu).toFixed(1)),
        targetMs: 1000,
      },
      null,
      2,
    ),
  );
}
