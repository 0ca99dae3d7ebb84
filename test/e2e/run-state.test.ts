// `headroom run --state FILE` carries the loop on across a restart: a REAL run of the example
// service (examples/run.yaml: 50-ms requests, 4 at a time, utilization 0.7 → 56 rps an instance),
// with no traffic, started from a state file whose forecast history says the last half hour ran at
// 200 rps. The run that carries that on sizes for it at once (the forecast: 4 or more instances);
// the same run without the file sees 0 rps and runs replicas.min (1). At the stop the file holds
// the history with this run's minutes added. A file that is not a state file starts nothing. A
// crowd past the file's history is sized for 2× its first sight (a fresh service's first burst).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forecastHorizon, initialDecideState } from '../../src/core/decide.ts';
import { historyFrom } from '../../src/core/forecast.ts';
import { loadRunConfig } from '../../src/local/config.ts';
import { writeStateFile } from '../../src/local/state-file.ts';
import { initialLoopState } from '../../src/loop/step.ts';
import { cli } from './support/cli.ts';

const SPEC = 'examples/run.yaml';
const args = (more: string[]): string[] => [
  'run',
  SPEC,
  '--duration',
  '5',
  '--port',
  '0',
  '--status-port',
  '0',
  '--json',
  ...more,
];

interface Line {
  type: string;
  kind?: string;
  message?: string;
  state?: { file: string; restored: string[] };
  decision?: { mode: string; desired: number };
  saved?: boolean;
}
const lines = (stdout: string): Line[] =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
const firstDecision = (ls: Line[]) => ls.find((l) => l.type === 'tick' && l.decision)?.decision;

describe('headroom run --state', () => {
  it('carries the loop on from the file, and keeps it current at the stop', async () => {
    const model = loadRunConfig(SPEC).model;
    const file = join(mkdtempSync(join(tmpdir(), 'hr-run-state-')), 'state.json');
    // Half an hour at 200 rps (±5 %), every 15 s up to a second ago.
    const now = Math.floor(Date.now() / 1000);
    const readings: Array<[number, number]> = [];
    for (let t = now - 1800; t < now; t += 15) readings.push([t, 200 * (1 + 0.05 * Math.sin(t))]);
    const demand = historyFrom(readings, forecastHorizon(model));
    writeStateFile(
      file,
      new Map([['web', { ...initialLoopState(), decide: { ...initialDecideState(), demand } }]]),
      new Date(),
    );

    const warm = await cli(args(['--state', file]), undefined, 90_000);
    expect(warm.code, warm.stderr).toBe(0);
    const ws = lines(warm.stdout);
    expect(ws.find((l) => l.type === 'started')?.state).toEqual({ file, restored: ['web'] });
    const first = firstDecision(ws);
    expect(first?.mode).toBe('forecast');
    expect(first?.desired).toBeGreaterThanOrEqual(4); // 200 rps ÷ 56 per instance
    expect(ws.find((l) => l.type === 'state')).toEqual({ type: 'state', file, saved: true });
    const kept = JSON.parse(readFileSync(file, 'utf8')) as {
      savedAt: string;
      services: { web: { decide: { recommendations: Array<[number, number]>; demand: { values: unknown[] } } } };
    };
    expect(Date.parse(kept.savedAt) / 1000).toBeGreaterThan(now);
    // This run's decisions are in it, and the history it carried on.
    const times = kept.services.web.decide.recommendations.map(([t]) => t);
    expect(Math.max(...times)).toBeGreaterThan(now);
    expect(kept.services.web.decide.demand.values.length).toBeGreaterThanOrEqual(demand.values.length);

    // Without the file: 0 rps, replicas.min.
    const cold = await cli(args([]), undefined, 90_000);
    expect(cold.code, cold.stderr).toBe(0);
    expect(firstDecision(lines(cold.stdout))?.desired).toBe(1);
  }, 240_000);

  // The first-burst prior (src/core/burst.ts) in the real loop: it needs the service's level known
  // (the forecast's first 10 minutes scored), which a file carrying half an hour gives at once. The
  // same crowd, 30 → 150 rps on 1 instance (56 rps at utilization 0.7), with that file and without:
  // with it the crowd's first sight is sized for 2× (e.g. 64.73 rps → 129.5 → 3 instances), without
  // it (no level known: as likely the level as a rise) for itself. The file keeps the flag.
  it("a crowd past the file's history is sized for 2× its first sight; without the file, for itself", async () => {
    const model = loadRunConfig(SPEC).model;
    const dir = mkdtempSync(join(tmpdir(), 'hr-run-prior-'));
    const trace = join(dir, 'crowd.csv');
    writeFileSync(trace, 't_seconds,rps\n0,30\n6,30\n7,150\n16,150\n');
    const now = Math.floor(Date.now() / 1000);
    const readings: Array<[number, number]> = [];
    for (let t = now - 1800; t < now; t += 15) readings.push([t, 30 * (1 + 0.05 * Math.sin(t))]);
    const demand = historyFrom(readings, forecastHorizon(model));
    const warmFile = join(dir, 'warm.json');
    writeStateFile(
      warmFile,
      new Map([['web', { ...initialLoopState(), decide: { ...initialDecideState(), demand } }]]),
      new Date(),
    );
    const coldFile = join(dir, 'cold.json'); // not there yet: a first run, saved at the stop
    const crowd = (file: string) =>
      cli(
        ['run', SPEC, '--port', '0', '--status-port', '0', '--json', '--traffic', trace, '--state', file],
        undefined,
        120_000,
      );
    const [warm, cold] = [await crowd(warmFile), await crowd(coldFile)];
    for (const r of [warm, cold]) expect(r.code, r.stderr).toBe(0);

    const burstDecisions = (stdout: string) =>
      lines(stdout).filter((l) => l.type === 'event' && l.kind === 'Decision' && / \(burst\): /.test(l.message ?? ''));
    const openOf = (file: string) =>
      (JSON.parse(readFileSync(file, 'utf8')) as { services: { web: { decide: { bursts?: { open?: number[] } } } } })
        .services.web.decide.bursts?.open;

    // With the file: the first burst decision is the prior's, and its numbers agree with each other.
    const first = burstDecisions(warm.stdout)[0]?.message ?? '';
    expect(first).toContain('no burst of this service scored yet, and this one was first seen past any demand');
    const m =
      /desired 1 → (\d+) \(burst\).*as it may go on, ([\d.]+) rps \(([\d.]+) rps at first sight × 2\).*: [\d.]+ rps needs (\d+)/.exec(
        first,
      );
    expect(m, first).not.toBeNull();
    const [asked, sized, seen, needs] = [Number(m?.[1]), Number(m?.[2]), Number(m?.[3]), Number(m?.[4])];
    expect(Math.abs(sized - 2 * seen)).toBeLessThanOrEqual(sized * 1e-3); // to the reason's 4 digits
    expect(asked).toBe(needs); // the count asked is the count the sizing sentence gives
    expect(openOf(warmFile)?.[5]).toBe(1); // the episode, open at the stop (under the 61-s horizon), keeps it

    // Without it: every burst sized for itself, and the episode saved without the flag.
    const coldBursts = burstDecisions(cold.stdout);
    expect(coldBursts.length).toBeGreaterThan(0);
    for (const d of coldBursts) expect(d.message).not.toContain('at first sight ×');
    expect(openOf(coldFile)?.[5]).toBe(0);
  }, 300_000);

  it('a file that is not a state file: HR_STATE_FILE, exit 2, nothing started', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'hr-run-state-')), 'state.json');
    writeFileSync(file, 'services: []\n');
    const r = await cli(args(['--state', file]), undefined, 60_000);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`HR_STATE_FILE ${file}: not JSON:`);
    expect(readFileSync(file, 'utf8')).toBe('services: []\n');
  }, 120_000);
});
