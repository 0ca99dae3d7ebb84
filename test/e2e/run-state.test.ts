// `headroom run --state FILE` carries the loop on across a restart: a REAL run of the example
// service (examples/run.yaml: 50-ms requests, 4 at a time, utilization 0.7 → 56 rps an instance),
// with no traffic, started from a state file whose forecast history says the last half hour ran at
// 200 rps. The run that carries that on sizes for it at once (the forecast: 4 or more instances);
// the same run without the file sees 0 rps and runs replicas.min (1). At the stop the file holds
// the history with this run's minutes added. A file that is not a state file starts nothing.
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
