// Benchmark: Headroom's own knobs swept on issue 15's traces — the utilization ceiling
// (targetUtilization, the spec default 0.9 under an SLO) and the scale-down window (300 s) — to
// see whether a setting other than the defaults meets a target the defaults miss
// (docs/benchmarks.md, "Headroom's own ceiling and down window, swept").
// Run: npm run bench -- bench/ceiling.ts [--peak 2000] [--util 0.85,0.9,0.95,1] [--down 300]
//      [--trace traces/x.csv | --trace synthetic:...]...
// Prints one Markdown table: per trace, Headroom × oracle / violating seconds at each setting.
// The oracle does not depend on either knob, so one oracle run per trace serves every setting.
import { parseArgs } from 'node:util';
import { simulate } from '../src/simulator/engine.ts';
import { headroomPolicy } from '../src/simulator/policies/headroom.ts';
import { oraclePolicy } from '../src/simulator/policies/oracle.ts';
import { benchModel, benchTrace, benchTraces } from './support/issue15.ts';

const { values } = parseArgs({
  options: {
    trace: { type: 'string', multiple: true },
    peak: { type: 'string', default: '2000' },
    util: { type: 'string', default: '0.85,0.9,0.95,1' },
    down: { type: 'string', default: '300' },
  },
});
const peak = Number(values.peak);
const list = (s: string): number[] => s.split(',').map(Number);
const settings = list(values.down).flatMap((down) => list(values.util).map((util) => ({ util, down })));
for (const s of settings) {
  if (!(s.util > 0 && s.util <= 1) || !(s.down >= 0)) throw new Error(`bad setting ${JSON.stringify(s)}`);
}

const head = settings.map((s) => `u ${s.util}, down ${s.down} s`);
console.log(`peak ${peak} rps; Headroom × oracle / violating s\n`);
console.log(`| trace | ${head.join(' | ')} |\n|---|${head.map(() => '--:').join('|')}|`);
for (const source of values.trace ?? benchTraces()) {
  const trace = benchTrace(source, peak);
  const oracle = simulate(trace, benchModel(peak), oraclePolicy()).replicaSeconds;
  const cells = settings.map(({ util, down }) => {
    const model = benchModel(peak);
    model.targetUtilization = util;
    model.behavior.scaleDown.stabilizationSeconds = down;
    const r = simulate(trace, model, headroomPolicy({ model, scrapeSeconds: 15 }));
    return `${(r.replicaSeconds / oracle).toFixed(3)} / ${r.sloViolationSeconds}`;
  });
  console.log(`| ${source} | ${cells.join(' | ')} |`);
}
