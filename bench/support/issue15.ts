// Issue 15's bench setting, shared by bench/simulate.ts and bench/reads.ts: the shared traces and
// the synthetic families (docs/benchmarks.md), and the service every policy sizes (20 ms,
// concurrency 4, p99 ≤ 100 ms, startup 60 s), each trace rescaled to `peak`.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defaultBehavior, type ServiceModel } from '../../src/core/model.ts';
import { loadTraceFile, rescaleToPeak, type Trace } from '../../src/input/trace.ts';
import { isSynthetic, syntheticTrace } from '../../src/simulator/synthetic.ts';

/** The synthetic families of issue 15 (docs/benchmarks.md), each one no single tuning fits. */
export const SYNTHETIC_BENCH = [
  'synthetic:spikes,period=7200,width=600,height=5,base=60,noise=0.1,jitter=120',
  'synthetic:spikes,period=3600,width=300,height=4,base=60,noise=0.1,jitter=60',
  'synthetic:flash,count=5,height=6,base=100,noise=0.1',
  'synthetic:diurnal,amplitude=0.6,noise=0.1',
  'synthetic:step,at=200000,height=3',
];

/** The baselines' targets the bench sweeps: 20, 25, … 95 % (the issue's "swept 20–95 %"). */
export const BENCH_SWEEP_TARGETS = Array.from({ length: 16 }, (_, i) => Math.round((0.2 + 0.05 * i) * 100) / 100);

/** traces/*.csv, then the synthetic families. */
export function benchTraces(): string[] {
  return [
    ...readdirSync('traces')
      .filter((f) => f.endsWith('.csv'))
      .sort()
      .map((f) => join('traces', f)),
    ...SYNTHETIC_BENCH,
  ];
}

/** A trace's short name in the tables: azurevm2019_cpu, spikes 2 h, flash. */
export const shortName = (source: string): string =>
  source
    .replace(/^.*\//, '')
    .replace(/(_week)?\.csv$/, '')
    .replace(/^synthetic:(\w+)(?:,period=(\d+))?.*$/, (_, f: string, p?: string) =>
      p ? `${f} ${Number(p) / 3600} h` : f,
    );

/** One bench trace (a CSV path or a synthetic spec), rescaled to `peak`. */
export function benchTrace(source: string, peak: number): Trace {
  return rescaleToPeak(isSynthetic(source) ? syntheticTrace(source) : loadTraceFile(source), peak);
}

export function benchModel(peak: number): ServiceModel {
  return {
    name: 'bench',
    demandRps: peak,
    instance: { serviceTimeMs: 20, concurrency: 4 },
    loadBalancing: 'leastRequests',
    slo: { latencyMs: 100, percentile: 99 },
    targetUtilization: 0.9, // the spec default with an SLO
    replicas: { min: 1, max: 1000 },
    availability: { zones: 1, zoneFailures: 0, instanceFailures: 0 },
    startupSeconds: 60,
    behavior: defaultBehavior(),
  };
}
