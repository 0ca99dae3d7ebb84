import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { expectGolden } from '../support/golden.ts';

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

/** Compares with test/golden/NAME (test/support/golden.ts). */
function golden(name: string, actual: string): void {
  expectGolden(`${root}test/golden/${name}`, actual);
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

  it('a call graph whose member the cluster caps: the end-to-end prediction is the one at the capped count', () => {
    // examples/graph.yaml splits into gateway 1, cart 9, search 38, db 3. At 1 core each on one
    // 50-core node, the services listed first take 48 and db gets 2: below its share.
    const graph = readFileSync(join(root, 'examples/graph.yaml'), 'utf8');
    const dir = mkdtempSync(join(tmpdir(), 'hr-graph-capped-'));
    const file = join(dir, 'capped.yaml');
    writeFileSync(
      file,
      `${graph.replace(/instance: \{ /g, "instance: { cpu: '1', ")}\ncluster:\n  nodes: [{ name: a, cpu: '50', memory: 64Gi }]\n`,
    );
    const free = JSON.parse(headroom('plan', 'examples/graph.yaml', '--json').stdout);
    const r = headroom('plan', file, '--json');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const db = out.services.find((s: { name: string }) => s.name === 'db');
    const share = free.graph.services.find((s: { name: string }) => s.name === 'db');
    expect(db.binding).toBe('capacity');
    expect(db.replicas).toBeLessThan(share.replicas);
    // The graph table shows the counts the services get, and predicts at them.
    for (const s of out.graph.services) {
      expect(s.replicas).toBe(out.services.find((x: { name: string }) => x.name === s.name).replicas);
    }
    expect(out.graph.feasible).toBe(false);
    expect(out.graph.predictedMs === null || out.graph.predictedMs > free.graph.predictedMs).toBe(true);
    expect(out.graph.predictedMs === null || out.graph.predictedMs > 200).toBe(true);
    expect(r.stdout).not.toContain('198.1');
  });

  it('a graph past what replicas.max allows names the member at its max, not one its budget sized', () => {
    // At 5,000 rps search needs more than its replicas.max 100; gateway's own count (9) is below the
    // split's but nothing capped it: the binding names search, and the table shows the counts planned.
    const out = JSON.parse(headroom('plan', 'examples/graph.yaml', '--demand', '5000', '--json').stdout);
    expect(out.graph.feasible).toBe(false);
    expect(out.graph.binding.service).toBe('search');
    for (const s of out.graph.services) {
      expect(s.replicas).toBe(out.services.find((x: { name: string }) => x.name === s.name).replicas);
    }
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
    // Line 4 holds both values; their columns (1-based) are found in the file's text, not taken from the code.
    const line4 = readFileSync(join(root, 'test/golden/bad-spec.yaml'), 'utf8').split('\n')[3] ?? '';
    const col = (s: string): number => line4.indexOf(s) + 1;
    expect(r.stderr).toContain(
      `HR_SERVICE_TIME test/golden/bad-spec.yaml:4:${col('25,')}: services[0].instance.serviceTimeQuantilesMs.p99: the quantiles do not increase: p99 is not above p90 (30 ms) (value: 25; allowed: > 30 ms (p50 < p90 < p99 < p999))`,
    );
    expect(r.stderr).toContain(
      `HR_QUANTITY test/golden/bad-spec.yaml:4:${col('lots')}: services[0].instance.memory: not a memory quantity (value: "lots"`,
    );
  });

  it('one unreachable SLO does not abort the plan: that service is infeasible with its reason, the others are planned', () => {
    const spec = `services:
  - name: fast
    demand: { rps: 100 }
    instance: { serviceTimeMs: 20 }
    slo: { latencyMs: 50, percentile: 99 }
  - name: steady
    demand: { rps: 100 }
    instance: { serviceTimeMs: 20, serviceTimeCv: 0 }
    slo: { latencyMs: 50, percentile: 99 }
`;
    const r = headroomWithInput(spec, 'plan', '-', '--json');
    expect(r.status).toBe(0);
    const plans = (JSON.parse(r.stdout) as { services: Array<{ name: string; feasible: boolean; warnings: string[] }> })
      .services;
    // Exponential 20 ms takes 92.1 ms at p99 alone; a fixed 20 ms meets 50 ms once queueing is small.
    expect(plans[0]).toMatchObject({ name: 'fast', feasible: false });
    expect(plans[0]?.warnings.join('\n')).toContain('SLO unreachable: the service time alone takes 92.1 ms at p99');
    expect(plans[1]).toMatchObject({ name: 'steady', feasible: true });
    expect(headroomWithInput(spec, 'plan', '-', '--fail-infeasible').status).toBe(3);
  });

  it('a service with no demand is sized for 0 rps, and says so (unless --demand gives one)', () => {
    const spec = `services:
  - name: nodemand
    instance: { serviceTimeMs: 20 }
  - name: zero
    demand: { rps: 0 }
    instance: { serviceTimeMs: 20 }
`;
    const r = headroomWithInput(spec, 'plan', '-', '--json');
    expect(r.status).toBe(0);
    const plans = (JSON.parse(r.stdout) as { services: Array<{ name: string; warnings: string[] }> }).services;
    expect(plans[0]?.warnings[0]).toBe('no demand given: sized for 0 rps (give demand.rps, or --demand)');
    // demand.rps: 0 is a demand given, on purpose.
    expect(plans[1]?.warnings.join('\n')).not.toContain('no demand given');
    const text = headroomWithInput(spec, 'plan', '-');
    expect(text.stdout).toContain('    warning: no demand given: sized for 0 rps (give demand.rps, or --demand)');
    const what = headroomWithInput(spec, 'plan', '-', '--json', '--demand', '100');
    expect(what.stdout).not.toContain('no demand given');
  });

  it('a profile from a run that hit --max-rps, for another SLO: says so, and never suggests `headroom loadtest`', () => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-plan-'));
    const step = (targetRps: number) => ({
      targetRps,
      achievedRps: targetRps,
      sent: 1000,
      completed: 1000,
      errors: 0,
      dropped: 0,
      latencyMs: { p50: 0.3, p90: 0.4, p99: 0.9, p999: 2, max: 3 },
      sloMet: true,
    });
    // What `headroom loadtest` wrote against nginx before the fix: no kneeIsLowerBound, no failing step.
    writeFileSync(
      join(dir, 'nginx.profile.json'),
      JSON.stringify({
        kind: 'headroom.dev/capacity-profile/v1',
        target: 'http://127.0.0.1:80/',
        measuredAt: '2026-11-25T00:00:00Z',
        slo: { latencyMs: 50, percentile: 99 },
        kneeRps: 10_000,
        serviceTimeMs: 0.4,
        concurrency: 6,
        steps: [step(4444.44), step(6666.67), step(10_000)],
        fitMethod: 'curve',
      }),
    );
    writeFileSync(
      join(dir, 'spec.yaml'),
      `services:
  - name: web
    demand: { rps: 20000 }
    instance: { profile: nginx.profile.json, cpu: 1 }
    slo: { latencyMs: 100, percentile: 99 }
`,
    );
    const r = headroom('plan', join(dir, 'spec.yaml'), '--json');
    expect(r.status, r.stderr).toBe(0);
    const warnings = (JSON.parse(r.stdout) as { services: Array<{ warnings: string[] }> }).services[0]!.warnings;
    expect(warnings).toContain(
      'the knee 10000 rps is a lower bound: the load test hit --max-rps; rerun with a higher ceiling (the fitted capacity is extrapolated from latencies that never rose)',
    );
    expect(warnings).toContain(
      "the profile was measured for p99 ≤ 50 ms; this spec's SLO is p99 ≤ 100 ms: the knee does not apply, the fitted service time does",
    );
    expect(warnings.some((w) => w.startsWith('concurrency 6 on 1 CPU'))).toBe(true);
    expect(warnings.join('\n')).not.toContain('measure it with `headroom loadtest`');
    expect(warnings.join('\n')).not.toContain('use a `headroom loadtest` profile');
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

  it('with pricing: a cost line per service and a total, `cost` in --json; the rest unchanged', () => {
    const services = `services:
  - name: checkout
    demand: { rps: 100 }
    instance: { serviceTimeMs: 20, cpu: 500m, memory: 1Gi }
    replicas: { min: 4 }
  - name: batch
    demand: { rps: 10 }
    instance: { serviceTimeMs: 5 }
`;
    const priced = `pricing: { currency: USD, cpuHour: 0.0316, memoryGiBHour: 0.0042 }
${services}    pricing: { instanceHour: 0.05 }
`;
    const text = headroomWithInput(priced, 'plan', '-');
    expect(text.stderr).toBe('');
    expect(text.status).toBe(0);
    // checkout: 4 × (0.5 × 0.0316 + 1 × 0.0042) × 730 = 58.40; batch: 1 × 0.05 × 730 = 36.50
    expect(text.stdout).toContain('    cost            58.40 USD/month = 4 × 0.02 USD per instance-hour × 730 h\n');
    expect(text.stdout).toContain('    cost            36.50 USD/month = 1 × 0.05 USD per instance-hour × 730 h\n');
    expect(
      text.stdout.endsWith('total cost: 94.90 USD/month (730 h) for all 2 services at their planned counts\n'),
    ).toBe(true);
    // Without the money lines the output is the unpriced one, byte for byte.
    const plain = headroomWithInput(services, 'plan', '-');
    const stripped = text.stdout
      .split('\n')
      .filter((l) => !l.startsWith('    cost ') && !l.startsWith('total cost: '))
      .join('\n');
    expect(stripped.replace(/\n\n$/, '\n')).toBe(plain.stdout);
    expect(plain.stdout).not.toMatch(/cost|USD/);

    const json = JSON.parse(headroomWithInput(priced, 'plan', '-', '--json').stdout) as {
      services: Array<{ name: string; cost?: unknown }>;
      cost?: unknown;
    };
    expect(json.services.map((s) => s.cost)).toEqual([
      { perMonth: 58.4, currency: 'USD', perInstanceHour: 0.02 },
      { perMonth: 36.5, currency: 'USD', perInstanceHour: 0.05 },
    ]);
    expect(json.cost).toEqual({ perMonth: 94.9, currency: 'USD', hoursPerMonth: 730, services: 2 });
    const plainJson = JSON.parse(headroomWithInput(services, 'plan', '-', '--json').stdout) as {
      services: Array<Record<string, unknown>>;
    };
    expect(plainJson).not.toHaveProperty('cost');
    expect(plainJson.services[0]).not.toHaveProperty('cost');
  });

  it('only some services priced: the total says how many it counts', () => {
    const r = headroomWithInput(
      `services:
  - name: a
    instance: { serviceTimeMs: 5 }
    pricing: { currency: EUR, instanceHour: 0.1 }
  - name: b
    instance: { serviceTimeMs: 5 }
`,
      'plan',
      '-',
      '--demand',
      '10',
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(
      'total cost: 73.00 EUR/month (730 h) for the 1 priced service of 2 at its planned count',
    );
  });

  it('bad pricing: HR_PRICING naming the service and key, exit 2, nothing on stdout', () => {
    const r = headroomWithInput(
      `pricing: { currency: USD, cpuHour: 0.0316 }
services:
  - name: cache
    instance: { serviceTimeMs: 5 }
`,
      'plan',
      '-',
    );
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      // instance.cpu is missing: the problem points at line 4, column 5, where `instance:` is.
      'HR_PRICING <stdin>:4:5: services[0].instance.cpu: service cache: required by pricing.cpuHour (a price per CPU core of instance.cpu) (allowed: instance.cpu (500m, 2), or instanceHour instead)\n',
    );
  });

  it('the shipped JSON Schema is current', () => {
    const r = headroom('schema');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(readFileSync(`${root}schema/headroom.schema.json`, 'utf8'));
  });
});
