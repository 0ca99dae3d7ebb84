import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const NOW = '1795608000'; // 2026-11-25T12:00:00Z, fixed so vertical advice is reproducible

function headroom(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return headroomWithInput('', ...args);
}

function headroomWithInput(
  input: string,
  ...args: string[]
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    input,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Compares with test/golden/NAME; UPDATE_GOLDEN=1 rewrites it. */
function golden(name: string, actual: string): void {
  const file = `${root}test/golden/${name}`;
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

describe('headroom plan (the real CLI)', () => {
  it('prints the table and explanations for the shipped example (golden)', () => {
    const r = headroom('plan', 'examples/plan.yaml', '--now', NOW);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    golden('plan.txt', r.stdout);
  });

  it('--json has the documented shape (golden)', () => {
    const r = headroom('plan', 'examples/plan.yaml', '--json', '--now', NOW);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { services: Array<Record<string, unknown>> };
    for (const s of out.services) {
      for (const key of ['name', 'replicas', 'needed', 'binding', 'feasible', 'constraints', 'predicted'])
        expect(s).toHaveProperty(key);
      expect(s.predicted).toHaveProperty('utilization');
      expect(s.predicted).toHaveProperty('latencyMs');
    }
    const checkout = out.services.find((s) => s.name === 'checkout');
    expect(checkout).toMatchObject({ replicas: 39, needed: 39, binding: 'availability', feasible: true });
    expect(checkout?.constraints).toMatchObject({ utilization: 26, latency: 21, availability: 39, minReplicas: 2 });
    golden('plan.json', r.stdout);
  });

  it('marks a capacity-bound plan infeasible and exits 0 (a plan, not an error)', () => {
    const r = headroom('plan', 'examples/tight-cluster.yaml', '--json');
    expect(r.status).toBe(0);
    const api = (
      JSON.parse(r.stdout) as {
        services: Array<{ binding: string; feasible: boolean; replicas: number; needed: number }>;
      }
    ).services[0];
    expect(api).toMatchObject({ binding: 'capacity', feasible: false, replicas: 17, needed: 50 });
  });

  it('--fail-infeasible exits 3 when a service does not fit; stdin works with -', () => {
    expect(headroom('plan', 'examples/tight-cluster.yaml', '--fail-infeasible').status).toBe(3);
    expect(headroom('plan', 'examples/plan.yaml', '--fail-infeasible', '--now', NOW).status).toBe(0);
    const r = headroomWithInput(
      '{"services":[{"name":"a","demand":{"rps":100},"instance":{"serviceTimeMs":10}}]}',
      'plan',
      '-',
      '--json',
    );
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ services: [{ name: 'a', replicas: 2, binding: 'utilization' }] });
  });

  it('--demand sizes for a what-if demand', () => {
    const r = headroom('plan', 'examples/plan.yaml', '--json', '--demand', '1800', '--now', NOW);
    const checkout = (
      JSON.parse(r.stdout) as { services: Array<{ name: string; constraints: { utilization: number } }> }
    ).services[0];
    expect(checkout?.constraints.utilization).toBe(52); // 1800 / 35 = 51.4
  });

  it('bad input: code, file, key, value and allowed range on stderr, exit 2, nothing on stdout', () => {
    const r = headroom('plan', 'test/golden/bad-spec.yaml');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      'HR_SLO_UNREACHABLE test/golden/bad-spec.yaml: services[0].slo.latencyMs: no instance count meets p99 ≤ 50 ms',
    );
    expect(r.stderr).toContain('(value: 50; allowed: > 92.2 ms, a lower percentile, or a faster service)');
    expect(r.stderr).toContain(
      'HR_QUANTITY test/golden/bad-spec.yaml: services[0].instance.memory: not a memory quantity (value: "lots"',
    );
  });

  it('missing file and unknown flags are usage errors with exit 2', () => {
    const missing = headroom('plan', 'nope.yaml');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^HR_FILE_READ nope\.yaml: cannot read the spec: no such file/);
    const flag = headroom('plan', 'examples/plan.yaml', '--bogus');
    expect(flag.status).toBe(2);
    // One line and a pointer to the help, not 12 lines of help.
    expect(flag.stderr).toBe("HR_USAGE unknown option '--bogus' (see `headroom plan --help`)\n");
    const demand = headroom('plan', 'examples/plan.yaml', '--demand', '-1');
    expect(demand.status).toBe(2);
    expect(demand.stderr).toMatch(/^HR_USAGE --demand: out of range \(value: "-1"; allowed: 0..1000000000 rps\)/);
    for (const raw of ['', '0x10', '1e308']) {
      const r = headroom('plan', 'examples/plan.yaml', '--demand', raw);
      expect(r.status, raw).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^HR_USAGE --demand: /);
    }
  });

  it('the shipped JSON Schema is current', () => {
    const r = headroom('schema');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(readFileSync(`${root}schema/headroom.schema.json`, 'utf8'));
  });
});
