// Benchmark: Headroom's warm start on issue 15's traces — the demand's past read from Prometheus
// and folded into the forecast's history, its bursts scored, before the first round
// (PolicyOptions.history, the controller's behavior.forecast.historySeconds) against a cold start
// that learns it for hours.
// Each trace's first `--days` days are the history: the stable demand Headroom's 15-s tick reads
// (the 60-s rate through the 15-s scrape, one interval late) at every tick, recorded by a run over
// those days alone. The rest of the trace is the evaluation: Headroom cold, Headroom warm and the
// oracle over it, and over its first day alone (where a warm start matters).
// Run: npm run bench -- bench/warm-start.ts [--peak 2000] [--days 1]
//      [--trace traces/x.csv | --trace synthetic:...]...
// Prints one Markdown table: per trace, Headroom × oracle / violating seconds, cold and warm, over
// the whole evaluation and over its first day; then what folding each history cost (the median of
// 3 historyFrom calls: the CPU a new policy's first round spends once).
import { parseArgs } from 'node:util';
import { forecastHorizon } from '../src/core/decide.ts';
import { historyFrom, type DemandHistory } from '../src/core/forecast.ts';
import { initialLoopState, withHistory } from '../src/loop/step.ts';
import type { BurstHistory } from '../src/core/burst.ts';
import type { Trace } from '../src/input/trace.ts';
import { CapacityTable } from '../src/simulator/capacity.ts';
import { simulate } from '../src/simulator/engine.ts';
import { HEADROOM_STABLE_WINDOW_SECONDS, headroomPolicy } from '../src/simulator/policies/headroom.ts';
import { oraclePolicy } from '../src/simulator/policies/oracle.ts';
import type { OnlinePolicy } from '../src/simulator/policies/types.ts';
import { benchModel, benchTrace, benchTraces, shortName } from './support/issue15.ts';

const DAY = 86_400;
const SCRAPE = 15;

const { values } = parseArgs({
  options: {
    trace: { type: 'string', multiple: true },
    peak: { type: 'string', default: '2000' },
    days: { type: 'string', default: '1' },
  },
});
const peak = Number(values.peak);
const days = Number(values.days);
if (!(peak > 0)) throw new Error(`bad --peak ${values.peak}`);
if (!(days > 0)) throw new Error(`bad --days ${values.days}`);
const H = Math.round(days * DAY);

/** Seconds [from, to) of a trace, as a trace of their own (t = 0 at `from`). */
const slice = (trace: Trace, from: number, to = trace.rps.length): Trace => ({
  ...trace,
  rps: trace.rps.slice(from, to),
});

/**
 * The readings the controller would get from Prometheus over the trace's first H seconds: the
 * stable demand Headroom reads each tick, [seconds, rps], the trace's t = 0 at 0. Arrivals, as
 * Headroom reads by default, so the count the recorder asks for changes nothing.
 */
function readingsOf(trace: Trace): Array<[number, number]> {
  const readings: Array<[number, number]> = [];
  const recorder: OnlinePolicy = {
    kind: 'online',
    name: 'recorder',
    label: 'recorder',
    tickSeconds: SCRAPE,
    pipeline: { scrapeSeconds: SCRAPE, delaySeconds: SCRAPE },
    tick(view) {
      const rate = view.requestRate(HEADROOM_STABLE_WINDOW_SECONDS, view.latest);
      if (rate !== undefined) readings.push([view.now, rate]);
      return view.currentReplicas;
    },
  };
  simulate(slice(trace, 0, H), benchModel(peak), recorder);
  // Sanity: a reading every tick from the second on, averaging what the trace played.
  const n = Math.ceil(H / SCRAPE);
  if (readings.length < n - 2 || readings.length > n) throw new Error(`${readings.length} readings, expected ~${n}`);
  const mean = (xs: ArrayLike<number>): number => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length;
  const got = mean(readings.map((r) => r[1]));
  const want = mean(trace.rps.subarray(0, H));
  if (Math.abs(got - want) > 0.02 * want) throw new Error(`readings average ${got} rps, the trace ${want}`);
  return readings;
}

const model0 = benchModel(peak);
const table = new CapacityTable(model0);

/** Cold, warm: × oracle / violating seconds over `evaluation`. */
function cells(evaluation: Trace, demand: DemandHistory, bursts?: BurstHistory): [string, string] {
  const oracle = simulate(evaluation, model0, oraclePolicy(), { table }).replicaSeconds;
  const run = (warm: boolean): string => {
    const model = benchModel(peak);
    const history = warm ? { history: { demand, ...(bursts ? { bursts } : {}), traceStartSeconds: H } } : {};
    const r = simulate(evaluation, model, headroomPolicy({ model, scrapeSeconds: SCRAPE, ...history }), { table });
    return `${(r.replicaSeconds / oracle).toFixed(3)} / ${r.sloViolationSeconds}`;
  };
  return [run(false), run(true)];
}

console.log(`\`npm run bench -- bench/warm-start.ts ${process.argv.slice(2).join(' ')}\``.replace(/ `$/, '`'));
console.log(`\npeak ${peak} rps; history: the first ${days} day(s); Headroom × oracle / violating s\n`);
console.log('| trace | whole: cold | whole: warm | first day: cold | first day: warm |\n|---|--:|--:|--:|--:|');
const folds: string[] = [];
for (const source of values.trace ?? benchTraces()) {
  const trace = benchTrace(source, peak);
  if (trace.rps.length <= H) throw new Error(`${source}: ${trace.rps.length} s, not more than ${H} s of history`);
  const readings = readingsOf(trace);
  // Folded as the controller folds a new policy's past, once for every warm run.
  const { demand, bursts } = withHistory(model0, initialLoopState(), readings, HEADROOM_STABLE_WINDOW_SECONDS).decide;
  const whole = cells(slice(trace, H), demand, bursts);
  const first = cells(slice(trace, H, H + DAY), demand, bursts);
  console.log(`| ${shortName(source)} | ${[...whole, ...first].join(' | ')} |`);
  const ms = [0, 1, 2]
    .map(() => {
      const t0 = performance.now();
      const h = historyFrom(readings, forecastHorizon(model0));
      const t = performance.now() - t0;
      return JSON.stringify(h).length > 0 ? t : Number.NaN;
    })
    .sort((a, b) => a - b)[1]!;
  folds.push(`${shortName(source)} ${readings.length.toLocaleString('en-US')} readings ${ms.toFixed(0)} ms`);
}
console.log(`\nfolding the history: ${folds.join('; ')}`);
