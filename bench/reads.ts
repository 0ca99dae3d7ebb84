// Benchmark: what a request-rate reading counts (issue 15's bench setting, bench/support/issue15.ts).
// Run: npm run bench -- bench/reads.ts [--peak 2000] [--trace traces/x.csv | --trace synthetic:...]...
// Headroom and KEDA read a request rate. A counter incremented on the answer (http_requests_total
// as most services export it) cannot rise faster than the ready instances answer: a saturated pool
// reads its capacity, not its demand. The simulator's rows elsewhere read arrivals (the local
// cluster's balancer counts them; on Kubernetes, spec.demand.pods.inFlight adds the pods' requests
// in flight to their answers). Each trace here runs Headroom from Prometheus, Headroom with its
// burst from the pods (a round every 2 s) and KEDA at 70 %, each reading arrivals and then answers,
// and KPA at 70 % (its concurrency counts the queue, so it sees arrivals either way).
// Prints one Markdown table: × oracle / violating seconds per policy and reading.
import { parseArgs } from 'node:util';
import { simulate } from '../src/simulator/engine.ts';
import { CapacityTable } from '../src/simulator/capacity.ts';
import type { RateCounts } from '../src/core/model.ts';
import { headroomPolicy } from '../src/simulator/policies/headroom.ts';
import { kedaPolicy } from '../src/simulator/policies/keda.ts';
import { kpaPolicy } from '../src/simulator/policies/kpa.ts';
import { oraclePolicy } from '../src/simulator/policies/oracle.ts';
import type { Policy, PolicyOptions } from '../src/simulator/policies/types.ts';
import { benchModel, benchTrace, benchTraces } from './support/issue15.ts';

const { values } = parseArgs({
  options: { trace: { type: 'string', multiple: true }, peak: { type: 'string', default: '2000' } },
});
const peak = Number(values.peak);
const model = benchModel(peak);
const base: PolicyOptions = { model, scrapeSeconds: 15 };

const COLUMNS: Array<[string, (reads: RateCounts) => Policy]> = [
  ['headroom', (reads) => headroomPolicy({ ...base, reads })],
  ['headroom+pods', (reads) => headroomPolicy({ ...base, reads, podBurst: { intervalSeconds: 2 } })],
  ['keda@70%', (reads) => kedaPolicy({ ...base, reads, target: 0.7 })],
];

const t0 = process.hrtime.bigint();
const rows: string[] = [];
for (const source of values.trace ?? benchTraces()) {
  const trace = benchTrace(source, peak);
  const table = new CapacityTable(model);
  const oracle = simulate(trace, model, oraclePolicy(), { table }).replicaSeconds;
  const cell = (p: Policy): string => {
    const r = simulate(trace, model, p, { table });
    return `${(r.replicaSeconds / oracle).toFixed(3)} / ${r.sloViolationSeconds}`;
  };
  const cells = COLUMNS.flatMap(([, make]) => [cell(make('arrivals')), cell(make('answers'))]);
  cells.push(cell(kpaPolicy({ ...base, target: 0.7 })));
  rows.push(`| ${source.split('/').pop()} | ${cells.join(' | ')} |`);
  process.stderr.write(`${rows[rows.length - 1]}\n`);
}
const head = COLUMNS.flatMap(([name]) => [`${name} arrivals`, `${name} answers`]);
process.stdout.write(
  `Peak ${peak} rps; × oracle / violating seconds of the trace; ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(0)} s wall.\n\n` +
    `| trace | ${head.join(' | ')} | kpa@70% |\n|---|${head.map(() => '--:|').join('')}--:|\n${rows.join('\n')}\n`,
);
