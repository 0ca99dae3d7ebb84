// Benchmark: the reactive floor (issue 15, item 4). A perfectly reactive reference reads demand
// through a pipeline, as every policy does, but exactly (no counting noise, no scrape phase): the
// mean demand of the `window` seconds that ended `late` seconds ago. At second t it asks for the
// fewest instances that meet the SLO at that mean × margin and holds the highest ask of the last
// `hold` seconds on the way down; what it asks for is ready startupSeconds later, as for every
// policy. With no standing margin, an unforeseen rise costs it late + startup violating seconds (a
// step: exactly that), so it shows which violations are information-bound for a pipeline. Three
// pipelines, each at its freshest: Prometheus with a 15-s scrape read one interval late, as its
// newest interval (15 s: the fastest it shows a rise, what Headroom's burst path reads) or a 60-s
// rate (the stable demand), 15 s late (15–30 s in fact, with the scrape's phase); and KPA's (a 6-s
// panic window of 1-s counters, 1 s late). The traces hold one value a minute, so a
// reference reading the current second, even late, would see most of the next minute already.
// Run: npm run -s bench -- bench/reactive.ts [--peak 2000] [--trace traces/x.csv | --trace synthetic:...]...
import { parseArgs } from 'node:util';
import { benchModel, benchTrace, benchTraces } from './support/issue15.ts';
import { simulate } from '../src/simulator/engine.ts';
import { headroomPolicy } from '../src/simulator/policies/headroom.ts';
import { oraclePolicy, slidingMax } from '../src/simulator/policies/oracle.ts';
import type { OfflinePolicy } from '../src/simulator/policies/types.ts';

const { values } = parseArgs({
  options: {
    trace: { type: 'string', multiple: true },
    peak: { type: 'string', default: '2000' },
  },
});
const peak = Number(values.peak);
const files = values.trace ?? benchTraces();
const PIPELINES = [
  { name: '15-s mean, 15 s late', late: 15, window: 15 },
  { name: '60-s mean, 15 s late', late: 15, window: 60 },
  { name: '6-s mean, 1 s late', late: 1, window: 6 },
];
const HOLDS = [60, 300];
const MARGINS = [1, 1.05, 1.1, 1.2, 1.3];

function reactive(p: (typeof PIPELINES)[number], margin: number, hold: number): OfflinePolicy {
  return {
    kind: 'offline',
    name: 'reactive',
    label: `reactive (${p.name}), × ${margin}, held ${hold} s`,
    schedule(demand, table, model) {
      const T = demand.length;
      const sum = new Float64Array(T + 1); // sum[i] = demand[0] + … + demand[i − 1]
      for (let t = 0; t < T; t++) sum[t + 1] = sum[t]! + (demand[t] ?? 0);
      const ask = new Int32Array(T);
      for (let t = 0; t < T; t++) {
        const end = Math.max(1, t - p.late + 1); // the seconds [end − window, end)
        const start = Math.max(0, end - p.window);
        const need = table.need(((sum[end]! - sum[start]!) / (end - start)) * margin);
        ask[t] = Math.min(model.replicas.max, Math.max(model.replicas.min, need));
      }
      return slidingMax(ask, hold, 0); // the highest ask of the last `hold` s
    },
  };
}

const cell = (r: { replicaSeconds: number; sloViolationSeconds: number }, oracle: number): string =>
  `${(r.replicaSeconds / oracle).toFixed(3)} / ${r.sloViolationSeconds}`;

process.stdout.write(
  `The reactive floor at a ${peak}-rps peak (× oracle / violating s; the bench's service: 20 ms, concurrency 4, p99 ≤ 100 ms, startup 60 s):\n\n| trace | Headroom (15-s Prometheus) | reads | held | ${MARGINS.map((m) => `× ${m}`).join(' | ')} |\n|---|--:|--:|--:|${MARGINS.map(() => '--:').join('|')}|\n`,
);
for (const file of files) {
  const trace = benchTrace(file, peak);
  const model = benchModel(peak);
  const oracle = simulate(trace, model, oraclePolicy()).replicaSeconds;
  const hr = simulate(trace, model, headroomPolicy({ model, scrapeSeconds: 15 }));
  let first = true;
  for (const p of PIPELINES)
    for (const hold of HOLDS) {
      const cells = MARGINS.map((m) => cell(simulate(trace, model, reactive(p, m, hold)), oracle));
      const name = first ? file.replace(/^.*\//, '') : '';
      process.stdout.write(
        `| ${name} | ${first ? cell(hr, oracle) : ''} | ${p.name} | ${hold} s | ${cells.join(' | ')} |\n`,
      );
      first = false;
    }
}
