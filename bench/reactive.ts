// Benchmark: the reactive floor (issue 15, item 4). A perfectly reactive reference knows each second's
// demand exactly, but only `delay` seconds late: at second t it asks for the fewest instances that
// meet the SLO at demand(t − delay) × margin, and holds the highest ask of the last `hold` seconds
// on the way down; what it asks for is ready startupSeconds later, as for every policy. With no
// standing margin, an unforeseen rise costs it delay + startup violating seconds (a step: exactly
// that); so it shows which violations are information-bound for a pipeline that sees demand
// `delay` s late (Prometheus with a 15-s scrape read one interval late: up to 30 s; KPA's 1-s
// counters: ~1 s), whatever the policy's cost.
// Run: npm run -s bench -- bench/reactive.ts [--peak 2000] [--trace traces/x.csv | --trace synthetic:...]...
import { parseArgs } from 'node:util';
import { benchModel, benchTrace, benchTraces } from './support/issue15.ts';
import { simulate } from '../src/simulator/engine.ts';
import { headroomPolicy } from '../src/simulator/policies/headroom.ts';
import { oraclePolicy } from '../src/simulator/policies/oracle.ts';
import type { OfflinePolicy } from '../src/simulator/policies/types.ts';

const { values } = parseArgs({
  options: {
    trace: { type: 'string', multiple: true },
    peak: { type: 'string', default: '2000' },
  },
});
const peak = Number(values.peak);
const files = values.trace ?? benchTraces();
const DELAYS = [1, 30];
const HOLDS = [60, 300];
const MARGINS = [1, 1.1, 1.2, 1.3];

function reactive(delay: number, margin: number, hold: number): OfflinePolicy {
  return {
    kind: 'offline',
    name: 'reactive',
    label: `reactive ${delay} s late, × ${margin}, held ${hold} s`,
    schedule(demand, table, model) {
      const T = demand.length;
      const ask = new Int32Array(T);
      for (let t = 0; t < T; t++) {
        const need = table.need((demand[Math.max(0, t - delay)] ?? 0) * margin);
        ask[t] = Math.min(model.replicas.max, Math.max(model.replicas.min, need));
      }
      // The highest ask over [t − hold, t]: a monotone deque of indices.
      const out = new Int32Array(T);
      const dq = new Int32Array(T);
      let head = 0;
      let tail = 0;
      for (let t = 0; t < T; t++) {
        while (tail > head && ask[dq[tail - 1]!]! <= ask[t]!) tail--;
        dq[tail++] = t;
        while (dq[head]! < t - hold) head++;
        out[t] = ask[dq[head]!]!;
      }
      return out;
    },
  };
}

const cell = (r: { replicaSeconds: number; sloViolationSeconds: number }, oracle: number): string =>
  `${(r.replicaSeconds / oracle).toFixed(3)} / ${r.sloViolationSeconds}`;

process.stdout.write(
  `The reactive floor at a ${peak}-rps peak (× oracle / violating s; the bench's service: 20 ms, concurrency 4, p99 ≤ 100 ms, startup 60 s):\n\n| trace | Headroom (15-s Prometheus) | late | held | ${MARGINS.map((m) => `× ${m}`).join(' | ')} |\n|---|--:|--:|--:|${MARGINS.map(() => '--:').join('|')}|\n`,
);
for (const file of files) {
  const trace = benchTrace(file, peak);
  const model = benchModel(peak);
  const oracle = simulate(trace, model, oraclePolicy()).replicaSeconds;
  const hr = simulate(trace, model, headroomPolicy({ model, scrapeSeconds: 15 }));
  let first = true;
  for (const delay of DELAYS)
    for (const hold of HOLDS) {
      const cells = MARGINS.map((m) => cell(simulate(trace, model, reactive(delay, m, hold)), oracle));
      const name = first ? file.replace(/^.*\//, '') : '';
      process.stdout.write(
        `| ${name} | ${first ? cell(hr, oracle) : ''} | ${delay} s | ${hold} s | ${cells.join(' | ')} |\n`,
      );
      first = false;
    }
}
