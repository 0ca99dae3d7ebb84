// Benchmark: what one RequestWindows.snapshot() costs the balancer's event loop, the loop that also
// forwards every request (src/local/balancer.ts). A snapshot merges the per-second histograms of the
// stable window (61) and, for the burst window, the waits and times at the instance (7 × 3); the
// local loop takes one per reading (rate:stable, rate:burst, the latency sample, the learned
// service time, the tick's record, each /api/status), so a tick stalls the balancer for several.
// Run: npm run bench -- bench/windows.ts [--rps 500] [--reps 50]
// Prints, per histogram precision, the mean ms of a snapshot with every bucket full, the ratio of
// the two measured in this run, and how far the coarser p50/p99 is from the finer one.
import { parseArgs } from 'node:util';
import { RequestWindows } from '../src/adapters/metrics/proxy/windows.ts';
import { mulberry32 } from '../src/simulator/synthetic.ts';
import { exponential, lognormal } from '../test/support/mgc-sim.ts';

const { values } = parseArgs({
  options: { rps: { type: 'string', default: '500' }, reps: { type: 'string', default: '50' } },
});
const rps = Number(values.rps);
const reps = Number(values.reps);

// Time at the instance: lognormal, median 20 ms, σ 0.5 (mean 20·e^0.125, CV √(e^0.25 − 1)); a wait,
// exponential with mean 10 ms, on 1 request in 5.
const AT_INSTANCE = lognormal(Math.sqrt(Math.expm1(0.25)), 20 * Math.exp(0.125));
const WAIT = exponential(10);

/** 61 s of `rps` requests, each with its wait and its time at the instance. */
function filled(digits: 2 | 3): { windows: RequestWindows } {
  let now = 1_000_000_000;
  const windows = new RequestWindows({ stableSeconds: 60, burstSeconds: 6, histogramDigits: digits }, () => now);
  // Seeded, so both precisions see the same latencies.
  const r = mulberry32(42);
  for (let s = 0; s < 61; s++) {
    for (let i = 0; i < rps; i++) {
      now += 1000 / rps;
      const atInstanceMs = AT_INSTANCE.sample(r);
      const waitMs = r() < 0.2 ? WAIT.sample(r) : 0;
      windows.arrive();
      windows.complete(waitMs + atInstanceMs, true, { waitMs, atInstanceMs });
    }
  }
  return { windows };
}

const runs = ([3, 2] as const).map((digits) => ({ digits, ...filled(digits), ms: [] as number[] }));
// Interleaved, so a noisy spell on the shared cores lands on both.
for (let i = 0; i < reps; i++) {
  for (const run of runs) {
    const t0 = performance.now();
    run.windows.snapshot();
    run.ms.push(performance.now() - t0);
  }
}
// A local tick's reads (src/local/cluster.ts): before, five whole snapshots at 3 digits; now the
// source's rate:stable and rate:burst, the latency sample's and the learned service time's burst
// window, and the record's snapshot, at 2 digits.
const tick = runs.map((r) => ({ digits: r.digits, ms: [] as number[] }));
for (let i = 0; i < reps; i++) {
  for (const [k, run] of runs.entries()) {
    const w = run.windows;
    const t0 = performance.now();
    if (run.digits === 3) for (let j = 0; j < 5; j++) w.snapshot();
    else {
      w.stable();
      w.burst();
      w.burst();
      w.burst();
      w.snapshot();
    }
    tick[k]!.ms.push(performance.now() - t0);
  }
}
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const [fine, coarse] = runs.map((r) => ({
  ...r,
  mean: mean(r.ms.slice(Math.floor(reps / 5))),
  snap: r.windows.snapshot(),
}));
const lines = [fine!, coarse!].map(
  (r) =>
    `| ${r.digits} | ${r.mean.toFixed(3)} | ${r.snap.stable!.latency!.p50Ms.toFixed(3)} | ${r.snap.stable!.latency!.p99Ms.toFixed(3)} | ${r.snap.burst!.wait!.atInstance.p999Ms.toFixed(3)} |`,
);
const rel = (a: number, b: number): string => `${(((a - b) / b) * 100).toFixed(2)} %`;
process.stdout.write(
  `${rps} requests a second in every 1-s bucket, ${reps} snapshots each (the first fifth not counted), ` +
    `Node ${process.version}.\n\n| digits | ms per snapshot | stable p50 ms | stable p99 ms | burst p99.9 at instance ms |\n|--:|--:|--:|--:|--:|\n${lines.join('\n')}\n\n` +
    `2 digits ÷ 3 digits: ${(coarse!.mean / fine!.mean).toFixed(3)} of the time; p50 ${rel(coarse!.snap.stable!.latency!.p50Ms, fine!.snap.stable!.latency!.p50Ms)}, ` +
    `p99 ${rel(coarse!.snap.stable!.latency!.p99Ms, fine!.snap.stable!.latency!.p99Ms)}.\n` +
    `A local tick's reads: ${mean(tick[0]!.ms.slice(Math.floor(reps / 5))).toFixed(3)} ms before (five snapshots, 3 digits), ` +
    `${mean(tick[1]!.ms.slice(Math.floor(reps / 5))).toFixed(3)} ms now (one window where one is read, 2 digits).\n`,
);
