// `headroom simulate` as a user runs it (a real process): table, --json shape, --report file, and
// bad input exiting 2 with a coded message and nothing written.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { NoiseBoundResult } from '../../src/simulator/run.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'headroom-sim-'));
const spec = join(dir, 'spec.yaml');
writeFileSync(
  spec,
  `services:
  - name: api
    demand: { rps: 1000 }
    instance: { serviceTimeMs: 20, concurrency: 4 }
    slo: { latencyMs: 100, percentile: 99 }
    replicas: { min: 1, max: 100 }
simulate: { startupSeconds: 30 }
`,
);
// One hour at 1-min rows: a quiet half hour, then triple the demand.
const trace = join(dir, 'trace.csv');
const rows = ['t_seconds,rps'];
for (let m = 0; m < 60; m++) rows.push(`${m * 60},${m < 30 ? 100 + (m % 3) * 10 : 330 + (m % 4) * 10}`);
writeFileSync(trace, `${rows.join('\n')}\n`);

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'simulate', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('headroom simulate (CLI)', { timeout: 120_000 }, () => {
  it('--json gives every policy with cost and violations; the oracle is the cheapest without violations', () => {
    const r = cli(['--trace', trace, '--spec', spec, '--peak', '2000', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      trace: { peakRps: number; seconds: number };
      policies: Array<{
        policy: string;
        replicaSeconds: number;
        sloViolationSeconds: number;
        violationFraction: number;
        costVsOracle: number;
      }>;
    };
    expect(out.trace.peakRps).toBeCloseTo(2000);
    expect(out.trace.seconds).toBe(3600);
    expect(out.policies.map((p) => p.policy)).toEqual(['headroom', 'hpa', 'kpa', 'keda', 'static', 'oracle']);
    const oracle = out.policies.find((p) => p.policy === 'oracle');
    expect(oracle?.sloViolationSeconds).toBe(0);
    expect(oracle?.costVsOracle).toBe(1);
    for (const p of out.policies) {
      expect(p.replicaSeconds).toBeGreaterThanOrEqual(oracle?.replicaSeconds ?? Infinity);
      expect(p.violationFraction).toBeCloseTo(p.sloViolationSeconds / 3600, 6);
      expect(p.costVsOracle).toBeCloseTo(p.replicaSeconds / (oracle?.replicaSeconds ?? 1), 5);
    }
  });

  it('prints a table and writes the HTML report with the shared chart code', () => {
    const report = join(dir, 'r.html');
    const r = cli(['--trace', trace, '--spec', spec, '--policy', 'headroom', '--policy', 'oracle', '--report', report]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/headroom\s*│/);
    expect(r.stdout).toMatch(/oracle\s*│/);
    expect(r.stdout).not.toMatch(/hpa@/);
    const html = readFileSync(report, 'utf8');
    expect(html).toContain('window.HeadroomCharts');
    expect(html).toContain('demandCapacityChart(');
  });

  it('--bound adds the noise bound at headroom’s violating seconds, in JSON and in the table', () => {
    const args = ['--trace', trace, '--spec', spec, '--peak', '2000', '--policy', 'headroom', '--policy', 'oracle'];
    const r = cli([...args, '--bound', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      policies: Array<{ policy: string; replicaSeconds: number; sloViolationSeconds: number }>;
      noiseBound?: NoiseBoundResult;
    };
    const hr = out.policies.find((p) => p.policy === 'headroom');
    const oracle = out.policies.find((p) => p.policy === 'oracle');
    const b = out.noiseBound;
    expect(b).toBeDefined();
    expect(b?.budgetSeconds).toBe(hr?.sloViolationSeconds);
    expect(b?.sloViolationSeconds).toBeLessThanOrEqual(b?.budgetSeconds ?? -1);
    expect(b?.windowSeconds).toBe(900);
    // Charged Headroom's own ceiling: the spec's targetUtilization (0.9, the default with an SLO).
    expect(b?.utilization).toBe(0.9);
    expect(['relative', 'counting']).toContain(b?.shape);
    expect(b?.z).toBeGreaterThanOrEqual(0);
    expect(b?.costVsOracle).toBeCloseTo((b?.replicaSeconds ?? NaN) / (oracle?.replicaSeconds ?? NaN), 5);
    expect(cli(args).stdout).not.toContain('noise bound');
    expect(cli([...args, '--bound']).stdout).toMatch(
      /noise bound: \d+\.\d{3} × oracle with \d+ violating s.*, at most 90 % busy on the mean \(the spec's targetUtilization\)/,
    );
    const report = join(dir, 'bound.html');
    expect(cli([...args, '--bound', '--report', report]).code).toBe(0);
    const page = readFileSync(report, 'utf8');
    expect(page).toContain(`<b>${(b?.costVsOracle ?? NaN).toFixed(3)} × oracle</b>`);
    expect(page).toContain("at most 90 % busy on the mean (the spec's targetUtilization)");
  });

  it('--pod-burst alone is a round every 1 s, --pod-burst 2 every 2 s: in the JSON and the header', () => {
    const args = ['--trace', trace, '--spec', spec, '--policy', 'headroom', '--policy', 'oracle'];
    const json = cli([...args, '--pod-burst', '--json']);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { podBurstIntervalSeconds?: number }).podBurstIntervalSeconds).toBe(1);
    const text = cli([...args, '--pod-burst', '2']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("scrape 15 s; headroom's burst from the pods, a round every 2 s");
    expect(cli(args).stdout).not.toContain('from the pods');
  });

  it('--reads answers: the JSON and the header say it; a saturating step costs headroom more violating seconds', () => {
    const args = ['--trace', 'synthetic:step,at=3600,height=4,days=0.25', '--spec', spec, '--peak', '2000'];
    const run = (extra: string[]) => {
      const r = cli([...args, '--policy', 'headroom', '--policy', 'oracle', '--json', ...extra]);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout) as {
        reads: string;
        policies: Array<{ policy: string; sloViolationSeconds: number }>;
      };
    };
    const arrivals = run([]);
    const answers = run(['--reads', 'answers']);
    expect([arrivals.reads, answers.reads]).toEqual(['arrivals', 'answers']);
    const violating = (r: typeof arrivals) =>
      r.policies.find((p) => p.policy === 'headroom')?.sloViolationSeconds ?? NaN;
    expect(violating(answers)).toBeGreaterThan(violating(arrivals));
    const text = cli([...args, '--policy', 'headroom', '--reads', 'answers']);
    expect(text.stdout).toContain('request rates count answers (a saturated pool reads what it answers)');
    const bad = cli([...args, '--policy', 'headroom', '--reads', 'completions']);
    expect([bad.code, bad.stdout]).toEqual([2, '']);
    expect(bad.stderr).toMatch(/completions.*arrivals, answers/);
  });

  it('bad input exits 2 with a coded message and writes nothing', () => {
    const report = join(dir, 'never.html');
    const bad: Array<[string[], RegExp]> = [
      [['--trace', trace, '--spec', spec, '--peak', '-5', '--report', report], /HR_USAGE.*--peak/],
      [['--trace', trace, '--spec', spec, '--startup', '1.5', '--report', report], /HR_USAGE.*--startup/],
      // A fraction where a percent goes: 0.7 ran an HPA at 0.7 % ("hpa@1%", 10× the oracle).
      [
        ['--trace', trace, '--spec', spec, '--target', '0.7', '--report', report],
        /HR_USAGE --target: 0\.7 % .*70 for 70 %/,
      ],
      [['--trace', join(dir, 'missing.csv'), '--spec', spec, '--report', report], /HR_FILE_READ/],
      [['--trace', spec, '--spec', spec, '--report', report], /HR_TRACE_INVALID/],
      [['--trace', trace, '--spec', spec, '--service', 'nope', '--report', report], /HR_USAGE.*--service/],
      [['--trace', trace, '--spec', spec, '--policy', 'magic', '--report', report], /magic/],
      [['--trace', trace, '--spec', spec, '--pod-burst', '0', '--report', report], /HR_USAGE.*--pod-burst.*1\.\.60/],
    ];
    for (const [args, msg] of bad) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stdout).toBe('');
    }
    expect(existsSync(report)).toBe(false);
  });

  it("a bad simulate: section is reported with the spec's problems, each at its line and column", () => {
    const bad = join(dir, 'bad-sim.yaml');
    writeFileSync(
      bad,
      'services:\n  - name: api\n    instance: { serviceTimeMs: 0, concurrency: 4 }\nsimulate:\n  scrapeSeconds: 0\n  polices: [headroom]\n',
    );
    const r = cli(['--trace', trace, '--spec', bad]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^HR_SPEC_INVALID .*bad-sim\.yaml:3:\d+: services\[0\]\.instance\.serviceTimeMs: /m);
    expect(r.stderr).toMatch(/^HR_SPEC_INVALID .*bad-sim\.yaml:5:18: simulate\.scrapeSeconds: too small/m);
    expect(r.stderr).toMatch(/^HR_SPEC_INVALID .*bad-sim\.yaml:6:3: simulate\.polices: unknown key/m);
  });
});
