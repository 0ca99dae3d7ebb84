// `headroom simulate --history D` as a user runs it (a real process): the trace's first D are the
// demand's past, which Headroom folds in as the controller does for a new policy, and every policy
// is replayed and charged over the rest. On two days of 2-h spikes, day 2 with day 1 read costs
// less and violates less than day 2 with nothing read (the same replay, a spec with
// historySeconds 0), and the baselines and the oracle are the same run for run: only Headroom
// reads the past. A day read that holds a crowd (and no period) scores it as a burst and says so. Bad
// durations exit 2 with HR_USAGE and print nothing on stdout.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { traceReadings } from '../../src/simulator/history.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const BENCH = fileURLToPath(new URL('../../examples/bench.yaml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'headroom-sim-history-'));
/** The bench's service with `behavior` (a flow mapping) added, written as `name`. */
function benchWith(name: string, behavior: string): string {
  const file = join(dir, name);
  const spec = readFileSync(BENCH, 'utf8');
  writeFileSync(file, spec.replace('    startupSeconds: 60\n', `    startupSeconds: 60\n    behavior: ${behavior}\n`));
  return file;
}
// The bench's service with the warm start off: the cold start over the same replay.
const COLD = benchWith('cold.yaml', '{ forecast: { historySeconds: 0 } }');
const SPIKES = 'synthetic:spikes,period=7200,width=600,height=5,base=60,noise=0.1,jitter=120,days=2';

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Row {
  policy: string;
  replicaSeconds: number;
  sloViolationSeconds: number;
  costVsOracle: number;
  peakReplicas: number;
}
interface Out {
  trace: { seconds: number };
  history?: { readings: number; seconds: number; text: string; traceSeconds: number };
  policies: Row[];
}

const simulate = (spec: string, ...flags: string[]): Out => {
  const r = cli(['simulate', '--spec', spec, '--trace', SPIKES, '--peak', '2000', '--json', ...flags]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Out;
};
const row = (o: Out, policy: string): Row => o.policies.find((p) => p.policy === policy)!;

describe('simulate --history', () => {
  it('day 2 of 2-h spikes, with day 1 read as the past: cheaper and fewer violations than cold, baselines unchanged', () => {
    const warm = simulate(BENCH, '--history', '1d');
    const cold = simulate(COLD, '--history', '1d');
    const whole = simulate(BENCH);
    // The replay is day 2 alone, for every policy.
    expect(warm.trace.seconds).toBe(86_400);
    expect(cold.trace.seconds).toBe(86_400);
    expect(whole.trace.seconds).toBe(172_800);
    // 60-s rates every 15 s from t = 60 s to the last step before 24 h.
    expect(warm.history).toMatchObject({ readings: 5_756, seconds: 86_340, traceSeconds: 86_400 });
    expect(warm.history!.text).toContain("read from the trace's first 24 h");
    expect(warm.history!.text).toContain('a period of 2 h found');
    // The periodic term starts the spikes ahead: none is scored as a burst.
    expect(warm.history!.text).not.toContain('burst in it scored');
    expect(cold.history).toMatchObject({ readings: 0, traceSeconds: 86_400 });
    expect(cold.history!.text).toContain('headroom started with no history');
    // Only Headroom reads the past: the others are the same run for run.
    for (const p of ['hpa', 'kpa', 'keda', 'static', 'oracle']) expect(row(warm, p)).toEqual(row(cold, p));
    const [w, c] = [row(warm, 'headroom'), row(cold, 'headroom')];
    // Cold, day 2 is the first day: spikes the period is still being learned for (285 s measured).
    expect(w.sloViolationSeconds).toBeLessThan(c.sloViolationSeconds);
    expect(w.replicaSeconds).toBeLessThan(c.replicaSeconds);
    expect(w.sloViolationSeconds / 86_400).toBeLessThanOrEqual(0.001);
    // Day 2's highest spike (2,000 rps) is past every reading day 1 holds, but with the 2-h period
    // found it is what is left of a recurring rise, not an unknown crowd: sized for itself (13 for
    // the oracle's 11), not for 2× its first sight (23 when the first-burst prior took it).
    expect(w.peakReplicas).toBeLessThanOrEqual(1.5 * row(warm, 'oracle').peakReplicas);
  }, 120_000);

  it('a day read that holds a crowd and no period: the crowd is scored, and the line says how far it rose', () => {
    const FLASH = 'synthetic:flash,count=5,height=6,base=100,noise=0.1,days=2,seed=1';
    const NOLEARN = benchWith('no-learn.yaml', '{ burst: { learn: false } }');
    const run = (spec: string): Out => {
      const r = cli(['simulate', '--spec', spec, '--trace', FLASH, '--peak', '2000', '--history', '1d', '--json']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as Out;
    };
    // Its first crowd, 28 minutes in: the 60-s rate from ~300 rps rose 2.136× its first sight (the
    // line docs/simulate.md quotes).
    expect(run(BENCH).history!.text).toMatch(
      /: [\d,]+ minutes scored \(the forecast starts calibrated\), no period found; 1 burst in it scored: it rose 2\.136× its first sight within 120 s$/,
    );
    // With behavior.burst.learn off, nothing is learned from the past either.
    expect(run(NOLEARN).history!.text).toMatch(/no period found$/);
  }, 120_000);

  it('the readings are the 60-s mean rate every 15 s, as a rate query over the trace reads it', () => {
    const rps = Float64Array.from({ length: 600 }, (_, i) => (i < 300 ? 100 : 400));
    const r = traceReadings(rps, { from: 0, to: 600, step: 15, windowSeconds: 60 });
    expect(r[0]).toEqual([60, 100]);
    expect(r.at(-1)).toEqual([585, 400]);
    expect(r.length).toBe(36);
    // Halfway through the step: 30 s at 100 and 30 at 400.
    expect(r.find(([t]) => t === 330)).toEqual([330, 250]);
    // From a later start, the window still reaches back before it.
    expect(traceReadings(rps, { from: 300, to: 330, step: 15, windowSeconds: 60 })).toEqual([
      [300, 100],
      [315, 175],
    ]);
  });

  it.each([
    ['2d', 'out of range', 'the trace is 172,800 s long (2 d) and at least 1 h of it is left to replay'],
    ['4m', 'out of range', 'from 300 s to 169200 s'],
    ['one day', 'not a duration', 'a duration such as'],
  ])('--history %s: HR_USAGE, exit 2, nothing on stdout', (value, message, allowed) => {
    const r = cli(['simulate', '--spec', BENCH, '--trace', SPIKES, '--history', value]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('HR_USAGE --history');
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain(allowed);
  });

  it('a trace too short to leave an hour after the history is refused, naming its length', () => {
    const r = cli(['simulate', '--spec', BENCH, '--trace', 'synthetic:step,days=0.042', '--history', '5m']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('the trace is too short for a history: the trace is 3,600 s long (1 h)');
  });
});
