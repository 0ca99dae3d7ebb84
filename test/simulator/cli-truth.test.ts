// `headroom simulate --true-service-time SPEC` as a user runs it (a real process): the table, the
// JSON and the report name the true distribution and the told one and show both Headroom rows; a
// bad value or a truth that no count can serve exits 2 with a coded message and writes nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'headroom-sim-truth-'));
const spec = join(dir, 'spec.yaml');
writeFileSync(
  spec,
  `services:
  - name: api
    instance: { serviceTimeMs: 20, concurrency: 4 }
    slo: { latencyMs: 500, percentile: 99 }
    replicas: { min: 1, max: 100 }
simulate: { startupSeconds: 30 }
`,
);
const trace = join(dir, 'trace.csv');
const rows = ['t_seconds,rps'];
for (let m = 0; m < 30; m++) rows.push(`${m * 60},${m < 15 ? 300 : 900}`);
writeFileSync(trace, `${rows.join('\n')}\n`);

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'simulate', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const base = ['--trace', trace, '--spec', spec, '--policy', 'headroom', '--policy', 'oracle'];

describe('headroom simulate --true-service-time (CLI)', { timeout: 60_000 }, () => {
  it('names the truth and the told model in the table, the JSON and the report, with both headroom rows', () => {
    const report = join(dir, 'truth.html');
    const t = cli([...base, '--true-service-time', 'lognormal:cv=2,scale=1.5', '--report', report]);
    expect(t.stderr).toBe('');
    expect(t.code).toBe(0);
    const line = 'true service times: lognormal CV 2 × 1.5, 30 ms mean (the policy is told: exponential, 20 ms)';
    expect(t.stdout).toContain(line);
    expect(t.stdout).toMatch(/headroom\s*│/);
    expect(t.stdout).toMatch(/headroom\+calibrated\s*│/);
    expect(readFileSync(report, 'utf8')).toContain(line);
    const j = cli([...base, '--true-service-time', 'lognormal:cv=2,scale=1.5', '--json']);
    const out = JSON.parse(j.stdout) as {
      modelError: { trueServiceTime: { family: string; cv: number; scale: number }; told: { label: string } };
      policies: Array<{ label: string }>;
    };
    expect(out.modelError.trueServiceTime).toMatchObject({ family: 'lognormal', cv: 2, scale: 1.5 });
    expect(out.modelError.told.label).toBe('exponential, 20 ms');
    expect(out.policies.map((p) => p.label)).toEqual(['headroom', 'headroom+calibrated', 'oracle']);
  });

  it('bad values exit 2 with HR_USAGE, the flag and the value; an unservable truth with HR_SLO_UNREACHABLE', () => {
    const report = join(dir, 'never.html');
    // Each value is one process (~2 s of CPU): the parser's other cases are in truth.test.ts.
    const bad: Array<[string, RegExp]> = [
      [
        'lognormal:cv=0.5',
        /HR_USAGE --true-service-time: lognormal cv 0.5 is out of range.*value: "lognormal:cv=0.5".*allowed: exponential \| fixed/,
      ],
      // lognormal CV 4 × 3: its p99 alone is far above 500 ms.
      [
        'lognormal:cv=4,scale=3',
        /HR_SLO_UNREACHABLE --true-service-time: with these true service times no instance count/,
      ],
    ];
    for (const [value, msg] of bad) {
      const r = cli([...base, '--true-service-time', value, '--report', report]);
      expect(r.code, value).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stdout).toBe('');
    }
    expect(existsSync(report)).toBe(false);
  });

  it('--latency-histogram: the calibrated row reads through the bounds; bad bounds or no truth exit 2 with HR_USAGE', () => {
    const j = cli([...base, '--true-service-time', 'exponential:scale=1.05', '--latency-histogram', '--json']);
    expect(j.stderr).toBe('');
    expect(j.code).toBe(0);
    const out = JSON.parse(j.stdout) as { policies: Array<{ label: string; replicaSeconds: number }> };
    expect(out.policies.map((p) => p.label)).toEqual(['headroom', 'headroom+calibrated (histogram)', 'oracle']);
    const bad: Array<[string[], RegExp]> = [
      [
        ['--true-service-time', 'exponential', '--latency-histogram', '0.1,0.05'],
        /HR_USAGE --latency-histogram: the bounds are not ascending.*allowed: ascending bucket bounds in seconds/,
      ],
      [
        ['--true-service-time', 'exponential', '--latency-histogram', '0.05,x'],
        /HR_USAGE --latency-histogram: not a list of positive numbers/,
      ],
      [['--latency-histogram'], /HR_USAGE --latency-histogram: only headroom\+calibrated reads latency/],
    ];
    for (const [args, msg] of bad) {
      const r = cli([...base, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stdout).toBe('');
    }
  });
});
