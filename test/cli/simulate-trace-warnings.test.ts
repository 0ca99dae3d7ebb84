// `headroom simulate` and `headroom run --traffic` as a user runs them (real processes): a trace
// with a 3-hour hole or a counter for a rate replays with a warning on stderr and in --json; --peak
// on a trace of zeros exits 2 with HR_USAGE and nothing on stdout, before anything runs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const BENCH = fileURLToPath(new URL('../../examples/bench.yaml', import.meta.url));
const RUN_SPEC = fileURLToPath(new URL('../../examples/run.yaml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'headroom-trace-warn-'));

function file(name: string, rows: string[]): string {
  const f = join(dir, name);
  writeFileSync(f, `t_seconds,rps\n${rows.join('\n')}\n`);
  return f;
}
const minutes = (n: number, rps: (i: number) => number): string[] =>
  Array.from({ length: n }, (_, i) => `${i * 60},${rps(i)}`);
const gap = file('gap.csv', [...minutes(60, () => 100), '14400,500']);
const zero = file(
  'zero.csv',
  minutes(60, () => 0),
);
const counter = file(
  'counter.csv',
  minutes(60, (i) => i * 5200),
);

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `run examples/run.yaml --traffic TRACE …` for 1 s on free ports, JSON lines: it neither collides nor hangs. */
const runTraffic = (trace: string, ...flags: string[]): ReturnType<typeof cli> =>
  cli([
    'run',
    RUN_SPEC,
    '--traffic',
    trace,
    ...flags,
    '--duration',
    '1',
    '--port',
    '0',
    '--status-port',
    '0',
    '--json',
  ]);

const GAP = `${gap}:61: a gap of 3 h 0 min after the row at 3540 s (rows are 60 s apart elsewhere): the replay holds 100 rps across it`;

describe('trace warnings and --peak on zeros (CLI)', { timeout: 120_000 }, () => {
  it('simulate names a 3-hour gap on stderr and still replays (exit 0)', () => {
    const r = cli(['simulate', '--trace', gap, '--spec', BENCH, '--policy', 'headroom']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`warning: ${GAP}\n`);
    expect(r.stdout).toContain('headroom');
  });

  it('simulate --json carries the warnings too', () => {
    const r = cli(['simulate', '--trace', gap, '--spec', BENCH, '--policy', 'headroom', '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { warnings?: string[] }).warnings).toEqual([GAP]);
  });

  it('simulate warns that a counter is not a rate', () => {
    const r = cli(['simulate', '--trace', counter, '--spec', BENCH, '--policy', 'headroom', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /^warning: .*counter\.csv:2: the rps column never decreases over its 60 rows .*cumulative counter.*rate\(/,
    );
    expect((JSON.parse(r.stdout) as { warnings?: string[] }).warnings).toHaveLength(1);
  });

  it('no warning on a clean trace: stderr stays empty', () => {
    const clean = file(
      'clean.csv',
      minutes(60, (i) => 100 + (i % 7) * 10),
    );
    const r = cli(['simulate', '--trace', clean, '--spec', BENCH, '--policy', 'headroom', '--json']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).not.toHaveProperty('warnings');
  });

  it('simulate --peak on an all-zero trace: HR_USAGE naming flag, value and file; exit 2, nothing on stdout', () => {
    const r = cli(['simulate', '--trace', zero, '--spec', BENCH, '--peak', '600']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `HR_USAGE --peak: --peak 600 rescales the trace's highest rate to 600 rps, but every rate in ${zero} is 0 (value: 600; allowed: a trace with a rate above 0, or no --peak)\n`,
    );
  });

  it('an all-zero trace without --peak replays as it is', () => {
    const r = cli(['simulate', '--trace', zero, '--spec', BENCH, '--policy', 'headroom']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('run --traffic names the gap on stderr and in its traffic line', () => {
    const r = runTraffic(gap);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`warning: ${GAP}\n`);
    const traffic = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; warnings?: string[] })
      .find((o) => o.type === 'traffic');
    expect(traffic?.warnings).toEqual([GAP]);
  });

  it('run --traffic --peak on an all-zero trace: the same error before anything starts', () => {
    // Free ports and 1 s: were it to start (it must not), it would neither collide nor hang.
    const r = runTraffic(zero, '--peak', '600');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^HR_USAGE --peak: --peak 600 rescales .* every rate in .*zero\.csv is 0/);
  });
});
